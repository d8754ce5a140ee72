"""The flow checks of stack_flow_check (plugins/module_utils/flows.py) against small fake HTTP servers on
127.0.0.1: what a working flow reports, and what a broken link says. No Docker; the logs flow, which needs
a container, is covered by tests/integration/test_verify_flows.py."""

from __future__ import annotations

import importlib
import json
import socket
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# The checkout imports under its FQCN like an installed collection.
if str(REPO_ROOT / "collections") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "collections"))
flows = importlib.import_module("ansible_collections.data2ai.grafana_stack.plugins.module_utils.flows")

Handler = Callable[[str, dict, Any], "tuple[int, Any]"]


class FakeServer:
    """Answers (method, path) with a handler's (status, JSON body); a route path ending in "*" matches every path
    under it. Remembers every request as (method, path, query, body, Authorization header)."""

    def __init__(self, routes: dict[tuple[str, str], Handler]) -> None:
        self.routes = routes
        self.requests: list[tuple[str, str, dict, Any, str]] = []
        fake = self

        class RequestHandler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                query = {key: values[0] for key, values in parse_qs(parts.query).items()}
                size = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(size)) if size else None
                fake.requests.append((self.command, parts.path, query, body, self.headers.get("Authorization", "")))
                handler = fake.route(self.command, parts.path)
                status, answer = handler(parts.path, query, body) if handler else (404, {"message": "Not found"})
                data = (answer if isinstance(answer, str) else json.dumps(answer)).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def route(self, method: str, path: str) -> Handler | None:
        for (route_method, route_path), handler in self.routes.items():
            if route_method == method and (route_path == path or (
                    route_path.endswith("*") and path.startswith(route_path[:-1]))):
                return handler
        return None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[dict], FakeServer]]:
    servers: list[FakeServer] = []

    def start(routes: dict) -> FakeServer:
        servers.append(FakeServer(routes))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def prometheus_counts(counts: dict[str, int]) -> Handler:
    """A Prometheus query API that knows how many series each selector has."""

    def handler(_path: str, query: dict, _body: Any) -> tuple[int, Any]:
        selector = query["query"][len("count("):-1]
        result = [{"metric": {}, "value": [0, str(counts[selector])]}] if counts.get(selector) else []
        return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}

    return handler


def settings(flow: str, **values: Any) -> Any:
    return flows.FlowSettings(flow=flow, timeout=values.pop("timeout", 3), interval=0.1, request_timeout=2, **values)


NODE, CONTAINERS = flows.DEFAULT_METRICS_SERIES


def test_metrics_flow_passes_with_both_series_in_prometheus_and_through_grafana(serve) -> None:
    prometheus = serve({("GET", "/api/v1/query"): prometheus_counts({NODE: 16, CONTAINERS: 11})})
    grafana = serve({("GET", "/api/datasources/proxy/uid/prometheus/api/v1/query"):
                     prometheus_counts({NODE: 16, CONTAINERS: 11})})
    result = flows.check_flow(settings("metrics", prometheus_url=prometheus.url, grafana_url=grafana.url,
                                       grafana_datasource_uid="prometheus"))
    assert result.passed, result.detail
    assert result.detail == (f"series in Prometheus: {NODE} 16, {CONTAINERS} 11, "
                             "and through Grafana (datasource prometheus)")
    expected_steps = [f"prometheus {NODE}", f"prometheus {CONTAINERS}", f"grafana {NODE}", f"grafana {CONTAINERS}"]
    assert [step.name for step in result.steps] == expected_steps


def test_metrics_flow_names_the_series_prometheus_lacks_and_stops_there(serve) -> None:
    prometheus = serve({("GET", "/api/v1/query"): prometheus_counts({NODE: 16})})
    result = flows.check_flow(settings("metrics", prometheus_url=prometheus.url, grafana_datasource_uid="prometheus",
                                       timeout=0.5))
    assert not result.passed
    assert result.detail.startswith(f"{CONTAINERS} not in Prometheus: no series (after ")
    assert [step.passed for step in result.steps] == [True, False], "no Grafana step after a broken link"


def test_metrics_flow_reports_grafanas_answer_when_the_proxy_refuses(serve) -> None:
    prometheus = serve({("GET", "/api/v1/query"): prometheus_counts({NODE: 1, CONTAINERS: 1})})
    grafana = serve({})  # every path 404s, as Grafana does for an unknown datasource uid
    result = flows.check_flow(settings("metrics", prometheus_url=prometheus.url, grafana_url=grafana.url,
                                       grafana_datasource_uid="nope", timeout=0.5))
    assert not result.passed
    assert "through Grafana datasource 'nope'" in result.detail and "HTTP 404: Not found" in result.detail


def test_metrics_flow_asks_grafana_with_basic_auth_and_prometheus_without(serve) -> None:
    counts = prometheus_counts({NODE: 1, CONTAINERS: 1})
    prometheus = serve({("GET", "/api/v1/query"): counts})
    grafana = serve({("GET", "/api/datasources/proxy/uid/prometheus/api/v1/query"): counts})
    result = flows.check_flow(settings("metrics", prometheus_url=prometheus.url, grafana_url=grafana.url,
                                       grafana_datasource_uid="prometheus", grafana_password="s3cret"))
    assert result.passed, result.detail
    assert {request[4] for request in prometheus.requests} == {""}
    assert {request[4] for request in grafana.requests} == {"Basic YWRtaW46czNjcmV0"}  # admin:s3cret


