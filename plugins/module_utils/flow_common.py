# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every flow check of ``stack_flow_check`` shares: its settings, the steps of a run, and HTTP.

A flow is a list of steps; the first failing step ends the flow, because the later ones depend on it
(:class:`FlowRun`). Every request, Grafana's included, goes through the collection's HTTP layer
(``http_transport``) by :class:`Http`, which turns each exchange into an :class:`Answer`: a broken link is a
result to report, never an exception. The flows are in ``flow_metrics``, ``flow_logs``, ``flow_traces`` and
``flow_alerts``; ``flows`` names them.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Tuple
from urllib.parse import quote, urlencode

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.docker_engine import DEFAULT_SOCKET
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.http_transport import (
    BadRedirect,
    HttpTransport,
    NoAnswer,
    basic_auth,
    body_message,
    request,
    snippet,
)

DEFAULT_METRICS_SERIES = (
    'node_cpu_seconds_total{job="node-exporter"}',
    'container_cpu_usage_seconds_total{job="cadvisor"}',
)
SNIPPET_CHARS = 200


@dataclass(frozen=True)
class FlowSettings:
    """Everything the checks need; the module fills it from its options."""

    flow: str
    run_id: str = field(default_factory=lambda: secrets.token_hex(6))
    timeout: float = 120.0
    interval: float = 1.0
    request_timeout: float = 10.0
    prometheus_url: str = "http://127.0.0.1:9090"
    loki_url: str = "http://127.0.0.1:3100"
    tempo_url: str = "http://127.0.0.1:3200"
    tempo_otlp_http_url: str = "http://127.0.0.1:4318"
    alertmanager_url: str = "http://127.0.0.1:9093"
    grafana_url: str = "http://127.0.0.1:3000"
    grafana_user: str = "admin"
    grafana_password: str | None = None
    grafana_ca_path: str | None = None
    grafana_datasource_uid: str = ""
    metrics_series: Sequence[str] = DEFAULT_METRICS_SERIES
    log_writer_image: str = ""
    log_writer_name: str = "stack-flow-check-log-writer"
    log_writer_labels: Mapping[str, str] = field(default_factory=dict)
    log_shipper_container: str = ""
    docker_socket: str = DEFAULT_SOCKET
    alert_webhook_url: str = ""
    alert_receiver: str = "verify"
    alert_rule_alertname: str = "Watchdog"

    @property
    def marker(self) -> str:
        return f"stack-flow-check-{self.run_id}"


@dataclass(frozen=True)
class Step:
    name: str
    passed: bool
    detail: str
    elapsed: float

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail, "elapsed": self.elapsed}


