"""Trace store of the Tempo TEST DOUBLE: memory + JSON lines under storage.trace.local.path.

Not Tempo's block format (no WAL, no parquet blocks): each received ResourceSpans
batch is appended to ``tempo-double-traces.jsonl`` and replayed at start.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

DATA_FILE = "tempo-double-traces.jsonl"


class TraceStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / DATA_FILE
        self._traces: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.RLock()

    def _add(self, tenant: str, trace_id: str, batch: dict[str, Any], received: float) -> None:
        entry = self._traces.setdefault((tenant, trace_id), {"batches": [], "received": received})
        entry["batches"].append(batch)
        entry["received"] = max(entry["received"], received)

    def load(self) -> int:
        if not self.path.exists():
            return 0
        count = 0
        with self.path.open(encoding="utf-8") as handle:
            for raw in handle:
                try:
                    rec = json.loads(raw)
                except ValueError:
                    continue
                self._add(rec["tenant"], rec["traceId"], rec["batch"], float(rec["received"]))
                count += 1
        return count

    def append(self, tenant: str, traces: dict[str, list[dict[str, Any]]]) -> None:
        now = time.time()
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            for trace_id, batches in traces.items():
                for batch in batches:
                    self._add(tenant, trace_id, batch, now)
                    handle.write(json.dumps({"tenant": tenant, "traceId": trace_id, "batch": batch,
                                             "received": now}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def get(self, tenant: str, trace_id: str) -> list[dict[str, Any]] | None:
        with self._lock:
            entry = self._traces.get((tenant, trace_id))
            return list(entry["batches"]) if entry else None

    def all(self, tenant: str) -> list[tuple[str, list[dict[str, Any]]]]:
        with self._lock:
            return [(tid, list(e["batches"])) for (ten, tid), e in self._traces.items() if ten == tenant]

    def count(self) -> int:
        with self._lock:
            return len(self._traces)

    def apply_retention(self, cutoff: float) -> int:
        """Drop traces last written before ``cutoff`` (block_retention) and rewrite the file."""
        with self._lock:
            old = [key for key, entry in self._traces.items() if entry["received"] < cutoff]
            for key in old:
                del self._traces[key]
            if old:
                tmp = self.path.with_suffix(".tmp")
                with tmp.open("w", encoding="utf-8") as handle:
                    for (tenant, trace_id), entry in self._traces.items():
                        for batch in entry["batches"]:
                            handle.write(json.dumps({"tenant": tenant, "traceId": trace_id, "batch": batch,
                                                     "received": entry["received"]}) + "\n")
                os.replace(tmp, self.path)
            return len(old)
