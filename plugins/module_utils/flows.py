# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""End-to-end checks of the stack's four data flows, for the ``stack_flow_check`` module.

Each check puts its own uniquely marked test data in at one end of a flow and polls the other end until
the data shows up or the flow's deadline passes:

- metrics: Node Exporter and cAdvisor series in Prometheus, then the same queries through Grafana's
  datasource proxy (only reads);
- logs: a short-lived container echoes a marker, Promtail ships it, a LogQL query_range on Loki finds it,
  then the same query through Grafana;
- traces: an OTLP/HTTP JSON span with a random trace id goes to Tempo, which returns it by id, also
  through Grafana;
- alerts: an alert fired by a Prometheus rule is active in Alertmanager, and a test alert posted to
  Alertmanager reaches a webhook sink run here, first firing, then resolved.

A flow is a list of steps; the first failing step ends the flow, because the later ones depend on it.
Plain Python on ``ansible.module_utils.urls``, so it is unit-tested without running a module.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Tuple
from urllib.error import HTTPError
from urllib.parse import quote, urlencode, urlsplit

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import Request
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.docker_engine import (
    DEFAULT_SOCKET,
    DockerEngineError,
    container_logs,
)

FLOWS = ("metrics", "logs", "traces", "alerts")
# Flows that put test data into the stack; check mode skips them. The metrics flow only reads.
FLOWS_SENDING_DATA = ("logs", "traces", "alerts")
DEFAULT_METRICS_SERIES = (
    'node_cpu_seconds_total{job="node-exporter"}',
    'container_cpu_usage_seconds_total{job="cadvisor"}',
)
SNIPPET_CHARS = 200
_NO_ANSWER_ERRORS = (OSError, http.client.HTTPException, UrlsConnectionError, ValueError)
_WHITESPACE = re.compile(r"\s+")
# Log lines of the log shipper worth quoting when the logs flow fails.
_TROUBLE = re.compile(r"level=(error|warn)|error|refused|no such host", re.IGNORECASE)


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
        document = self.json()
        message = ""
        if isinstance(document, dict):
            message = str(document.get("error") or document.get("message") or "")
        return f"HTTP {self.status}: {snippet(message or self.body) or '(empty body)'}"


class Http:
    """Requests to the stack's published ports. Proxies are bypassed: every URL is local to the host."""

    def __init__(self, timeout: float, username: str | None = None, password: str | None = None,
                 unix_socket: str | None = None, ca_path: str | None = None) -> None:
        self._request = Request(
            ca_path=ca_path,
            use_proxy=False,
            timeout=timeout,
            url_username=username,
            url_password=password,
            force_basic_auth=bool(username),
            use_netrc=False,
            unix_socket=unix_socket,
        )

    def call(self, method: str, url: str, params: Mapping[str, Any] | None = None, body: Any = None) -> Answer:
        if params:
            url = f"{url}?{urlencode(params)}"
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            response = self._request.open(method, url, data=data, headers=headers)
            return Answer(response.status, response.read().decode("utf-8", "replace"))
        except HTTPError as exc:
            return Answer(exc.code, exc.read().decode("utf-8", "replace") if exc.fp else "")
        except _NO_ANSWER_ERRORS as exc:
            return Answer(None, error=str(getattr(exc, "reason", None) or exc))


def snippet(text: str) -> str:
    text = _WHITESPACE.sub(" ", text or "").strip()
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 3] + "..."


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


def grafana_proxy(settings: FlowSettings, route: str) -> str:
    uid = quote(settings.grafana_datasource_uid, safe="")
    return f"{settings.grafana_url.rstrip('/')}/api/datasources/proxy/uid/{uid}/{route.lstrip('/')}"


def grafana_http(settings: FlowSettings) -> Http:
    return Http(settings.request_timeout, settings.grafana_user, settings.grafana_password,
                ca_path=settings.grafana_ca_path or None)


def also_grafana(settings: FlowSettings) -> str:
    uid = settings.grafana_datasource_uid
    return f", and through Grafana (datasource {uid})" if uid else " (Grafana leg skipped: no datasource uid)"


# --------------------------------------------------------------------------
# Metrics: Node Exporter and cAdvisor -> Prometheus -> Grafana
# --------------------------------------------------------------------------


