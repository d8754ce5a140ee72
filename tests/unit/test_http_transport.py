"""The collection's one HTTP layer (plugins/module_utils/http_transport.py) on a real socket: keep-alive (many
requests over one TCP connection, counted on the server's side), a client shared by threads, connections the
server closed while idle, and the health wait and the flow checks riding on it.

Each test runs a stdlib HTTP/1.1 server on 127.0.0.1 in a thread that counts the connections it accepts.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from ansible_collections.data2ai.grafana_stack.plugins.module_utils import health
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.flow_common import FlowSettings
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.flow_metrics import check_metrics
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import GrafanaClient
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.http_transport import (
    HttpTransport,
    request,
)
from fake_transport import FakeTransport, InFlight

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


class CountingServer:
    """Answers every request with JSON naming its path; counts accepted connections and requests.

    ``close_after_each`` closes the connection after each answer without saying so (no ``Connection: close``),
    as a server whose idle timeout has passed does.
    """

    def __init__(self, close_after_each: bool = False) -> None:
        self.connections = 0
        self.requests = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with outer.lock:
                    outer.requests += 1
                body = json.dumps({"path": self.path, "status": "ok"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                if close_after_each:
                    self.wfile.flush()
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                return

        class Server(ThreadingHTTPServer):
            def get_request(self):  # type: ignore[no-untyped-def]
                accepted = super().get_request()
                with outer.lock:
                    outer.connections += 1
                return accepted

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[CountingServer]:
    started = CountingServer()
    yield started
    started.close()


def grafana(url: str) -> GrafanaClient:
    return GrafanaClient({"url": url, "url_username": "admin", "url_password": "pw", "retries": 0, "timeout": 5,
                          "use_proxy": False}, sleep=lambda seconds: None)


def test_grafana_client_sends_many_requests_over_one_connection(server: CountingServer) -> None:
    client = grafana(server.url)
    answers = [client.get(f"/api/folders/f{i}", f"folder 'f{i}'") for i in range(10)]
    client.close()
    assert answers == [{"path": f"/api/folders/f{i}", "status": "ok"} for i in range(10)]
    assert server.requests == 10
    assert server.connections == 1


def test_one_client_shared_by_threads_answers_each_correctly_over_a_connection_per_thread(
        server: CountingServer) -> None:
    client = grafana(server.url)
    threads, per_thread = 8, 12

    def work(worker: int) -> list[bool]:
        return [client.request("GET", f"/api/users/{worker}-{i}", f"user {worker}-{i}")["path"]
                == f"/api/users/{worker}-{i}" for i in range(per_thread)]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = [ok for answers in pool.map(work, range(threads)) for ok in answers]
    client.close()
    assert results == [True] * (threads * per_thread)
    assert server.requests == threads * per_thread
    assert server.connections <= threads


def test_threads_that_come_and_go_reuse_the_idle_connections_of_those_before_them(server: CountingServer) -> None:
    # As an object that adds its members several at a time does: a new pool of threads for each object.
    client = grafana(server.url)
    for round_no in range(5):
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda i, r=round_no: client.get(f"/api/teams/{r}-{i}", "team"), range(4)))
    client.close()
    assert server.requests == 20
    assert server.connections <= 4


def test_limit_requests_bounds_the_requests_in_flight_over_the_client_and_its_copies() -> None:
    fake = FakeTransport()
    in_flight = InFlight()
    fake.on("GET", "/api/folders", in_flight.slowly((200, {}, {})))
    client = GrafanaClient({"url": "http://grafana.test", "url_password": "pw"}, sleep=lambda s: None,
                           transport=fake)
    client.limit_requests(3)
    copies = [client, copy.copy(client)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(lambda i: copies[i % 2].request("GET", "/api/folders", "folders"), range(24)))
    assert len(fake.sent) == 24
    assert in_flight.most == 3


def test_a_connection_the_server_closed_while_idle_is_replaced_without_a_failure() -> None:
    closing = CountingServer(close_after_each=True)
    try:
        transport = HttpTransport(timeout=5, use_proxy=False)
        statuses = [request(transport, "GET", f"{closing.url}/ready/{i}").status for i in range(4)]
        transport.close()
    finally:
        closing.close()
    assert statuses == [200] * 4
    assert closing.connections == 4


def test_a_body_read_only_in_part_does_not_spoil_the_next_request(server: CountingServer) -> None:
    transport = HttpTransport(timeout=5, use_proxy=False)
    cut = request(transport, "GET", f"{server.url}/big", max_body=5)
    whole = request(transport, "GET", f"{server.url}/next")
    transport.close()
    assert cut.body == b'{"pat'
    assert json.loads(whole.body) == {"path": "/next", "status": "ok"}


def test_the_health_wait_polls_each_service_over_one_connection(server: CountingServer) -> None:
    checks = health.build_checks([{"name": "svc", "url": f"{server.url}/health", "json": {"status": "down"}}])
    report = health.wait_for_services(checks, timeout=0.6, interval=0.05, request_timeout=2)
    assert report.services["svc"].attempts >= 3
    assert server.requests == report.services["svc"].attempts
    assert server.connections == 1


def test_the_metrics_flow_asks_prometheus_over_one_connection(server: CountingServer) -> None:
    settings = FlowSettings(flow="metrics", prometheus_url=server.url, timeout=0.3, interval=0.05,
                            metrics_series=("up", "node_load1"))
    result = check_metrics(settings)
    assert not result.passed  # the server's answers are no query results
    assert server.requests >= 2
    assert server.connections == 1


def test_no_http_helper_is_defined_twice_in_plugins() -> None:
    """One HTTP layer: error-body reading, text helpers, redaction, the retry policy and TLS contexts live in
    http_transport.py alone."""
    helpers = ("_read_error_body", "_one_line", "one_line", "snippet", "body_snippet", "redact", "_redact",
               "may_retry", "should_strip_auth", "error_message", "body_message", "_tls_context", "tls_context",
               "describe_connection_error", "describe_no_answer", "decode_json", "strip_userinfo")
    found: dict[str, list[str]] = {}
    for path in sorted(PLUGINS.rglob("*.py")):
        for line in path.read_text(encoding="utf-8").splitlines():
            for name in helpers:
                if line.startswith((f"def {name}(", f"{name} = ")):  # module level: methods may call them
                    found.setdefault(name, []).append(str(path.relative_to(PLUGINS)))
    assert {name: paths for name, paths in found.items() if paths != ["module_utils/http_transport.py"]} == {}
    masks = [str(path.relative_to(PLUGINS)) for path in sorted(PLUGINS.rglob("*.py"))
             if "'********'" in path.read_text(encoding="utf-8") or '"********"' in path.read_text(encoding="utf-8")]
    assert masks == ["module_utils/http_transport.py"]


def test_a_health_probe_redirected_to_another_host_sends_no_credentials_there() -> None:
    fake = FakeTransport()
    fake.on("GET", "http://grafana.test/api/health", 302, None, {"Location": "http://elsewhere.test/login"})
    fake.on("GET", "http://elsewhere.test/login", 200, {"database": "ok"})
    [check] = health.build_checks([{"name": "grafana", "url": "http://grafana.test/api/health",
                                    "url_username": "admin", "url_password": "hunter2"}])
    outcome = health.probe_url(check, 2.0, fake)
    assert outcome.ready
    origin, elsewhere = fake.sent
    assert origin.header("Authorization") == "Basic YWRtaW46aHVudGVyMg=="
    assert elsewhere.header("Authorization") is None
