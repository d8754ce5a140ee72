"""The Grafana TEST DOUBLE serves TLS when grafana.ini asks for it, as Grafana does.

Grafana: `[server] protocol = https` with `cert_file` and `cert_key` (pkg/setting/setting.go
readServerSettings); one listener that speaks TLS only; it refuses to start when a setting is empty, a
file is missing or the pair does not load (pkg/api/http_server.go readCertificates/configureHttps).
The double runs as a process here, exactly as the module tests start it.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

DOUBLE_DIR = Path(__file__).resolve().parents[1] / "doubles" / "grafana"
ADMIN = ("admin", "admin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, as the grafana role makes one per host."""
    if not shutil.which("openssl"):
        pytest.fail("openssl not found, needed to make a test certificate: bash scripts/host-prerequisites.sh",
                    pytrace=False)
    cert, key = tmp_path / "grafana.crt", tmp_path / "grafana.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=grafana",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def write_ini(tmp_path: Path, port: int, server: str) -> Path:
    ini = tmp_path / "grafana.ini"
    ini.write_text(f"[server]\nhttp_port = {port}\n{server}\n")
    return ini


def start(tmp_path: Path, ini: Path) -> subprocess.Popen[str]:
    command = [sys.executable, str(DOUBLE_DIR / "grafana_double.py"), "--host", "127.0.0.1", "--data-dir",
               str(tmp_path / "data"), "--config", str(ini), "--provisioning", str(tmp_path / "absent"),
               "--skip-backend-check"]
    return subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)


def wait_for_banner(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    deadline = time.monotonic() + 20
    seen = ""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen += line
        found = re.search(r"Listening on (https?://127\.0\.0\.1:\d+)", line)
        if found:
            return found.group(1)
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"double did not start:\n{seen}")


@pytest.fixture
def tls_double(tmp_path: Path, certificate: tuple[Path, Path]) -> Iterator[tuple[str, Path, Path]]:
    port = free_port()
    cert, key = certificate
    ini = write_ini(tmp_path, port, f"protocol = https\ncert_file = {cert}\ncert_key = {key}")
    process = start(tmp_path, ini)
    try:
        yield wait_for_banner(process), cert, ini
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_https_double_answers_over_tls_verified_with_its_certificate(tls_double: tuple[str, Path, Path]) -> None:
    url, cert, _ini = tls_double
    assert url.startswith("https://")
    reply = requests.get(url + "/api/health", verify=str(cert), timeout=10)
    assert reply.status_code == 200
    assert reply.json()["database"] == "ok"
    assert requests.get(url + "/api/user", auth=ADMIN, verify=str(cert), timeout=10).json()["login"] == "admin"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url + "/api/health", timeout=10)  # the system CAs do not know the self-signed certificate


def test_https_double_gives_plain_http_no_answer(tls_double: tuple[str, Path, Path]) -> None:
    url, cert, _ini = tls_double
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url.replace("https://", "http://") + "/api/health", timeout=10)
    # The failed handshake does not take the server down.
    assert requests.get(url + "/api/health", verify=str(cert), timeout=10).ok


def test_cli_resets_the_admin_password_of_an_https_double(tls_double: tuple[str, Path, Path], tmp_path: Path) -> None:
    url, cert, ini = tls_double
    assert url.startswith("https://")  # the CLI must reach the running double over TLS, as it serves nothing else
    command = [sys.executable, str(DOUBLE_DIR / "grafana_double.py"), "cli", "--homepath", str(tmp_path / "home"),
               "--config", str(ini), "admin", "reset-admin-password", "--password-from-stdin"]
    env = {**os.environ, "GF_PATHS_DATA": str(tmp_path / "data")}
    done = subprocess.run(command, input="rotated-pw\n", env=env, capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert requests.get(url + "/api/user", auth=("admin", "rotated-pw"), verify=str(cert), timeout=10).ok


@pytest.mark.parametrize(("server", "message"), [
    ("protocol = https", "cert_file cannot be empty when using HTTPS"),
    ("protocol = https\ncert_file = {cert}", "cert_key cannot be empty when using HTTPS"),
    ("protocol = https\ncert_file = {tmp}/missing.crt\ncert_key = {key}",
     'cannot find SSL cert_file at "{tmp}/missing.crt"'),
    ("protocol = https\ncert_file = {cert}\ncert_key = {tmp}/missing.key",
     'cannot find SSL key_file at "{tmp}/missing.key"'),
    ("protocol = https\ncert_file = {cert}\ncert_key = {cert}", "could not load SSL certificate"),
])
def test_https_double_refuses_to_start_without_a_usable_certificate(
        tmp_path: Path, certificate: tuple[Path, Path], server: str, message: str) -> None:
    cert, key = certificate
    values = {"cert": cert, "key": key, "tmp": tmp_path}
    ini = write_ini(tmp_path, free_port(), server.format(**values))
    process = start(tmp_path, ini)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert message.format(**values) in err
    assert "Listening on" not in err
