"""In-memory log store of the Loki TEST DOUBLE, persisted as JSON lines on the volume.

Not Loki's chunk/TSDB format: the double appends every accepted entry to
``<storage dir>/loki-double-entries.jsonl`` and replays that file at start, so data
survives a container restart the way it does with the real filesystem store.
"""

from __future__ import annotations

import bisect
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from loki.logql import LogQuery

LabelKey = tuple[tuple[str, str], ...]
DATA_FILE = "loki-double-entries.jsonl"


def label_key(labels: dict[str, str]) -> LabelKey:
    return tuple(sorted(labels.items()))


def format_labels(labels: dict[str, str]) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def _record(tenant: str, labels: dict[str, str], ts: int, line: str) -> str:
    return json.dumps({"tenant": tenant, "labels": labels, "ts": str(ts), "line": line}) + "\n"


@dataclass
class Stream:
    labels: dict[str, str]
    stamps: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    seen: set[tuple[int, str]] = field(default_factory=set)

    def add(self, ts_ns: int, line: str) -> bool:
        """Insert in time order; an identical (timestamp, line) is ignored, like Loki's ingester does."""
        if (ts_ns, line) in self.seen:
            return False
        pos = bisect.bisect_right(self.stamps, ts_ns)
        self.stamps.insert(pos, ts_ns)
        self.lines.insert(pos, line)
        self.seen.add((ts_ns, line))
        return True

    def window(self, start_ns: int, end_ns: int, inclusive_start: bool = True) -> list[tuple[int, str]]:
        find = bisect.bisect_left if inclusive_start else bisect.bisect_right
        lo = find(self.stamps, start_ns)
        hi = bisect.bisect_left(self.stamps, end_ns)
        return list(zip(self.stamps[lo:hi], self.lines[lo:hi], strict=True))

    def drop_before(self, cutoff_ns: int) -> int:
        pos = bisect.bisect_left(self.stamps, cutoff_ns)
        for ts, line in zip(self.stamps[:pos], self.lines[:pos], strict=True):
            self.seen.discard((ts, line))
        del self.stamps[:pos], self.lines[:pos]
        return pos


class Store:
    """Streams per tenant; thread-safe."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / DATA_FILE
        self._streams: dict[str, dict[LabelKey, Stream]] = {}
        self._lock = threading.RLock()

    def load(self) -> int:
        """Replay the data file; returns the number of entries loaded."""
        if not self.path.exists():
            return 0
        count = 0
        with self.path.open(encoding="utf-8") as handle:
            for raw in handle:
                try:
                    rec = json.loads(raw)
                except ValueError:
                    continue  # a torn last line after a crash
                if self._insert(rec["tenant"], rec["labels"], int(rec["ts"]), rec["line"]):
                    count += 1
        return count

    def _insert(self, tenant: str, labels: dict[str, str], ts_ns: int, line: str) -> bool:
        streams = self._streams.setdefault(tenant, {})
        key = label_key(labels)
        stream = streams.get(key)
        if stream is None:
            stream = streams[key] = Stream(dict(labels))
        return stream.add(ts_ns, line)

    def append(self, tenant: str, batch: list[tuple[dict[str, str], int, str]]) -> int:
        """Store entries and append them to the data file; returns how many were new."""
        with self._lock:
            records = [(labels, ts, line) for labels, ts, line in batch if self._insert(tenant, labels, ts, line)]
            if records:
                with self.path.open("a", encoding="utf-8") as handle:
                    for labels, ts, line in records:
                        handle.write(_record(tenant, labels, ts, line))
                    handle.flush()
                    os.fsync(handle.fileno())
            return len(records)

    def select(self, tenant: str, query: LogQuery, start_ns: int, end_ns: int,
               inclusive_start: bool = True) -> list[tuple[dict[str, str], list[tuple[int, str]]]]:
        with self._lock:
            streams = list(self._streams.get(tenant, {}).values())
            out = []
            for stream in streams:
                if not all(m.matches(stream.labels) for m in query.matchers):
                    continue
                entries = [(ts, line) for ts, line in stream.window(start_ns, end_ns, inclusive_start)
                           if query.keep(line)]
                out.append((dict(stream.labels), entries))
            return out

    def series(self, tenant: str, start_ns: int, end_ns: int) -> list[dict[str, str]]:
        with self._lock:
            return [dict(s.labels) for s in self._streams.get(tenant, {}).values() if s.window(start_ns, end_ns)]

    def stats(self) -> tuple[int, int]:
        with self._lock:
            streams = sum(len(v) for v in self._streams.values())
            entries = sum(len(s.stamps) for v in self._streams.values() for s in v.values())
            return streams, entries

    def apply_retention(self, cutoff_ns: int) -> int:
        """Delete entries older than the cutoff and rewrite the data file (the compactor's job)."""
        with self._lock:
            dropped = sum(s.drop_before(cutoff_ns) for v in self._streams.values() for s in v.values())
            if dropped:
                tmp = self.path.with_suffix(".tmp")
                with tmp.open("w", encoding="utf-8") as handle:
                    for tenant, streams in self._streams.items():
                        for stream in streams.values():
                            for ts, line in zip(stream.stamps, stream.lines, strict=True):
                                handle.write(_record(tenant, stream.labels, ts, line))
                os.replace(tmp, self.path)
            return dropped
