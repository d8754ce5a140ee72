"""Log readers of the Promtail and Alloy TEST DOUBLES, in Promtail's scrape-config shapes: files from
``static_configs`` ``__path__`` globs, and Docker containers from ``docker_sd_configs`` (logs read through the
Docker Engine API).

Pipeline stages understood: ``docker``, ``cri``, ``static_labels``, ``labeldrop`` and
``drop`` with ``expression``. Any other stage is reported once and skipped.
"""

from __future__ import annotations

import fnmatch
import glob
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from common import relabel
from common.config import parse_duration
from common.dockerapi import DockerClient, DockerError
from common.logs import Log
from common.metrics import Registry
from common.positions import Positions

Entry = tuple[dict[str, str], int, str]
Sink = Callable[[Entry], None]
_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")
_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")


def parse_rfc3339_ns(text: str) -> int:
    match = _RFC3339.match(text.strip())
    if not match:
        raise ValueError(f"not an RFC3339 timestamp: {text!r}")
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    seconds = int(datetime.fromisoformat(match.group(1) + zone).timestamp())
    return seconds * 1_000_000_000 + int((match.group(2) or "0")[:9].ljust(9, "0"))


class TargetMetrics:
    """The readers' series. Promtail names them ``promtail_*``; the Alloy double passes its components' names
    (``loki_source_file_*``, ``loki_source_docker_*``)."""

    def __init__(self, registry: Registry, file_prefix: str = "promtail", docker_prefix: str = "promtail",
                 targets_gauge: str = "promtail_targets_active_total") -> None:
        self.read_lines = registry.counter(f"{file_prefix}_read_lines_total", "Number of lines read.", ("path",))
        self.read_bytes = registry.counter(f"{file_prefix}_read_bytes_total", "Number of bytes read.", ("path",))
        self.files_active = registry.gauge(f"{file_prefix}_files_active_total", "Number of active files.")
        self.docker_entries = registry.counter(f"{docker_prefix}_target_entries_total",
                                               "Total number of successful entries sent to the Docker target",
                                               ("container",))
        self.targets_active = registry.gauge(targets_gauge, "Number of active total.")


class Stages:
    def __init__(self, stages: list[Any] | None, log: Log) -> None:
        self.stages: list[tuple[str, Any]] = []
        for stage in stages or []:
            (name, conf), = stage.items() if isinstance(stage, dict) and len(stage) == 1 else [("?", stage)]
            if name in ("docker", "cri", "static_labels", "labeldrop", "drop"):
                self.stages.append((name, conf or {}))
            else:
                log.warning("pipeline stage not supported by the Promtail test double: skipped", stage=name)

    def process(self, labels: dict[str, str], ts: int, line: str) -> Entry | None:
        for name, conf in self.stages:
            if name == "docker":
                try:
                    doc = json.loads(line)
                    line = str(doc.get("log", "")).rstrip("\n")
                    labels = {**labels, "stream": str(doc.get("stream", ""))}
                    ts = parse_rfc3339_ns(doc["time"]) if doc.get("time") else ts
                except (ValueError, AttributeError):
                    pass
            elif name == "cri":
                parts = line.split(" ", 3)
                if len(parts) == 4:
                    try:
                        ts = parse_rfc3339_ns(parts[0])
                    except ValueError:
                        continue
                    labels, line = {**labels, "stream": parts[1]}, parts[3]
            elif name == "static_labels":
                labels = {**labels, **{str(k): str(v) for k, v in conf.items()}}
            elif name == "labeldrop":
                labels = {k: v for k, v in labels.items() if k not in conf}
            elif name == "drop" and conf.get("expression") and re.search(conf["expression"], line):
                return None
        return labels, ts, line


@dataclass
class FileState:
    labels: dict[str, str]
    inode: int
    offset: int