def query_result(answer: Answer, source: str) -> tuple[list | None, str]:
    """The data.result list of a Prometheus or Loki query answer, or None and why there is none."""
    if not answer.ok:
        return None, answer.describe()
    document = answer.json() or {}
    result = (document.get("data") or {}).get("result") if isinstance(document, dict) else None
    if not isinstance(result, list):
        return None, f"not a {source} query answer: {snippet(answer.body)}"
    return result, ""


def series_count(answer: Answer) -> tuple[int | None, str]:
    """The value of a count(...) instant query, or None and why not."""
    result, why = query_result(answer, "Prometheus")
    if result is None:
        return None, why
    if not result:
        return 0, "no series"
    try:
        return int(float(result[0]["value"][1])), ""
    except (KeyError, IndexError, TypeError, ValueError):
        return None, f"unexpected query result: {snippet(answer.body)}"


def count_probe(http: Http, query_url: str, series: str, where: str, counts: dict[str, int]) -> Probe:
    def probe() -> tuple[bool, str]:
        count, problem = series_count(http.call("GET", query_url, {"query": f"count({series})"}))
        if count:
            counts[series] = count
            return True, f"{series}: {count} series {where}"
        return False, f"{series} not {where}: {problem or 'no series'}"

    return probe


def check_metrics(settings: FlowSettings) -> FlowResult:
    run = FlowRun(settings)
    counts: dict[str, int] = {}
    query_url = f"{settings.prometheus_url.rstrip('/')}/api/v1/query"
    for series in settings.metrics_series:
        probe = count_probe(Http(settings.request_timeout), query_url, series, "in Prometheus", counts)
        run.step(f"prometheus {series}", lambda probe=probe: _until(run, probe))
    if settings.grafana_datasource_uid:
        via = f"through Grafana datasource '{settings.grafana_datasource_uid}'"
        proxied = grafana_proxy(settings, "api/v1/query")
        for series in settings.metrics_series:
            probe = count_probe(grafana_http(settings), proxied, series, via, {})
            run.step(f"grafana {series}", lambda probe=probe: _until(run, probe))
    found = ", ".join(f"{series} {count}" for series, count in counts.items())
    run.summary = f"series in Prometheus: {found}{also_grafana(settings)}"
    return run.result()


def _until(run: FlowRun, probe: Probe) -> tuple[bool, str]:
    passed, detail = run.poll(probe)
    return passed, detail if passed else f"{detail} (after {run.waited()})"


# --------------------------------------------------------------------------
# Logs: a container -> Promtail -> Loki -> Grafana
# --------------------------------------------------------------------------


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
    return f"; {settings.log_shipper_container} says: " + " | ".join(snippet(line) for line in trouble)


def check_logs(settings: FlowSettings) -> FlowResult:
    run = FlowRun(settings)
    run.evidence["marker"] = settings.marker
    since_ns = time.time_ns() - 5 * 60 * 10**9
    writer = LogWriter(settings)
    try:
        if run.step("log writer", writer.start):
            loki_url = f"{settings.loki_url.rstrip('/')}/loki/api/v1/query_range"
            probe = loki_probe(Http(settings.request_timeout), loki_url, settings, since_ns, "in Loki")
            if not run.step("loki", lambda: _until(run, probe)):
                run.steps[-1] = _with_hints(run.steps[-1], shipper_hints(settings))
        if settings.grafana_datasource_uid:
            via = f"through Grafana datasource '{settings.grafana_datasource_uid}'"
            proxied = grafana_proxy(settings, "loki/api/v1/query_range")
            probe = loki_probe(grafana_http(settings), proxied, settings, since_ns, via)
            run.step("grafana", lambda: _until(run, probe))
    finally:
        writer.remove()
    run.summary = f"marker line of container {writer.name} found in Loki{also_grafana(settings)}"
    return run.result()


def _with_hints(step: Step, hints: str) -> Step:
    return Step(step.name, step.passed, step.detail + hints, step.elapsed)


# --------------------------------------------------------------------------
# Traces: OTLP/HTTP -> Tempo -> trace by id -> Grafana
# --------------------------------------------------------------------------


