"""The shared Grafana HTTP client (plugins/module_utils/grafana_api.py): what it sends twice, and to whom.

* Only idempotent requests are retried after a 5xx or a timeout: a POST that got a 503 (the server may
  have acted on it, e.g. created a token) is sent exactly once. A refused connection (nothing reached the
  server) is retried for any method.
* Redirects drop the credentials when they leave the origin, by the rule of requests'
  SessionRedirectMixin.should_strip_auth (another host; another port or scheme, except http->https on
  the default ports).

Each test runs a stdlib http.server on 127.0.0.1 in a thread.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import pytest
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import GrafanaAPIError, GrafanaClient
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.http_transport import should_strip_auth
from requests import Session

Reply = Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]]


class Recorder:
    """A server on 127.0.0.1 that answers with `reply` and records (method, path, headers) of each request."""

    def __init__(self, reply: Reply, host: str = "127.0.0.1") -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.seen.append((self.command, self.path, dict(self.headers.items())))
                status, headers, body = reply(self)
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers() -> Iterator[list[Recorder]]:
    started: list[Recorder] = []
    yield started
    for server in started:
        server.close()


def client(url: str, retries: int = 3, **extra: object) -> GrafanaClient:
    params = {"url": url, "url_username": "admin", "url_password": "s3cret", "retries": retries, "timeout": 5,
              "use_proxy": False, **extra}
    return GrafanaClient(params, sleep=lambda seconds: None)


def unavailable(handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
    return 503, {}, b'{"message": "service unavailable"}'


def test_post_that_gets_a_503_is_sent_exactly_once(servers: list[Recorder]) -> None:
    server = Recorder(unavailable)
    servers.append(server)
    with pytest.raises(GrafanaAPIError) as failed:
        client(server.url()).request("POST", "/api/serviceaccounts/2/tokens", "token 'ci'", body={"name": "ci"})
    assert failed.value.status == 503
    assert [method for method, _path, _headers in server.seen] == ["POST"]


def test_patch_that_gets_a_503_is_sent_exactly_once(servers: list[Recorder]) -> None:
    server = Recorder(unavailable)
    servers.append(server)
    with pytest.raises(GrafanaAPIError):
        client(server.url()).request("PATCH", "/api/serviceaccounts/2", "service account 'ci'", body={"role": "Viewer"})
    assert len(server.seen) == 1


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_idempotent_request_that_gets_a_503_is_retried(servers: list[Recorder], method: str) -> None:
    server = Recorder(unavailable)
    servers.append(server)
    with pytest.raises(GrafanaAPIError):
        client(server.url(), retries=2).request(method, "/api/folders/labs", "folder 'labs'")
    assert [seen[0] for seen in server.seen] == [method] * 3  # the first try and two retries


def test_get_is_retried_until_it_succeeds(servers: list[Recorder]) -> None:
    answers = iter([(502, {}, b"{}"), (503, {}, b"{}"), (200, {}, b'{"uid": "labs"}')])
    server = Recorder(lambda handler: next(answers))
    servers.append(server)
    assert client(server.url()).request("GET", "/api/folders/labs", "folder 'labs'") == {"uid": "labs"}
    assert len(server.seen) == 3


def test_post_that_times_out_is_sent_exactly_once(servers: list[Recorder]) -> None:
    def slow(handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        time.sleep(2.5)
        return 200, {}, b'{"key": "glsa_lost"}'

    server = Recorder(slow)
    servers.append(server)
    with pytest.raises(GrafanaAPIError) as failed:
        client(server.url(), timeout=1).request("POST", "/api/serviceaccounts/2/tokens", "token 'ci'",
                                                body={"name": "ci"})
    assert failed.value.status is None
    time.sleep(2)  # a retry would have arrived by now
    assert len(server.seen) == 1


def test_refused_connection_is_retried_for_a_post_too() -> None:
    """Nothing reached the server, so sending the POST again cannot create anything twice."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        slept: list[float] = []
        grafana = GrafanaClient({"url": f"http://127.0.0.1:{port}", "url_username": "admin", "url_password": "pw",
                                 "retries": 2, "timeout": 5, "use_proxy": False}, sleep=slept.append)
        with pytest.raises(GrafanaAPIError) as failed:
            grafana.request("POST", "/api/folders", "folder 'labs'", body={"title": "Labs"})
    assert failed.value.unsent
    assert len(slept) == 2


