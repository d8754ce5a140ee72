"""The double's in-memory state, optionally kept in a JSON file in the data directory.

Everything lives in one JSON-serialisable dict; lists of small dicts are scanned, which is plenty
for a test double. Writes go to a temporary file that replaces the old one, so a container that is
killed mid-write keeps the previous state.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

STATE_FILE_NAME = "grafana-double-state.json"
STATE_SCHEMA = 1

COLLECTIONS = (
    "orgs",
    "users",
    "tokens",
    "datasources",
    "folders",
    "dashboards",
    "teams",
    "alert_rules",
    "contact_points",
    "mute_timings",
    "templates",
    "user_auth_tokens",  # login sessions (Grafana's user_auth_token table), grafana_double_lib/sessions.py
)


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def empty_state() -> dict[str, Any]:
    state: dict[str, Any] = {"schema": STATE_SCHEMA, "seq": {}, "policies": {}, "rule_groups": {}}
    for name in COLLECTIONS:
        state[name] = []
    return state


class Store:
    """State plus a lock; save() persists it when a data directory is configured."""

    def __init__(self, data_dir: Path | None, file_name: str = STATE_FILE_NAME) -> None:
        self.lock = threading.RLock()
        self.path = data_dir / file_name if data_dir else None
        self.data = empty_state()
        self.dirty = False  # set by handlers that change state while answering a GET
        self.loaded_from_disk = False
        if self.path and self.path.is_file():
            self.data = json.loads(self.path.read_text(encoding="utf-8"))
            for name in COLLECTIONS:
                self.data.setdefault(name, [])
            self.loaded_from_disk = True

    @property
    def database(self) -> str:
        """The database (settings.database_key) this state stands for; empty in states written before it was kept."""
        return str(self.data.get("database") or "")

    @database.setter
    def database(self, key: str) -> None:
        self.data["database"] = key

    @property
    def is_empty(self) -> bool:
        return not self.data["users"]

    def next_id(self, kind: str) -> int:
        seq = self.data["seq"]
        seq[kind] = seq.get(kind, 0) + 1
        return int(seq[kind])

    def items(self, collection: str) -> list[dict[str, Any]]:
        return self.data[collection]

    def find(self, collection: str, **match: Any) -> dict[str, Any] | None:
        for item in self.where(collection, **match):
            return item
        return None

    def where(self, collection: str, **match: Any) -> Iterator[dict[str, Any]]:
        for item in self.data[collection]:
            if all(item.get(key) == value for key, value in match.items()):
                yield item

    def remove(self, collection: str, item: dict[str, Any]) -> None:
        self.data[collection] = [other for other in self.data[collection] if other is not item]

    def remove_where(self, collection: str, **match: Any) -> int:
        before = len(self.data[collection])
        self.data[collection] = [
            item for item in self.data[collection] if not all(item.get(key) == value for key, value in match.items())
        ]
        return before - len(self.data[collection])

    def reset(self) -> None:
        self.data = empty_state()

    def save(self) -> None:
        self.dirty = False
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".state-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as tmp:
                json.dump(self.data, tmp, indent=1, sort_keys=True)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, self.path)
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise
