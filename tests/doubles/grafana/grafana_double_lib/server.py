"""The HTTP layer: a threading stdlib server that hands every request to the App.

With `[server] protocol = https` it serves TLS only, as Grafana does (pkg/api/http_server.go: one listener,
either plain HTTP or TLS, never both): see `tls_context`.
"""

from __future__ import annotations

import os
import socket
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .app import App
from .settings import Settings, StartupError

MAX_BODY = 64 * 1024 * 1024


class DoubleHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Grafana listens with Go's net.Listen, whose accept backlog is the kernel's somaxconn (4096 on current
    # kernels), not socketserver's default of 5: many clients connecting at once are all accepted.
    request_queue_size = 4096
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App, tls: ssl.SSLContext | None = None) -> None:
        self.app = app
        self.tls = tls
        super().__init__(address, DoubleRequestHandler)

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def get_request(self) -> tuple[socket.socket, object]:
        connection, address = super().get_request()
        if self.tls is None:
            return connection, address
        # The handshake runs in the request's own thread (first read), so a slow or plain-HTTP client never
        # blocks the accept loop.
        return self.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: object, client_address: object) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ssl.SSLError, ConnectionError)):
            # Go's net/http logs a failed handshake as one line and closes the connection (a plain-HTTP
            # client on the TLS port gets no answer at all).
            print(f"double: http: TLS handshake error from {client_address}: {error}", file=sys.stderr, flush=True)
            return
        super().handle_error(request, client_address)


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context `[server] protocol = https` asks for; None for plain HTTP.

    Refuses to start as Grafana does (pkg/api/http_server.go, readCertificates/configureHttps): an empty
    cert_file or cert_key, a file that is missing, or a pair that does not load. TLS 1.2 is the minimum
    (tlsCfg MinVersion tls.VersionTLS12).
    """
    protocol = settings.get("server", "protocol").strip().lower() or "http"
    if protocol == "http":
        return None
    if protocol != "https":
        # h2 and socket are Grafana's too; the double does not serve them.
        raise StartupError(f'invalid protocol "{protocol}" (the double serves http and https)')
    cert_file = settings.get("server", "cert_file").strip()
    key_file = settings.get("server", "cert_key").strip()
    if not cert_file:
        raise StartupError("cert_file cannot be empty when using HTTPS")
    if not key_file:
        raise StartupError("cert_key cannot be empty when using HTTPS")
    if not os.path.exists(cert_file):
        raise StartupError(f'cannot find SSL cert_file at "{cert_file}"')
    if not os.path.exists(key_file):
        raise StartupError(f'cannot find SSL key_file at "{key_file}"')
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        raise StartupError(f"could not load SSL certificate: {exc}") from exc
    return context


class DoubleRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "grafana-test-double"
    sys_version = ""
    server: DoubleHTTPServer

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._chunked_body()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _chunked_body(self) -> bytes:
        data = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return data
            data += self.rfile.read(size)
            self.rfile.readline()
            if len(data) > MAX_BODY:
                raise ValueError("request body too large")

    def _handle(self) -> None:
        body = self._body()
        headers = dict(self.headers.items())
        reply = self.server.app.handle(self.command, self.path, headers, body, client=self.client_address[0])
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Grafana-Double", "true")
        for key, value in reply.headers.items():
            self.send_header(key, value)
        for cookie in reply.cookies:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = _handle
    do_POST = _handle
    do_PUT = _handle
    do_PATCH = _handle
    do_DELETE = _handle
    do_HEAD = _handle

    def log_message(self, format: str, *args: object) -> None:
        # The App logs one line per request itself; keep the stdlib's own lines for errors only.
        if args and str(args[0]).startswith(("code ", "Bad")):
            super().log_message(format, *args)