@dataclass
class FileTargets:
    """Tails every file matched by the ``__path__`` globs of one scrape config."""

    job: dict[str, Any]
    positions: Positions
    sink: Sink
    metrics: TargetMetrics
    log: Log
    sync_period: float = 10.0
    files: dict[str, FileState] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.stages = Stages(self.job.get("pipeline_stages"), self.log)
        self._last_sync = 0.0

    def globs(self) -> list[dict[str, str]]:
        out = []
        for static in self.job.get("static_configs") or []:
            base = {str(k): str(v) for k, v in (static.get("labels") or {}).items()}
            for target in static.get("targets") or ["localhost"]:
                labels = relabel.apply({**base, "__address__": str(target)}, self.job.get("relabel_configs"))
                if labels and labels.get("__path__"):
                    out.append(labels)
        return out

    def sync(self) -> None:
        seen = set()
        for labels in self.globs():
            exclude = labels.get("__path_exclude__")
            for path in sorted(glob.glob(labels["__path__"], recursive=True)):
                if not os.path.isfile(path) or (exclude and fnmatch.fnmatch(path, exclude)):
                    continue
                seen.add(path)
                if path not in self.files:
                    inode = os.stat(path).st_ino
                    offset = int(self.positions.get(path, "0") or 0)
                    self.files[path] = FileState({**relabel.public(labels), "filename": path}, inode, offset)
                    self.log.info("tail routine: started", path=path, offset=offset)
        for path in set(self.files) - seen:
            self.log.info("tail routine: stopped, file is gone", path=path)
            del self.files[path]
        self.metrics.files_active.set(len(self.files))

    def poll(self) -> None:
        if time.monotonic() - self._last_sync >= self.sync_period:
            self.sync()
            self._last_sync = time.monotonic()
        for path, state in list(self.files.items()):
            try:
                self._read(path, state)
            except OSError as exc:
                self.log.warning("error reading file", path=path, err=str(exc))

    def _read(self, path: str, state: FileState) -> None:
        stat = os.stat(path)
        if stat.st_ino != state.inode:
            self.log.info("file was rotated (new inode), reading it from the start", path=path)
            state.inode, state.offset = stat.st_ino, 0
        if stat.st_size < state.offset:
            self.log.info("file was truncated, reading it from the start", path=path)
            state.offset = 0
        if stat.st_size == state.offset:
            return
        with open(path, "rb") as handle:
            handle.seek(state.offset)
            data = handle.read(4 * 1024 * 1024)
        end = data.rfind(b"\n")
        if end < 0:
            return
        for raw in data[: end + 1].splitlines():
            line = raw.decode("utf-8", "replace").rstrip("\r")
            entry = self.stages.process(dict(state.labels), time.time_ns(), line)
            if entry is not None:
                self.sink(entry)
            self.metrics.read_lines.inc(path=path)
        self.metrics.read_bytes.inc(end + 1, path=path)
        state.offset += end + 1
        self.positions.put(path, state.offset)


@dataclass
class ContainerState:
    container_id: str
    name: str
    tty: bool
    labels: dict[str, dict[str, str] | None]
    last_ts: int