def redirect_to(target: str, status: int = 302) -> Reply:
    return lambda handler: (status, {"Location": target + handler.path}, b"")


def answer_ok(handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
    return 200, {}, b'{"ok": true}'


def test_redirect_to_another_host_arrives_without_the_credentials(servers: list[Recorder]) -> None:
    target = Recorder(answer_ok)
    servers.append(target)
    origin = Recorder(redirect_to(target.url("localhost")))
    servers.append(origin)
    assert client(origin.url()).request("GET", "/api/folders/labs", "folder 'labs'") == {"ok": True}
    assert "Authorization" in origin.seen[0][2]
    [(_method, path, headers)] = target.seen
    assert path == "/api/folders/labs"
    assert "Authorization" not in headers


def test_redirect_to_another_host_drops_the_token_too(servers: list[Recorder]) -> None:
    target = Recorder(answer_ok)
    servers.append(target)
    origin = Recorder(redirect_to(target.url("localhost"), status=307))
    servers.append(origin)
    client(origin.url(), token="glsa_secret_token", url_username=None).request("GET", "/api/org", "org")
    assert origin.seen[0][2]["Authorization"] == "Bearer glsa_secret_token"
    assert "Authorization" not in target.seen[0][2]


def test_redirect_to_another_port_of_the_same_host_drops_the_credentials(servers: list[Recorder]) -> None:
    """requests treats another port as another origin (should_strip_auth: changed_port)."""
    target = Recorder(answer_ok)
    servers.append(target)
    origin = Recorder(redirect_to(target.url()))
    servers.append(origin)
    client(origin.url()).request("GET", "/api/org", "org")
    assert "Authorization" not in target.seen[0][2]


def test_redirect_within_the_same_origin_keeps_the_credentials(servers: list[Recorder]) -> None:
    def moved_once(handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        if handler.path == "/old":
            return 301, {"Location": "/api/org"}, b""
        return 200, {}, b'{"id": 1}'

    server = Recorder(moved_once)
    servers.append(server)
    assert client(server.url()).request("GET", "/old", "org") == {"id": 1}
    assert [path for _method, path, _headers in server.seen] == ["/old", "/api/org"]
    assert all("Authorization" in headers for _method, _path, headers in server.seen)


def test_redirect_of_a_post_is_not_followed(servers: list[Recorder]) -> None:
    target = Recorder(answer_ok)
    servers.append(target)
    origin = Recorder(redirect_to(target.url(), status=307))
    servers.append(origin)
    with pytest.raises(GrafanaAPIError) as failed:
        client(origin.url()).request("POST", "/api/folders", "folder 'labs'", body={"title": "Labs"})
    assert failed.value.status == 307
    assert not target.seen


@pytest.mark.parametrize(("old", "new"), [
    ("http://grafana:3000/a", "http://grafana:3000/b"),
    ("http://grafana:3000/a", "http://other:3000/a"),
    ("http://grafana:3000/a", "http://grafana:3001/a"),
    ("https://grafana:3000/a", "http://grafana:3000/a"),
    ("https://grafana/a", "http://grafana/a"),
    ("http://grafana/a", "https://grafana/a"),
    ("http://grafana:80/a", "https://grafana:443/a"),
    ("http://grafana/a", "http://grafana:80/a"),
    ("https://grafana:443/a", "https://grafana/a"),
    ("http://127.0.0.1:3000/a", "http://localhost:3000/a"),
])
def test_should_strip_auth_follows_requests(old: str, new: str) -> None:
    assert should_strip_auth(old, new) == Session().should_strip_auth(old, new)
