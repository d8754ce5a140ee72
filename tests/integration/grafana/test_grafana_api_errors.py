# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every API error is one line, ``<object>: HTTP <status> <Grafana message>``; retries are bounded.

Also shows that the fixture fails a test when the double records a spec violation.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from grafana_harness import Ansible, GrafanaDouble


def test_bad_token_gives_a_one_line_401_naming_the_object(ansible: Ansible, grafana: GrafanaDouble) -> None:
    expected = grafana.call("GET", "/api/folders/labs", token="glsa_not_a_real_token_00000000").body["message"]
    result = ansible.run("grafana_folder", token="glsa_not_a_real_token_00000000", uid="labs", title="Labs")
    assert result.failed
    assert "\n" not in result.msg
    assert result.msg == f"folder 'labs': HTTP 401 {expected}"
    assert result.data.get("status") == 401


def test_wrong_password_gives_a_one_line_401(ansible: Ansible, grafana: GrafanaDouble) -> None:
    result = ansible.run("grafana_datasource", url_password="wrong", name="Loki", type="loki")
    assert result.failed
    assert "\n" not in result.msg
    assert result.msg.startswith("datasource 'Loki': HTTP 401 ")
    assert len(result.msg) > len("datasource 'Loki': HTTP 401 ")  # Grafana's message is there


def test_grafana_validation_error_is_reported_with_its_message(ansible: Ansible, grafana: GrafanaDouble) -> None:
    model = {"uid": "lost", "title": "Lost", "panels": []}
    expected = grafana.call("POST", "/api/dashboards/db", {"dashboard": model, "folderUid": "no-such-folder"})
    assert 400 <= expected.status < 500
    result = ansible.run("grafana_dashboard", dashboard=model, folder_uid="no-such-folder")
    assert result.failed
    assert result.msg == f"dashboard 'lost': HTTP {expected.status} {expected.body['message']}"


# -- a scripted server for bodies the double never sends ------------------------------------------


class ScriptedGrafana:
    """127.0.0.1 server that answers every request with one fixed status and body, and counts them."""

    def __init__(self, status: int, body: bytes, content_type: str, tls: ssl.SSLContext | None = None) -> None:
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> ScriptedGrafana:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def html_bad_gateway() -> Iterator[ScriptedGrafana]:
    page = b"<html><body><h1>502 Bad Gateway</h1>\n<hr>nginx</body></html>\n"
    with ScriptedGrafana(502, page, "text/html") as server:
        yield server


def test_non_json_error_body_gives_one_line_and_5xx_is_retried_a_bounded_number_of_times(
        ansible: Ansible, html_bad_gateway: ScriptedGrafana) -> None:
    result = ansible.run("grafana_folder", url=html_bad_gateway.url, retries=2, uid="labs", title="Labs")
    assert result.failed
    assert result.msg == "folder 'labs': HTTP 502 Bad Gateway"
    assert html_bad_gateway.requests == 3  # the first try and two retries


@pytest.fixture
def plain_text_not_found() -> Iterator[ScriptedGrafana]:
    with ScriptedGrafana(403, b"forbidden by proxy\nsecond line", "text/plain") as server:
        yield server


def test_client_errors_are_not_retried_and_text_bodies_fold_into_one_line(
        ansible: Ansible, plain_text_not_found: ScriptedGrafana) -> None:
    result = ansible.run("grafana_team", url=plain_text_not_found.url, retries=3, name="students")
    assert result.failed
    assert result.msg == "team 'students': HTTP 403 forbidden by proxy second line"
    assert plain_text_not_found.requests == 1


@pytest.fixture
def html_login_page() -> Iterator[ScriptedGrafana]:
    with ScriptedGrafana(200, b"<!DOCTYPE html>\n<html><title>Sign in</title></html>\n", "text/html") as server:
        yield server


def test_html_answer_with_status_200_fails_in_one_line_instead_of_crashing(
        ansible: Ansible, html_login_page: ScriptedGrafana) -> None:
    result = ansible.run("grafana_datasource", url=html_login_page.url, name="Loki", type="loki")
    assert result.failed
    page = "<!DOCTYPE html> <html><title>Sign in</title></html>"
    assert result.msg == f"datasource 'Loki': HTTP 200 answer is not JSON: {page}"
    assert "Traceback" not in result.output


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    if not shutil.which("openssl"):
        pytest.fail("openssl not found, needed to make a test certificate: bash scripts/host-prerequisites.sh",
                    pytrace=False)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_grafana(self_signed: tuple[Path, Path]) -> Iterator[ScriptedGrafana]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed)
    with ScriptedGrafana(403, b'{"message":"reached over TLS"}', "application/json", tls=context) as server:
        yield server


def test_tls_certificate_is_validated_against_ca_path(
        ansible: Ansible, tls_grafana: ScriptedGrafana, self_signed: tuple[Path, Path]) -> None:
    folder = {"url": tls_grafana.url, "uid": "labs", "title": "Labs"}
    refused = ansible.run("grafana_folder", retries=2, **folder)  # a refused certificate is not retried
    assert refused.failed
    assert refused.msg.startswith("folder 'labs': connection error ")
    assert "CERTIFICATE_VERIFY_FAILED" in refused.msg or "certificate" in refused.msg.lower()
    assert tls_grafana.requests == 0

    trusted = ansible.run("grafana_folder", ca_path=str(self_signed[0]), **folder)
    assert trusted.msg == "folder 'labs': HTTP 403 reached over TLS"
    unchecked = ansible.run("grafana_folder", validate_certs=False, **folder)
    assert unchecked.msg == "folder 'labs': HTTP 403 reached over TLS"


def test_connection_refused_is_one_line(ansible: Ansible) -> None:
    result = ansible.run("grafana_user", url="http://127.0.0.1:9", retries=1, login="alice", password="pw")
    assert result.failed
    assert "\n" not in result.msg
    assert result.msg.startswith("user 'alice': connection error ")


# -- spec violations fail the test ------------------------------------------------------------------


def test_fixture_fails_the_test_on_a_request_outside_the_spec(grafana: GrafanaDouble) -> None:
    reply = grafana.call("POST", "/api/datasources", {"name": 5, "type": "loki", "access": "proxy"})
    assert reply.status == 400
    assert grafana.violations()
    with pytest.raises(pytest.fail.Exception, match="spec violation"):
        grafana.assert_no_violations()
    grafana.reset()  # this test wanted the violation; don't fail it at teardown


def test_fixture_catches_a_wrongly_typed_field_sent_through_a_module_passthrough(
        ansible: Ansible, grafana: GrafanaDouble) -> None:
    # group_by must be a list of strings; a nested policy passes through as given.
    result = ansible.run("grafana_notification_policy", receiver="grafana-default-email",
                         routes=[{"receiver": "grafana-default-email", "group_by": "alertname"}])
    assert result.failed
    assert result.msg.startswith("notification policy: HTTP 400 ")
    assert any(v["path"] == "/api/v1/provisioning/policies" for v in grafana.violations())
    with pytest.raises(pytest.fail.Exception, match="spec violation"):
        grafana.assert_no_violations()
    grafana.reset()