def otlp_trace(trace_id: str, span_id: str, span_name: str) -> dict[str, Any]:
    """One server span in OTLP/HTTP JSON (ids in hex, as the JSON mapping of OTLP wants)."""
    end = time.time_ns()
    return {
        "resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "stack-flow-check"}}]},
            "scopeSpans": [{
                "scope": {"name": "data2ai.grafana_stack.stack_flow_check"},
                "spans": [{
                    "traceId": trace_id,
                    "spanId": span_id,
                    "name": span_name,
                    "kind": 2,
                    "startTimeUnixNano": str(end - 10**7),
                    "endTimeUnixNano": str(end),
                }],
            }],
        }],
    }


def trace_probe(http: Http, url: str, span_name: str, where: str) -> Probe:
    def probe() -> tuple[bool, str]:
        answer = http.call("GET", url)
        if answer.ok and span_name in answer.body:
            return True, f"trace found by id {where}"
        problem = answer.describe() if not answer.ok else "answer without the span"
        return False, f"trace not found by id {where}: {problem}"

    return probe


def check_traces(settings: FlowSettings) -> FlowResult:
    run = FlowRun(settings)
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    span_name = settings.marker
    run.evidence["trace_id"] = trace_id
    http = Http(settings.request_timeout)
    otlp_url = f"{settings.tempo_otlp_http_url.rstrip('/')}/v1/traces"

    def send() -> tuple[bool, str]:
        answer = http.call("POST", otlp_url, body=otlp_trace(trace_id, span_id, span_name))
        if answer.ok:
            return True, f"span of trace {trace_id} accepted on {otlp_url}"
        return False, f"OTLP/HTTP {otlp_url} refused the span: {answer.describe()}"

    if run.step("send", send):
        probe = trace_probe(http, f"{settings.tempo_url.rstrip('/')}/api/traces/{trace_id}", span_name, "in Tempo")
        run.step("tempo", lambda: _until(run, probe))
    if settings.grafana_datasource_uid:
        via = f"through Grafana datasource '{settings.grafana_datasource_uid}'"
        probe = trace_probe(grafana_http(settings), grafana_proxy(settings, f"api/traces/{trace_id}"), span_name, via)
        run.step("grafana", lambda: _until(run, probe))
    run.summary = f"trace {trace_id} sent over OTLP/HTTP, found by id in Tempo{also_grafana(settings)}"
    return run.result()


# --------------------------------------------------------------------------
# Alerts: a Prometheus rule -> Alertmanager, and Alertmanager -> a webhook receiver
# --------------------------------------------------------------------------


class WebhookSink:
    """Receives Alertmanager's webhook notifications for as long as the alerts flow runs."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.url = url
        self.address = (parts.hostname or "", parts.port or 80)
        self.notifications: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @contextmanager
    def listening(self) -> Iterator[WebhookSink]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                try:
                    document = json.loads(self.rfile.read(size) or b"{}")
                except ValueError:
                    document = {}
                with sink._lock:
                    sink.notifications.append(document)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:  # keep the module's output clean
                return

        server = ThreadingHTTPServer(self.address, Handler)
        thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()

    def received(self, run_id: str, status: str) -> bool:
        with self._lock:
            notifications = list(self.notifications)
        return any(
            alert.get("status") == status and (alert.get("labels") or {}).get("verify_run") == run_id
            for notification in notifications
            for alert in notification.get("alerts") or []
        )


def verification_alert(run_id: str, starts: datetime, ends: datetime | None = None) -> list[dict[str, Any]]:
    alert: dict[str, Any] = {
        "labels": {"alertname": "StackFlowCheck", "verify": "true", "verify_run": run_id},
        "annotations": {"summary": "Test alert of data2ai.grafana_stack's verify playbook; resolves itself."},
        "startsAt": iso(starts),
        "generatorURL": "https://example.invalid/stack_flow_check",
    }
    if ends is not None:
        alert["endsAt"] = iso(ends)
    return [alert]


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def webhook_failures(http: Http, alertmanager_url: str) -> str:
    """Alertmanager's own count of failed webhook notifications, which tells 'sent but unreachable' apart."""
    answer = http.call("GET", f"{alertmanager_url}/metrics")
    if not answer.ok:
        return ""
    total = 0.0
    for line in answer.body.splitlines():
        if line.startswith("alertmanager_notifications_failed_total{") and 'integration="webhook"' in line:
            try:
                total += float(line.rsplit(" ", 1)[1])
            except ValueError:
                continue
    return f"; Alertmanager counts {total:.0f} failed webhook notifications" if total else ""


