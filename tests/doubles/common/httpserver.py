"""HTTP server skeleton for the TEST DOUBLES (stdlib ``http.server``, threaded).

Handlers take a :class:`Request` and return a :class:`Response`. Every response
carries ``X-Test-Double: <component>`` and the ``Server`` header names the double.
"""

from __future__ import annotations

import gzip
import json
import re
import signal
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from common.logs import Log
from common.metrics import Metric


class HTTPError(Exception):
    """Raise from a handler to answer with an error body."""

    def __init__(self, status: int, message: str, content_type: str = "text/plain; charset=utf-8") -> None:
        super().__init__(message)
        self.status, self.message, self.content_type = status, message, content_type


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    client: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A query parameter, or a form field of a urlencoded POST body (Loki and Prometheus allow both)."""
        if name in self.query:
            return self.query[name][0]
        form = self.form()
        return form[name][0] if name in form else default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, []) + self.form().get(name, [])

    def form(self) -> dict[str, list[str]]:
        ctype = self.headers.get("Content-Type", "")
        if self.method == "POST" and ctype.startswith("application/x-www-form-urlencoded"):
            return parse_qs(self.decoded_body().decode("utf-8", "replace"), keep_blank_values=True)
        return {}

    def decoded_body(self) -> bytes:
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        try:
            if encoding == "gzip":
                return gzip.decompress(self.body)
            if encoding == "deflate":
                return zlib.decompress(self.body)
        except (OSError, zlib.error) as exc:
            raise HTTPError(400, f"cannot decode {encoding} body: {exc}") from exc
        if encoding not in ("", "identity"):
            raise HTTPError(415, f"Content-Encoding {encoding} is not supported by this test double")
        return self.body

    def json(self) -> Any:
        try:
            return json.loads(self.decoded_body() or b"null")
        except ValueError as exc:
            raise HTTPError(400, f"invalid JSON body: {exc}") from exc


@dataclass
class Response:
    status: int = 200
    body: bytes | str = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(obj), "application/json", headers or {})

    @classmethod
    def text(cls, text: str, status: int = 200) -> Response:
        return cls(status, text)


Handler = Callable[[Request], Response]


class Router:
    """Maps (method, path regex) to handlers; path groups become ``request.params``."""

    def __init__(self, error_format: Callable[[int, str], Response] | None = None) -> None:
        self._routes: list[tuple[frozenset[str], re.Pattern[str], Handler, str]] = []
        self.error_format = error_format or (lambda status, msg: Response.text(msg + "\n", status))

    def add(self, methods: str, pattern: str, handler: Handler) -> None:
        wanted = frozenset(methods.upper().split(","))
        if "GET" in wanted:
            wanted |= {"HEAD"}
        display = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)
        self._routes.append((wanted, re.compile(f"^{pattern}$"), handler, display))

    def resolve(self, request: Request) -> tuple[Handler | None, str, bool]:
        path_matched = False
        for methods, regex, handler, pattern in self._routes:
            match = regex.match(request.path)
            if not match:
                continue
            path_matched = True
            if request.method in methods:
                request.params = {k: v for k, v in match.groupdict().items() if v is not None}
                return handler, pattern, True
        return None, "notfound", path_matched

    def dispatch(self, request: Request) -> tuple[Response, str]:
        handler, route, path_matched = self.resolve(request)
        if handler is None:
            if path_matched:
                return self.error_format(405, "method not allowed"), route
            return self.error_format(404, "404 page not found"), route
        try:
            return handler(request), route
        except HTTPError as exc:
            if exc.content_type.startswith("text/plain"):
                return self.error_format(exc.status, exc.message), route
            return Response(exc.status, exc.message, exc.content_type), route


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: DoubleHTTPServer

    def version_string(self) -> str:
        return f"{self.server.component}-test-double"

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log.debug("http request", client=self.client_address[0], line=format % args)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        request = Request(
            method=self.command, path=parts.path or "/", query=parse_qs(parts.query, keep_blank_values=True),
            headers=self.headers, body=self._read_body(), client=self.client_address[0],
        )
        started = time.monotonic()
        try:
            response, route = self.server.router.dispatch(request)
        except Exception as exc:
            self.server.log.error("handler failed", path=request.path, err=repr(exc))
            response, route = Response.text(f"internal error in test double: {exc!r}\n", 500), "error"
        if self.server.request_counter is not None:
            self.server.request_counter.inc(method=self.command, route=route, status_code=str(response.status))
        self.server.log.debug("request", method=self.command, path=request.path, status=response.status,
                              duration=f"{time.monotonic() - started:.4f}s")
        self._send(response)

    def _send(self, response: Response) -> None:
        body = response.body.encode("utf-8") if isinstance(response.body, str) else response.body
        self.send_response(response.status)
        no_body = response.status in (204, 304) or self.command == "HEAD"
        if response.status not in (204, 304):
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Test-Double", self.server.component)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if not no_body:
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class DoubleHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], router: Router, log: Log, component: str,
                 request_counter: Metric | None = None) -> None:
        self.router, self.log, self.component = router, log, component
        self.request_counter = request_counter
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)


def start_server(host: str, port: int, router: Router, log: Log, component: str,
                 request_counter: Metric | None = None) -> DoubleHTTPServer:
    """Bind and serve in a daemon thread. Raises OSError when the port is taken."""
    server = DoubleHTTPServer((host, port), router, log, component, request_counter)
    thread = threading.Thread(target=server.serve_forever, name=f"http-{port}", daemon=True)
    thread.start()
    log.info("server listening on addresses", component=component, address=f"{host}:{server.server_port}")
    return server


def request_counter_for(registry: Any, prefix: str) -> Metric:
    return registry.counter(f"{prefix}_double_http_requests_total",
                            "HTTP requests served by the TEST DOUBLE, by route and status.",
                            ("method", "route", "status_code"))


def wait_for_signal(log: Log, on_stop: Callable[[], None] | None = None) -> None:
    """Block until SIGTERM/SIGINT (docker stop), then run ``on_stop``."""
    stop = threading.Event()

    def _handler(signum: int, _frame: Any) -> None:
        log.info("received shutdown signal", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    while not stop.wait(1.0):
        pass
    if on_stop is not None:
        on_stop()
    log.info("stopped")
