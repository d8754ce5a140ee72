"""Readiness state machine for the TEST DOUBLES.

Loki and Tempo answer ``/ready`` with 503 while their ingester waits
``min_ready_duration`` after joining the ring, then 200 ``ready``. The doubles
model the same states: starting -> warming up -> ready -> stopping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

STARTING, WARMING, READY, STOPPING = "starting", "warming", "ready", "stopping"


class Readiness:
    """``check()`` returns ``(ready, message)`` for the /ready handler."""

    def __init__(self, warmup_seconds: float, waiting_message: Callable[[float], str]) -> None:
        self.warmup = max(0.0, float(warmup_seconds))
        self.waiting_message = waiting_message
        self._state = STARTING
        self._since = time.monotonic()
        self._lock = threading.Lock()

    def start(self) -> None:
        """The servers are listening: begin the warm-up period."""
        with self._lock:
            self._state, self._since = WARMING, time.monotonic()

    def stop(self) -> None:
        with self._lock:
            self._state = STOPPING

    @property
    def state(self) -> str:
        with self._lock:
            if self._state == WARMING and time.monotonic() - self._since >= self.warmup:
                self._state = READY
            return self._state

    def check(self) -> tuple[bool, str]:
        state = self.state
        if state == READY:
            return True, "ready"
        if state == STOPPING:
            return False, "Not ready: shutting down"
        if state == STARTING:
            return False, "Not ready: starting"
        return False, self.waiting_message(self.warmup)
