"""service_health over TLS: a probe trusts a given CA file, and checks a fixed server name when it connects to an
address the certificate does not name (a container's address; the grafana role's wait with grafana_tls)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from ansible_collections.data2ai.grafana_stack.plugins.module_utils import health


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if not shutil.which("openssl"):
        pytest.fail("openssl not found, needed to make a test certificate: bash scripts/host-prerequisites.sh",
                    pytrace=False)
    cert, key = tmp_path / "grafana.crt", tmp_path / "grafana.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=grafana",
                    "-addext", "subjectAltName=DNS:grafana", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def https_url(certificate: tuple[Path, Path]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"database": "ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}/api/health"
    server.shutdown()
    server.server_close()


def probe(url: str, **extra: object) -> health.ProbeOutcome:
    [check] = health.build_checks([{"name": "grafana", "url": url, "json": {"database": "ok"}, **extra}])
    return health.probe_url(check, 5)


def test_probe_trusts_the_ca_file_and_checks_the_server_name(https_url: str, certificate: tuple[Path, Path]) -> None:
    outcome = probe(https_url, ca_path=str(certificate[0]), server_name="grafana")
    assert outcome.ready, outcome.problem


def test_probe_refuses_the_certificate_without_the_ca_file(https_url: str) -> None:
    outcome = probe(https_url, server_name="grafana")
    assert not outcome.ready
    assert "certificate" in (outcome.error or "").lower()


def test_probe_refuses_a_certificate_for_another_name(https_url: str, certificate: tuple[Path, Path]) -> None:
    outcome = probe(https_url, ca_path=str(certificate[0]), server_name="not-grafana")
    assert not outcome.ready
    by_address = probe(https_url, ca_path=str(certificate[0]))  # the certificate does not name 127.0.0.1
    assert not by_address.ready


def test_https_scheme_needs_a_container_probe() -> None:
    with pytest.raises(health.HealthConfigError, match="scheme needs container and port"):
        health.build_checks([{"name": "grafana", "url": "https://127.0.0.1:3000/", "scheme": "https"}])
    [check] = health.build_checks([{"name": "grafana", "container": "grafana", "port": 3000, "scheme": "https",
                                    "ca_path": "/etc/grafana.crt", "server_name": "grafana"}])
    assert (check.scheme, check.ca_path, check.server_name) == ("https", "/etc/grafana.crt", "grafana")
