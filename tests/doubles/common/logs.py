"""logfmt logging for the TEST DOUBLES, in the style Grafana's Go servers print.

Every double logs a banner at start that says, in words, that it is a test double.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any, TextIO

_LEVELS = {"debug": 10, "info": 20, "warn": 30, "error": 40}


def _quote(value: Any) -> str:
    text = str(value)
    if text == "" or any(ch in text for ch in ' "=\n\t'):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    return text


class Log:
    """A tiny logfmt logger: ``log.info("msg", key=value)``."""

    def __init__(self, component: str, level: str = "info", stream: TextIO | None = None) -> None:
        self.component = component
        self.threshold = _LEVELS.get(level, 20)
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()

    def set_level(self, level: str) -> None:
        self.threshold = _LEVELS.get(str(level).lower(), self.threshold)

    def log(self, level: str, msg: str, **kv: Any) -> None:
        if _LEVELS[level] < self.threshold:
            return
        ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        parts = [f"level={level}", f"ts={ts}", f"caller={self.component}-double", f"msg={_quote(msg)}"]
        parts.extend(f"{key}={_quote(val)}" for key, val in kv.items())
        with self._lock:
            self.stream.write(" ".join(parts) + "\n")
            self.stream.flush()

    def debug(self, msg: str, **kv: Any) -> None:
        self.log("debug", msg, **kv)

    def info(self, msg: str, **kv: Any) -> None:
        self.log("info", msg, **kv)

    def warning(self, msg: str, **kv: Any) -> None:
        self.log("warn", msg, **kv)

    def error(self, msg: str, **kv: Any) -> None:
        self.log("error", msg, **kv)


def banner(log: Log, product: str, version: str) -> None:
    """Say loudly that this process is a TEST DOUBLE."""
    log.warning(
        f"THIS IS A TEST DOUBLE of {product}, not the real {product}. "
        "It implements only the API subset the data2ai.grafana_stack tests need.",
        version=version,
        double="true",
    )


def now_ns() -> int:
    return time.time_ns()