def test_traces_flow_finds_the_span_it_sent_by_trace_id(serve) -> None:
    stored: dict[str, Any] = {}

    def receive(_path: str, _query: dict, body: Any) -> tuple[int, Any]:
        span = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
        stored[span["traceId"]] = {"batches": [{"scopeSpans": [{"spans": [{"name": span["name"]}]}]}]}
        return 200, {"partialSuccess": {}}

    def by_id(path: str, _query: dict, _body: Any) -> tuple[int, Any]:
        trace = stored.get(path.rsplit("/", 1)[1])
        return (200, trace) if trace else (404, "trace not found")

    otlp = serve({("POST", "/v1/traces"): receive})
    tempo = serve({("GET", "/api/traces/*"): by_id})
    result = flows.check_flow(settings("traces", tempo_otlp_http_url=otlp.url, tempo_url=tempo.url))
    assert result.passed, result.detail
    trace_id = result.evidence["trace_id"]
    assert len(trace_id) == 32 and trace_id in stored
    assert result.detail == (f"trace {trace_id} sent over OTLP/HTTP, found by id in Tempo "
                             "(Grafana leg skipped: no datasource uid)")


def test_traces_flow_says_which_end_refused_the_span(serve) -> None:
    otlp = serve({("POST", "/v1/traces"): lambda *_: (415, "unsupported content type")})
    result = flows.check_flow(settings("traces", tempo_otlp_http_url=otlp.url))
    assert not result.passed
    assert result.detail == f"OTLP/HTTP {otlp.url}/v1/traces refused the span: HTTP 415: unsupported content type"


def alertmanager(serve, receivers: list[str], deliver: bool) -> FakeServer:
    """A fake Alertmanager with a firing Watchdog; it forwards posted alerts to the verify receiver's webhook
    like the real one does (when ``deliver``), else counts a failed webhook notification."""
    state: dict[str, Any] = {"webhook": None, "failed": 0}

    def post(_path: str, _query: dict, alerts: Any) -> tuple[int, Any]:
        if not deliver or not state["webhook"]:
            state["failed"] += 1
            return 200, ""
        for alert in alerts:
            status = "resolved" if "endsAt" in alert else "firing"
            body = json.dumps({"status": status, "alerts": [{**alert, "status": status}]}).encode()
            request = urllib.request.Request(state["webhook"], data=body, headers={"Content-Type": "application/json"})
            try:
                urllib.request.urlopen(request, timeout=5).close()
            except OSError:  # the sink is gone: the flow posts the resolved alert once more on its way out
                state["failed"] += 1
        return 200, ""

    server = serve({
        ("GET", "/api/v2/receivers"): lambda *_: (200, [{"name": name} for name in receivers]),
        ("GET", "/api/v2/alerts"): lambda *_: (200, [{"labels": {"alertname": "Watchdog"},
                                                      "generatorURL": "http://prometheus:9090/graph"}]),
        ("POST", "/api/v2/alerts"): post,
        ("GET", "/metrics"): lambda *_: (
            200, f'alertmanager_notifications_failed_total{{integration="webhook"}} {state["failed"]}\n'),
    })
    server.state = state
    return server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_alerts_flow_sees_the_test_alert_fire_then_resolve_at_the_sink(serve) -> None:
    am = alertmanager(serve, ["default", "verify"], deliver=True)
    webhook = f"http://127.0.0.1:{free_port()}/"
    am.state["webhook"] = webhook
    result = flows.check_flow(settings("alerts", alertmanager_url=am.url, alert_webhook_url=webhook))
    assert result.passed, result.detail
    assert result.detail == ("rule alert Watchdog active in Alertmanager; "
                             "test alert delivered by receiver 'verify', firing then resolved")
    posted = [request[3] for request in am.requests if request[0] == "POST"]
    assert posted[0][0]["labels"] == {"alertname": "StackFlowCheck", "verify": "true",
                                      "verify_run": result.evidence["run_id"]}
    assert "endsAt" not in posted[0][0] and all("endsAt" in later[0] for later in posted[1:])


def test_alerts_flow_sends_nothing_when_alertmanager_lacks_the_verify_receiver(serve) -> None:
    am = alertmanager(serve, ["default", "severity-critical"], deliver=True)
    result = flows.check_flow(settings("alerts", alertmanager_url=am.url, alert_webhook_url="http://127.0.0.1:9/"))
    assert not result.passed
    assert "Alertmanager has no receiver 'verify' (it has default, severity-critical)" in result.detail
    assert not [request for request in am.requests if request[0] == "POST"], "no test alert may reach a real receiver"


def test_alerts_flow_says_the_sink_was_not_reached_and_counts_alertmanagers_failures(serve) -> None:
    am = alertmanager(serve, ["verify"], deliver=False)
    webhook = f"http://127.0.0.1:{free_port()}/"
    result = flows.check_flow(settings("alerts", alertmanager_url=am.url, alert_webhook_url=webhook, timeout=1))
    assert not result.passed
    assert result.detail.startswith(f"firing test alert not delivered to the webhook sink {webhook}: the containers "
                                    f"must reach 127.0.0.1:{webhook.split(':')[2].strip('/')} (host firewall?); "
                                    "Alertmanager counts 1 failed webhook notifications (after ")


def test_alerts_flow_reports_a_sink_address_it_cannot_listen_on(serve) -> None:
    am = alertmanager(serve, ["verify"], deliver=True)
    result = flows.check_flow(settings("alerts", alertmanager_url=am.url, alert_webhook_url="http://192.0.2.1:19093/"))
    assert not result.passed
    assert result.detail.startswith("cannot listen on 192.0.2.1:19093 for Alertmanager's webhook: ")
