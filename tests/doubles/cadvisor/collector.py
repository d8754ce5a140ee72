"""``container_*`` and ``machine_*`` series computed from the Docker Engine API (cAdvisor TEST DOUBLE).

Real cAdvisor reads cgroups directly; the double asks dockerd for the same numbers
(``/containers/json``, ``/containers/<id>/json``, ``/containers/<id>/stats?stream=false``),
which dockerd itself reads from the cgroups. Only Docker containers are covered.
"""

from __future__ import annotations

import os
import platform
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from common.dockerapi import DockerClient, DockerError
from common.logs import Log
from common.metrics import Family

# The cAdvisor version the double mimics; its flags are in upstream/<UPSTREAM_VERSION>.json.
UPSTREAM_VERSION = "0.60.5"
VERSION = f"v{UPSTREAM_VERSION}-double"
_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")


FAMILIES = [
    ("cpu_usage", "container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed in seconds."),
    ("cpu_user", "container_cpu_user_seconds_total", "counter", "Cumulative user cpu time consumed in seconds."),
    ("cpu_system", "container_cpu_system_seconds_total", "counter", "Cumulative system cpu time consumed in seconds."),
    ("mem_usage", "container_memory_usage_bytes", "gauge",
     "Current memory usage in bytes, including all memory regardless of when it was accessed"),
    ("mem_ws", "container_memory_working_set_bytes", "gauge", "Current working set in bytes."),
    ("mem_rss", "container_memory_rss", "gauge", "Size of RSS in bytes."),
    ("mem_cache", "container_memory_cache", "gauge", "Number of bytes of page cache memory."),
    ("mem_limit", "container_spec_memory_limit_bytes", "gauge", "Memory limit for the container."),
    ("cpu_shares", "container_spec_cpu_shares", "gauge", "CPU share of the container."),
    ("cpu_quota", "container_spec_cpu_quota", "gauge", "CPU quota of the container."),
    ("cpu_period", "container_spec_cpu_period", "gauge", "CPU period of the container."),
    ("last_seen", "container_last_seen", "gauge", "Last time a container was seen by the exporter"),
    ("start", "container_start_time_seconds", "gauge", "Start time of the container since unix epoch in seconds."),
    ("rx", "container_network_receive_bytes_total", "counter", "Cumulative count of bytes received"),
    ("tx", "container_network_transmit_bytes_total", "counter", "Cumulative count of bytes transmitted"),
    ("rx_pkts", "container_network_receive_packets_total", "counter", "Cumulative count of packets received"),
    ("tx_pkts", "container_network_transmit_packets_total", "counter", "Cumulative count of packets transmitted"),
    ("rx_err", "container_network_receive_errors_total", "counter",
     "Cumulative count of errors encountered while receiving"),
    ("tx_err", "container_network_transmit_errors_total", "counter",
     "Cumulative count of errors encountered while transmitting"),
    ("pids", "container_processes", "gauge", "Number of processes running inside the container."),
]


def parse_docker_time(text: str) -> float:
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", text or "")
    if not match:
        return 0.0
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    return datetime.fromisoformat(match.group(1) + zone).timestamp() + float(match.group(2) or 0)


def _machine_memory() -> float:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return 0.0