def check_alerts(settings: FlowSettings) -> FlowResult:
    run = FlowRun(settings)
    http = Http(settings.request_timeout)
    am = settings.alertmanager_url.rstrip("/")

    def receiver() -> tuple[bool, str]:
        answer = http.call("GET", f"{am}/api/v2/receivers")
        names = [item.get("name") for item in answer.json() or [] if isinstance(item, dict)] if answer.ok else []
        if settings.alert_receiver in names:
            return True, f"Alertmanager has the receiver '{settings.alert_receiver}'"
        if not answer.ok:
            return False, f"Alertmanager receivers not readable: {answer.describe()}"
        return False, (
            f"Alertmanager has no receiver '{settings.alert_receiver}' (it has {', '.join(map(str, names))}): "
            "converge the alertmanager role with alertmanager_verify_receiver_enabled; "
            "no test alert was sent, so no real receiver was notified"
        )

    def rule_alert() -> tuple[bool, str]:
        name = settings.alert_rule_alertname
        answer = http.call("GET", f"{am}/api/v2/alerts", {"filter": f'alertname="{name}"', "active": "true"})
        alerts = answer.json() if answer.ok else None
        if alerts and any(alert.get("generatorURL") for alert in alerts):
            return True, f"rule alert {name} from Prometheus is active in Alertmanager"
        problem = answer.describe() if not answer.ok else "not there"
        return False, f"rule alert {name} from Prometheus not active in Alertmanager: {problem}"

    run.step("receiver", receiver)
    if settings.alert_rule_alertname:
        run.step("rule", lambda: _until(run, rule_alert))
    if run.failed:
        return run.result()
    if not settings.alert_webhook_url:
        run.step("sink", lambda: (False, "no alert_webhook_url: the sink's URL must be the verify receiver's"))
        return run.result()

    sink = WebhookSink(settings.alert_webhook_url)
    starts = datetime.now(timezone.utc) - timedelta(seconds=1)

    def notified(status: str, alert: list[dict[str, Any]]) -> tuple[bool, str]:
        posted = http.call("POST", f"{am}/api/v2/alerts", body=alert)
        if not posted.ok:
            return False, f"Alertmanager refused the test alert: {posted.describe()}"
        if run.poll(lambda: (sink.received(settings.run_id, status), ""))[0]:
            return True, f"{status} test alert delivered to the webhook sink"
        return False, (
            f"{status} test alert not delivered to the webhook sink {sink.url}: the containers must reach "
            f"{sink.address[0]}:{sink.address[1]} (host firewall?){webhook_failures(http, am)} (after {run.waited()})"
        )

    try:
        with sink.listening():
            if run.step("firing", lambda: notified("firing", verification_alert(settings.run_id, starts))):
                ended = datetime.now(timezone.utc) - timedelta(seconds=1)
                run.step("resolved", lambda: notified("resolved", verification_alert(settings.run_id, starts, ended)))
    except OSError as exc:  # only binding the sink raises it here: every HTTP call returns an Answer
        problem = f"cannot listen on {sink.address[0]}:{sink.address[1]} for Alertmanager's webhook: {exc}"
        run.step("sink", lambda: (False, problem))
    finally:
        # Never leave the test alert firing in Alertmanager, whatever happened above.
        resolved = verification_alert(settings.run_id, starts, datetime.now(timezone.utc))
        http.call("POST", f"{am}/api/v2/alerts", body=resolved)
    rule = settings.alert_rule_alertname
    rule = f"rule alert {rule} active in Alertmanager; " if rule else ""
    run.summary = f"{rule}test alert delivered by receiver '{settings.alert_receiver}', firing then resolved"
    return run.result()


CHECKS: dict[str, Callable[[FlowSettings], FlowResult]] = {
    "metrics": check_metrics,
    "logs": check_logs,
    "traces": check_traces,
    "alerts": check_alerts,
}


def check_flow(settings: FlowSettings) -> FlowResult:
    """Run the check of ``settings.flow``."""
    return CHECKS[settings.flow](settings)