@dataclass
class FlowResult:
    flow: str
    passed: bool
    detail: str
    elapsed: float
    steps: list[Step]
    evidence: dict[str, Any]

    @property
    def status(self) -> str:
        return "pass" if self.passed else "fail"


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One HTTP exchange: the status and body, or why no answer came."""

    status: int | None
    body: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def describe(self) -> str:
        """'HTTP 404: Unable to find datasource' or 'no answer: connection refused'."""
        if self.status is None:
            return f"no answer: {self.error}"
        return f"HTTP {self.status}: {brief(body_message(self.body, self.body.strip() or '(empty body)'))}"


class Http:
    """Requests to the stack's published ports, over kept connections. Proxies are bypassed: every URL is local
    to the host. Requests are not retried: a flow polls until its deadline."""

    def __init__(self, timeout: float, username: str | None = None, password: str | None = None,
                 unix_socket: str | None = None, ca_path: str | None = None) -> None:
        self.timeout = timeout
        self.transport = HttpTransport(timeout=timeout, ca_path=ca_path, use_proxy=False, unix_socket=unix_socket)
        self.headers = {"Accept": "application/json"}
        if username:
            self.headers["Authorization"] = basic_auth(username, password)

    def call(self, method: str, url: str, params: Mapping[str, Any] | None = None, body: Any = None) -> Answer:
        if params:
            url = f"{url}?{urlencode(params)}"
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            response = request(self.transport, method, url, headers, data)
        except BadRedirect as exc:
            response = exc.response
        except NoAnswer as exc:
            return Answer(None, error=exc.describe(self.timeout))
        return Answer(response.status, response.text())

    def close(self) -> None:
        self.transport.close()


def brief(text: str) -> str:
    """A body or log line quoted in a detail: one line, at most SNIPPET_CHARS characters."""
    return snippet(text, SNIPPET_CHARS)


# --------------------------------------------------------------------------
# Steps and polling
# --------------------------------------------------------------------------


# typing's generics, not the builtins': the alias is evaluated at run time, on every target Python.
Probe = Callable[[], Tuple[bool, str]]


class FlowRun:
    """Runs the steps of one flow in order and stops at the first that fails."""

    def __init__(self, settings: FlowSettings) -> None:
        self.settings = settings
        self.started = time.monotonic()
        self.deadline = self.started + settings.timeout
        self.steps: list[Step] = []
        self.evidence: dict[str, Any] = {"run_id": settings.run_id}
        # One line for a flow that works; without it, the steps' details are joined.
        self.summary = ""

    @property
    def failed(self) -> bool:
        return any(not step.passed for step in self.steps)

    def step(self, name: str, action: Probe) -> bool:
        if self.failed:
            return False
        begun = time.monotonic()
        try:
            passed, detail = action()
        except Exception as exc:  # one broken step is a failed flow, never a crashed play
            passed, detail = False, f"{name}: unexpected error: {type(exc).__name__}: {exc}"
        self.steps.append(Step(name, passed, detail, round(time.monotonic() - begun, 3)))
        return passed

    def poll(self, probe: Probe) -> tuple[bool, str]:
        """Call ``probe`` until it succeeds or the flow's deadline passes; always at least once."""
        while True:
            passed, detail = probe()
            remaining = self.deadline - time.monotonic()
            if passed or remaining <= 0:
                return passed, detail
            time.sleep(min(self.settings.interval, remaining))

    def until(self, probe: Probe) -> tuple[bool, str]:
        """:meth:`poll`, and a failure says how long it waited."""
        passed, detail = self.poll(probe)
        return passed, detail if passed else f"{detail} (after {self.waited()})"

    def waited(self) -> str:
        return f"{time.monotonic() - self.started:.0f}s"

    def result(self) -> FlowResult:
        passed = bool(self.steps) and not self.failed
        if passed and self.summary:
            detail = self.summary
        else:
            detail = "; ".join(step.detail for step in self.steps if passed or not step.passed)
        return FlowResult(
            flow=self.settings.flow,
            passed=passed,
            detail=detail,
            elapsed=round(time.monotonic() - self.started, 3),
            steps=self.steps,
            evidence=self.evidence,
        )


# --------------------------------------------------------------------------
# Grafana's datasource proxy and query answers
# --------------------------------------------------------------------------


def grafana_proxy(settings: FlowSettings, route: str) -> str:
    uid = quote(settings.grafana_datasource_uid, safe="")
    return f"{settings.grafana_url.rstrip('/')}/api/datasources/proxy/uid/{uid}/{route.lstrip('/')}"


def grafana_http(settings: FlowSettings) -> Http:
    """Grafana, with the admin's basic authentication and the CA file that verifies its certificate."""
    return Http(settings.request_timeout, settings.grafana_user, settings.grafana_password,
                ca_path=settings.grafana_ca_path or None)


def grafana_via(settings: FlowSettings) -> str:
    return f"through Grafana datasource '{settings.grafana_datasource_uid}'"


def also_grafana(settings: FlowSettings) -> str:
    uid = settings.grafana_datasource_uid
    return f", and through Grafana (datasource {uid})" if uid else " (Grafana leg skipped: no datasource uid)"


def query_result(answer: Answer, source: str) -> tuple[list | None, str]:
    """The data.result list of a Prometheus or Loki query answer, or None and why there is none."""
    if not answer.ok:
        return None, answer.describe()
    document = answer.json() or {}
    result = (document.get("data") or {}).get("result") if isinstance(document, dict) else None
    if not isinstance(result, list):
        return None, f"not a {source} query answer: {brief(answer.body)}"
    return result, ""