class DockerTargets:
    """One ``docker_sd_configs`` entry: discover containers, read their logs via the Engine API."""

    def __init__(self, job: dict[str, Any], sd: dict[str, Any], positions: Positions, sink: Sink,
                 metrics: TargetMetrics, log: Log) -> None:
        self.job, self.positions, self.sink, self.metrics, self.log = job, positions, sink, metrics, log
        self.client = DockerClient(str(sd.get("host") or "unix:///var/run/docker.sock"))
        self.refresh = parse_duration(sd.get("refresh_interval", "60s"))
        self.port = int(sd.get("port", 80))
        self.filters = {str(f["name"]): [str(v) for v in f.get("values", [])] for f in sd.get("filters") or []}
        self.stages = Stages(job.get("pipeline_stages"), log)
        self.containers: dict[str, ContainerState] = {}
        self._last_refresh = float("-inf")
        self._reported_error = False

    def meta_labels(self, summary: dict[str, Any]) -> dict[str, str]:
        names = summary.get("Names") or [""]
        labels = {
            "__meta_docker_container_id": summary["Id"],
            "__meta_docker_container_name": names[0],
            "__meta_docker_container_network_mode": str((summary.get("HostConfig") or {}).get("NetworkMode", "")),
        }
        for key, value in (summary.get("Labels") or {}).items():
            labels[f"__meta_docker_container_label_{_LABEL_CHARS.sub('_', key)}"] = str(value)
        networks = (summary.get("NetworkSettings") or {}).get("Networks") or {}
        for net_name, net in networks.items():
            if net.get("IPAddress"):
                labels.setdefault("__address__", f"{net['IPAddress']}:{self.port}")
                labels.setdefault("__meta_docker_network_name", net_name)
                labels.setdefault("__meta_docker_network_ip", net["IPAddress"])
        return labels

    def discover(self) -> None:
        try:
            summaries = self.client.containers(self.filters or None)
        except DockerError as exc:
            if not self._reported_error:
                self.log.error("docker discovery failed; will retry", err=str(exc))
                self._reported_error = True
            return
        self._reported_error = False
        current = set()
        for summary in summaries:
            cid = summary["Id"]
            current.add(cid)
            if cid in self.containers:
                continue
            meta = self.meta_labels(summary)
            per_stream: dict[str, dict[str, str] | None] = {}
            for stream in ("stdout", "stderr"):
                kept = relabel.apply({**meta, "__meta_docker_container_log_stream": stream},
                                     self.job.get("relabel_configs"))
                per_stream[stream] = relabel.public(kept) if kept else None
            if not any(per_stream.values()):
                continue
            try:
                tty = bool((self.client.inspect(cid).get("Config") or {}).get("Tty"))
            except DockerError:
                tty = False
            last = int(self.positions.get(f"cursor-{cid}", "0") or 0)
            self.containers[cid] = ContainerState(cid, meta["__meta_docker_container_name"], tty, per_stream, last)
            self.log.info("added Docker target", containerID=cid[:12], name=meta["__meta_docker_container_name"])
        for cid in set(self.containers) - current:
            self.log.info("removed Docker target", containerID=cid[:12])
            del self.containers[cid]

    def poll(self) -> None:
        if time.monotonic() - self._last_refresh >= self.refresh:
            self.discover()
            self._last_refresh = time.monotonic()
        for state in list(self.containers.values()):
            try:
                self._read(state)
            except DockerError as exc:
                self.log.warning("could not read container logs", containerID=state.container_id[:12], err=str(exc))

    def _read(self, state: ContainerState) -> None:
        since = f"{state.last_ts // 1_000_000_000}.{state.last_ts % 1_000_000_000:09d}"
        newest = state.last_ts
        for stream, stamp, line in self.client.logs(state.container_id, since, state.tty):
            try:
                ts = parse_rfc3339_ns(stamp)
            except ValueError:
                continue
            if ts <= state.last_ts:
                continue
            newest = max(newest, ts)
            labels = state.labels.get(stream)
            if labels is None:
                continue
            entry = self.stages.process(dict(labels), ts, line)
            if entry is not None:
                self.sink(entry)
                self.metrics.docker_entries.inc(container=state.name.lstrip("/"))
        if newest != state.last_ts:
            state.last_ts = newest
            self.positions.put(f"cursor-{state.container_id}", newest)


class TargetLoop:
    """Polls every target group from one thread; ``active()`` feeds /ready and the targets gauge."""

    def __init__(self, groups: list[Any], metrics: TargetMetrics, log: Log, interval: float = 0.25) -> None:
        self.groups, self.metrics, self.log, self.interval = groups, metrics, log, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="targets", daemon=True)

    def active(self) -> int:
        return sum(len(g.files) if isinstance(g, FileTargets) else len(g.containers) for g in self.groups)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            for group in self.groups:
                try:
                    group.poll()
                except Exception as exc:
                    self.log.error("target poll failed", err=repr(exc))
            self.metrics.targets_active.set(self.active())
            self._stop.wait(self.interval)
