# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The logs flow of ``stack_flow_check``: a short-lived container echoes a marker, the log shipper (Promtail or
Alloy) ships it, a LogQL query_range on Loki finds it, then the same query through Grafana."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import quote

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.docker_engine import (
    DockerEngineError,
    container_logs,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.flow_common import (
    Answer,
    FlowResult,
    FlowRun,
    FlowSettings,
    Http,
    Probe,
    Step,
    also_grafana,
    brief,
    grafana_http,
    grafana_proxy,
    grafana_via,
    query_result,
)

# Log lines of the log shipper worth quoting when the logs flow fails.
_TROUBLE = re.compile(r"level=(error|warn)|error|refused|no such host", re.IGNORECASE)


class LogWriter:
    """A labelled container that echoes the marker every second, created and removed through the Docker API."""

    def __init__(self, settings: FlowSettings) -> None:
        self.settings = settings
        self.docker = Http(30.0, unix_socket=settings.docker_socket)
        self.name = settings.log_writer_name

    def _call(self, method: str, path: str, body: Any = None) -> Answer:
        return self.docker.call(method, f"http://localhost{path}", body=body)

    def remove(self) -> None:
        # v=1: the image may declare volumes (postgres does); their anonymous volumes go with the container.
        self._call("DELETE", f"/containers/{quote(self.name, safe='')}?force=1&v=1")

    def close(self) -> None:
        self.docker.close()

    def start(self) -> tuple[bool, str]:
        image = self.settings.log_writer_image
        if not image:
            return False, "no log writer image given (log_writer_image)"
        self.remove()  # a leftover of an interrupted run
        script = f"while :; do echo '{self.settings.marker}'; sleep 1; done"
        spec = {
            "Image": image,
            "Entrypoint": ["/bin/sh", "-c"],
            "Cmd": [script],
            "Labels": {str(k): str(v) for k, v in self.settings.log_writer_labels.items()},
            "HostConfig": {"NetworkMode": "none"},
        }
        created = self._call("POST", f"/containers/create?name={quote(self.name, safe='')}", spec)
        if not created.ok:
            return False, f"could not create the log writer {self.name} from {image}: {created.describe()}"
        started = self._call("POST", f"/containers/{quote(self.name, safe='')}/start")
        if not started.ok:
            return False, f"could not start the log writer {self.name}: {started.describe()}"
        return True, f"log writer {self.name} ({image}) echoes the marker"


def loki_lines(answer: Answer, marker: str) -> tuple[int | None, str]:
    """How many returned lines carry the marker, or None and why the query failed."""
    result, why = query_result(answer, "Loki")
    if result is None:
        return None, why
    lines = sum(1 for stream in result for value in stream.get("values") or [] if marker in str(value[-1]))
    return lines, "" if lines else "no matching line"


def loki_probe(http: Http, url: str, settings: FlowSettings, since_ns: int, where: str) -> Probe:
    query = f'{{container="{settings.log_writer_name}"}} |= "{settings.marker}"'

    def probe() -> tuple[bool, str]:
        params = {"query": query, "start": since_ns, "end": time.time_ns() + 60 * 10**9, "limit": 100}
        lines, problem = loki_lines(http.call("GET", url, params), settings.marker)
        if lines:
            return True, f"marker found {where} ({lines} lines)"
        return False, f"marker not found {where}: {problem}, LogQL {query}"

    return probe


def shipper_hints(settings: FlowSettings) -> str:
    """The log shipper's own complaints, which usually say why nothing arrived."""
    if not settings.log_shipper_container:
        return ""
    try:
        lines = container_logs(settings.log_shipper_container, 200, settings.docker_socket)
    except DockerEngineError as exc:
        return f"; {settings.log_shipper_container} logs unavailable: {exc}"
    trouble = [line for line in lines if _TROUBLE.search(line)][-2:]
    if not trouble:
        return ""
    return f"; {settings.log_shipper_container} says: " + " | ".join(brief(line) for line in trouble)


def check_logs(settings: FlowSettings) -> FlowResult:
    run = FlowRun(settings)
    run.evidence["marker"] = settings.marker
    since_ns = time.time_ns() - 5 * 60 * 10**9
    writer = LogWriter(settings)
    loki = Http(settings.request_timeout)
    grafana = grafana_http(settings)
    try:
        if run.step("log writer", writer.start):
            loki_url = f"{settings.loki_url.rstrip('/')}/loki/api/v1/query_range"
            probe = loki_probe(loki, loki_url, settings, since_ns, "in Loki")
            if not run.step("loki", lambda: run.until(probe)):
                run.steps[-1] = _with_hints(run.steps[-1], shipper_hints(settings))
        if settings.grafana_datasource_uid:
            proxied = grafana_proxy(settings, "loki/api/v1/query_range")
            probe = loki_probe(grafana, proxied, settings, since_ns, grafana_via(settings))
            run.step("grafana", lambda: run.until(probe))
    finally:
        writer.remove()
        writer.close()
        loki.close()
        grafana.close()
    run.summary = f"marker line of container {writer.name} found in Loki{also_grafana(settings)}"
    return run.result()


def _with_hints(step: Step, hints: str) -> Step:
    return Step(step.name, step.passed, step.detail + hints, step.elapsed)