class Collector:
    def __init__(self, docker_host: str, log: Log, cache_seconds: float = 1.0, store_labels: bool = True) -> None:
        self.client = DockerClient(docker_host, timeout=5)
        self.log, self.cache_seconds, self.store_labels = log, cache_seconds, store_labels
        self._cache: tuple[float, list[Family]] = (0.0, [])
        self._lock = threading.Lock()
        self._docker_ok: bool | None = None
        self._info: dict[str, Any] = {}
        self._version: dict[str, Any] = {}

    # --- docker access -------------------------------------------------------------

    def _cgroup_id(self, container_id: str) -> str:
        if self._info.get("CgroupDriver") == "systemd":
            return f"/system.slice/docker-{container_id}.scope"
        return f"/docker/{container_id}"

    def _container(self, summary: dict[str, Any]) -> dict[str, Any] | None:
        cid = summary["Id"]
        try:
            return {"summary": summary, "inspect": self.client.inspect(cid), "stats": self.client.stats(cid)}
        except DockerError as exc:
            self.log.warning("failed to get container stats", id=cid[:12], err=str(exc))
            return None

    def _snapshot(self) -> list[dict[str, Any]] | None:
        try:
            if not self._info:
                self._info, self._version = self.client.info(), self.client.version()
            summaries = self.client.containers()
        except DockerError as exc:
            if self._docker_ok is not False:
                self.log.warning("Docker API unavailable: serving machine metrics only (mount /var/run/docker.sock "
                                 "to get container_* series)", err=str(exc))
            self._docker_ok = False
            self._info = {}
            return None
        if self._docker_ok is not True:
            self.log.info("Registration of the docker container factory successfully",
                          docker=self._version.get("Version", "?"), cgroup_driver=self._info.get("CgroupDriver", "?"))
        self._docker_ok = True
        with ThreadPoolExecutor(max_workers=8) as pool:
            return [c for c in pool.map(self._container, summaries) if c is not None]

    # --- families ---------------------------------------------------------------------

    def families(self) -> list[Family]:
        with self._lock:
            stamp, cached = self._cache
            if time.monotonic() - stamp < self.cache_seconds and cached:
                return cached
            fams = self._build()
            self._cache = (time.monotonic(), fams)
            return fams

    def _build(self) -> list[Family]:
        snapshot = self._snapshot()
        fams = self._machine_families()
        scrape_error = Family("container_scrape_error", "gauge",
                              "1 if there was an error while getting container metrics, 0 otherwise")
        scrape_error.add(0 if snapshot is not None else 1)
        fams.append(scrape_error)
        if snapshot:
            fams.extend(self._container_families(snapshot))
        return fams

    def _machine_families(self) -> list[Family]:
        info = {
            "cadvisorRevision": "double", "cadvisorVersion": VERSION,
            "dockerVersion": str(self._version.get("Version", "")),
            "kernelVersion": platform.release(), "osVersion": str(self._info.get("OperatingSystem", "")),
            "double": "true",
        }
        return [
            Family("cadvisor_version_info", "gauge",
                   "A metric with a constant '1' value labeled by kernel version, OS version, docker version, "
                   "cadvisor version & cadvisor revision (TEST DOUBLE).").add(1, **info),
            Family("machine_cpu_cores", "gauge", "Number of logical CPU cores.")
            .add(float(self._info.get("NCPU") or os.cpu_count() or 0)),
            Family("machine_memory_bytes", "gauge", "Amount of memory installed on the machine.")
            .add(float(self._info.get("MemTotal") or _machine_memory())),
        ]

    def _labels(self, c: dict[str, Any]) -> dict[str, str]:
        summary, inspect = c["summary"], c["inspect"]
        labels = {
            "id": self._cgroup_id(summary["Id"]),
            "image": str((inspect.get("Config") or {}).get("Image") or summary.get("Image", "")),
            "name": str((summary.get("Names") or [""])[0]).lstrip("/"),
        }
        if self.store_labels:
            for key, value in (summary.get("Labels") or {}).items():
                labels[f"container_label_{_LABEL_CHARS.sub('_', key)}"] = str(value)
        return labels

    def _container_families(self, snapshot: list[dict[str, Any]]) -> list[Family]:
        spec = {key: Family(name, kind, text) for key, name, kind, text in FAMILIES}
        now = time.time()
        for c in snapshot:
            self._add_container(spec, c, now)
        return list(spec.values())

    def _add_container(self, spec: dict[str, Family], c: dict[str, Any], now: float) -> None:
        labels = self._labels(c)
        stats, host = c["stats"] or {}, (c["inspect"].get("HostConfig") or {})
        cpu = (stats.get("cpu_stats") or {}).get("cpu_usage") or {}
        spec["cpu_usage"].add(cpu.get("total_usage", 0) / 1e9, **labels, cpu="total")
        spec["cpu_user"].add(cpu.get("usage_in_usermode", 0) / 1e9, **labels)
        spec["cpu_system"].add(cpu.get("usage_in_kernelmode", 0) / 1e9, **labels)
        mem = stats.get("memory_stats") or {}
        detail = mem.get("stats") or {}
        usage = float(mem.get("usage", 0))
        inactive = float(detail.get("total_inactive_file", detail.get("inactive_file", 0)))
        spec["mem_usage"].add(usage, **labels)
        spec["mem_ws"].add(max(0.0, usage - inactive), **labels)
        spec["mem_rss"].add(float(detail.get("total_rss", detail.get("anon", 0))), **labels)
        spec["mem_cache"].add(float(detail.get("total_cache", detail.get("file", 0))), **labels)
        spec["mem_limit"].add(float(host.get("Memory") or 0), **labels)
        spec["cpu_shares"].add(float(host.get("CpuShares") or 1024), **labels)
        if host.get("CpuQuota"):
            spec["cpu_quota"].add(float(host["CpuQuota"]), **labels)
            spec["cpu_period"].add(float(host.get("CpuPeriod") or 100000), **labels)
        spec["last_seen"].add(now, **labels)
        spec["start"].add(parse_docker_time(str((c["inspect"].get("State") or {}).get("StartedAt", ""))), **labels)
        for iface, net in sorted((stats.get("networks") or {}).items()):
            spec["rx"].add(net.get("rx_bytes", 0), **labels, interface=iface)
            spec["tx"].add(net.get("tx_bytes", 0), **labels, interface=iface)
            spec["rx_pkts"].add(net.get("rx_packets", 0), **labels, interface=iface)
            spec["tx_pkts"].add(net.get("tx_packets", 0), **labels, interface=iface)
            spec["rx_err"].add(net.get("rx_errors", 0), **labels, interface=iface)
            spec["tx_err"].add(net.get("tx_errors", 0), **labels, interface=iface)
        if (stats.get("pids_stats") or {}).get("current") is not None:
            spec["pids"].add(stats["pids_stats"]["current"], **labels)

    def summaries(self) -> list[dict[str, str]]:
        snapshot = self._snapshot() or []
        return [self._labels(c) for c in snapshot]
