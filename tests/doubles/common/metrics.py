"""Prometheus text exposition (format 0.0.4) for the TEST DOUBLES.

Every double exposes ``<prefix>_build_info{...,double="true"} 1`` so a scrape makes
it obvious that the target is a double.
"""

from __future__ import annotations

import math
import os
import platform
import resource
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LabelSet = tuple[tuple[str, str], ...]


def escape_label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def format_labels(labels: dict[str, str] | LabelSet) -> str:
    items = labels.items() if isinstance(labels, dict) else labels
    inner = ",".join(f'{key}="{escape_label(val)}"' for key, val in items)
    return "{" + inner + "}" if inner else ""


@dataclass
class Family:
    """One metric family: name, type, help and its samples ``(labels, value)``."""

    name: str
    kind: str
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> Family:
        self.samples.append((labels, float(value)))
        return self

    def render(self) -> str:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        lines.extend(f"{self.name}{format_labels(lbl)} {format_value(val)}" for lbl, val in self.samples)
        return "\n".join(lines) + "\n"


class Metric:
    """A counter or gauge with labels, safe to update from many threads."""

    def __init__(self, name: str, kind: str, help_text: str, labelnames: Iterable[str] = ()) -> None:
        self.name, self.kind, self.help = name, kind, help_text
        self.labelnames = tuple(labelnames)
        self._values: dict[LabelSet, float] = {}
        self._lock = threading.Lock()
        if not self.labelnames:
            self._values[()] = 0.0

    def _key(self, labels: dict[str, str]) -> LabelSet:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name}: labels {sorted(labels)} != {sorted(self.labelnames)}")
        return tuple((name, str(labels[name])) for name in self.labelnames)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0 and self.kind == "counter":
            raise ValueError("counters only go up")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def get(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def family(self) -> Family:
        with self._lock:
            samples = [(dict(key), val) for key, val in sorted(self._values.items())]
        return Family(self.name, self.kind, self.help, samples)


class Registry:
    """Metrics of one double; ``render()`` gives the /metrics body."""

    def __init__(self) -> None:
        self._metrics: list[Metric] = []
        self._collectors: list[Callable[[], Iterable[Family]]] = []

    def counter(self, name: str, help_text: str, labelnames: Iterable[str] = ()) -> Metric:
        return self._add(Metric(name, "counter", help_text, labelnames))

    def gauge(self, name: str, help_text: str, labelnames: Iterable[str] = ()) -> Metric:
        return self._add(Metric(name, "gauge", help_text, labelnames))

    def _add(self, metric: Metric) -> Metric:
        self._metrics.append(metric)
        return metric

    def collector(self, func: Callable[[], Iterable[Family]]) -> None:
        """Register a function called at scrape time (for values computed on demand)."""
        self._collectors.append(func)

    def build_info(self, name: str, version: str, **extra: str) -> None:
        labels = {
            "version": version,
            "revision": "double",
            "branch": "double",
            "goversion": f"python{platform.python_version()}",
            "double": "true",
            **extra,
        }
        metric = self.gauge(name, "A metric with a constant '1' value labeled by build info (TEST DOUBLE).",
                            tuple(labels))
        metric.set(1, **labels)

    def render(self) -> str:
        families = [metric.family() for metric in self._metrics]
        for func in self._collectors:
            families.extend(func())
        return "".join(fam.render() for fam in families)


_STARTED = time.time()


def process_families() -> list[Family]:
    """The standard ``process_*`` series, computed honestly from /proc and getrusage."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    fams = [
        Family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.")
        .add(usage.ru_utime + usage.ru_stime),
        Family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.")
        .add(_STARTED),
    ]
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        fams.append(Family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
                    .add(pages * os.sysconf("SC_PAGE_SIZE")))
    except (OSError, ValueError, IndexError):
        pass
    return fams
