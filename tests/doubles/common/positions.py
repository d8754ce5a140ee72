"""Promtail's positions file (YAML ``positions: {key: "value"}``, Alloy keeps the same format), for the TEST
DOUBLES.

File targets store the byte offset under the file path; Docker targets store the last
log timestamp (unix nanoseconds) under ``cursor-<container id>``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import yaml


class Positions:
    def __init__(self, filename: str, log: object | None = None) -> None:
        self.path = Path(filename)
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()
        self._dirty = False
        self.log = log

    def load(self, ignore_invalid: bool = False) -> None:
        if not self.path.exists():
            return
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            if not ignore_invalid:
                raise
            data = {}
        self._values = {str(k): str(v) for k, v in (data.get("positions") or {}).items()}

    def get(self, key: str, default: str = "") -> str:
        with self._lock:
            return self._values.get(key, default)

    def put(self, key: str, value: str | int) -> None:
        with self._lock:
            self._values[key] = str(value)
            self._dirty = True

    def remove(self, key: str) -> None:
        with self._lock:
            self._values.pop(key, None)
            self._dirty = True

    def save(self) -> None:
        with self._lock:
            if not self._dirty and self.path.exists():
                return
            payload = yaml.safe_dump({"positions": dict(self._values)}, default_flow_style=False)
            self._dirty = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(payload, encoding="utf-8")
        os.replace(tmp, self.path)
