"""The grafana role with grafana_tls: true, on the Grafana TEST DOUBLE image (which serves TLS as Grafana does when
grafana.ini says `[server] protocol = https`), with the postgresql and redis roles on their real test images.

Shows: a self-signed certificate made per host and kept on the controller; https answers and verifies with that
certificate as the CA file, plain http gets no answer; the key reaches Grafana as a 0400 file of uid 472, never in
the container's environment; a second converge changes nothing; a grafana_* module trusts the certificate with
ca_path and refuses it without.

Everything the test creates is named ``gsttest-tl-*`` and labelled ``data2ai.grafana_stack.test=1``, on its own
network (10.218.x); cleanup removes exactly that, before and after, even when a test fails.
"""

from __future__ import annotations

import json
import os
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml
from stack_testlib import (
    NO_PROXY,
    PlaybookRun,
    docker,
    free_port,
    free_subnet,
    local_stack_vars,
    play_run,
    remove_labelled,
    require_images,
    write_local_inventory,
    write_roles_play,
)

PREFIX = "gsttest-tl-"
IMAGES = {
    "grafana_image": os.environ.get("GSTTEST_GRAFANA_IMAGE", "data2ai-test/grafana-double:local"),
    "postgresql_image": os.environ.get("GSTTEST_POSTGRES_IMAGE", "data2ai-test/postgres:local"),
    "redis_image": os.environ.get("GSTTEST_REDIS_IMAGE", "data2ai-test/redis:local"),
}
ADMIN_PASSWORD = "gsttest-tl-admin-pw"

pytestmark = pytest.mark.docker


@dataclass
class TlsStack:
    workdir: Path
    port: int
    first_run: PlaybookRun

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        """The self-signed certificate the controller keeps for the host."""
        return self.workdir / "credentials" / "localhost" / "grafana_tls.crt"

    @property
    def config_dir(self) -> Path:
        return self.workdir / "stack" / "grafana"

    def play(self, name: str, tasks: list[dict]) -> Path:
        path = self.workdir / f"{name}.yml"
        path.write_text(yaml.safe_dump([{"name": name, "hosts": "localhost", "gather_facts": False,
                                         "tasks": tasks}], sort_keys=False))
        return path

    def run(self, playbook: Path, *extra: str) -> PlaybookRun:
        """``playbook``, a file in the work directory, with the stack's inventory."""
        return play_run(self.workdir, *extra, play=playbook.name, env=NO_PROXY)

    def converge(self, *extra: str) -> PlaybookRun:
        return self.run(self.workdir / "converge.yml", *extra)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsStack]:
    require_images(*IMAGES.values())
    remove_labelled(PREFIX)
    workdir = tmp_path_factory.mktemp("grafana-tls")
    port = free_port()
    write_local_inventory(workdir, {
        **local_stack_vars(workdir, PREFIX, free_subnet("10.218", range(0, 100))),
        "stack_bind_address": "127.0.0.1",
        "grafana_host_port": port,
        "grafana_admin_password": ADMIN_PASSWORD,
        "grafana_tls": True,
        **IMAGES,
    })
    write_roles_play(workdir / "converge.yml", "The grafana role over TLS, on PostgreSQL and Redis",
                     list(IMAGES.values()), ["postgresql", "redis", "grafana"])
    try:
        first = TlsStack(workdir, port, None).converge("-v")  # type: ignore[arg-type]
        first.assert_ok()
        yield TlsStack(workdir, port, first)
    finally:
        remove_labelled(PREFIX)


def test_https_answers_with_the_kept_certificate_as_ca_file(stack: TlsStack) -> None:
    reply = requests.get(stack.url + "/api/health", verify=str(stack.ca_file), timeout=10)
    assert reply.status_code == 200
    assert reply.json()["database"] == "ok"
    user = requests.get(stack.url + "/api/user", auth=("admin", ADMIN_PASSWORD), verify=str(stack.ca_file), timeout=10)
    assert user.status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(stack.url + "/api/health", timeout=10)  # the system's CAs do not know it


def test_plain_http_is_refused(stack: TlsStack) -> None:
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{stack.port}/api/health", timeout=10)


def test_certificate_names_the_api_address_and_the_public_host(stack: TlsStack) -> None:
    pem = stack.ca_file.read_text()
    decoded = ssl._ssl._test_decode_cert(str(stack.ca_file))  # type: ignore[attr-defined]
    names = {value for _kind, value in decoded["subjectAltName"]}
    assert {"127.0.0.1", "grafana", "localhost"} <= names
    assert "PRIVATE KEY" not in pem


def test_grafana_ini_asks_for_https_and_secure_cookies(stack: TlsStack) -> None:
    ini = (stack.config_dir / "grafana.ini").read_text()
    assert "protocol = https" in ini
    assert "cert_file = /etc/grafana/grafana.crt" in ini
    assert "cert_key = /etc/grafana/secrets/tls_key" in ini
    assert "cookie_secure = true" in ini
    assert "root_url = https://" in ini


def test_key_is_a_0400_file_of_grafanas_uid_and_not_in_the_environment(stack: TlsStack) -> None:
    key = stack.config_dir / "secrets" / "tls_key"
    info = key.stat()
    assert (info.st_uid, oct(info.st_mode & 0o777)) == (472, "0o400")
    kept = stack.workdir / "credentials" / "localhost" / "grafana_tls.key"
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    assert key.read_text() == kept.read_text()
    inspect = json.loads(docker("inspect", f"{PREFIX}grafana", check=True).stdout)[0]
    body = kept.read_text().strip().splitlines()[1]
    assert body not in json.dumps(inspect)
    assert not any(var.startswith(("GF_SERVER_CERT", "GF_SERVER_PROTOCOL")) for var in inspect["Config"]["Env"])


def test_second_converge_changes_nothing(stack: TlsStack) -> None:
    again = stack.converge()
    again.assert_ok()
    assert again.recap["changed"] == 0, again.changed_tasks


def test_grafana_module_trusts_the_certificate_with_ca_path_and_refuses_it_without(stack: TlsStack) -> None:
    connection = {"url": stack.url, "url_username": "admin", "url_password": ADMIN_PASSWORD}
    play = stack.play("module-ca-path", [
        {"name": "With the CA file", "data2ai.grafana_stack.grafana_folder": {
            **connection, "ca_path": str(stack.ca_file), "uid": "tls-check", "title": "TLS check"}},
        {"name": "Without it", "data2ai.grafana_stack.grafana_folder": {
            **connection, "uid": "tls-check-2", "title": "TLS check 2"},
         "register": "without", "ignore_errors": True},
        {"name": "Without it, the certificate is refused", "ansible.builtin.assert": {"that": [
            "without is failed", "'CERTIFICATE_VERIFY_FAILED' in without.msg or 'certificate' in without.msg"]}},
    ])
    run = stack.run(play)
    run.assert_ok()
    folder = requests.get(stack.url + "/api/folders/tls-check", auth=("admin", ADMIN_PASSWORD),
                          verify=str(stack.ca_file), timeout=10)
    assert folder.status_code == 200
    missing = requests.get(stack.url + "/api/folders/tls-check-2", auth=("admin", ADMIN_PASSWORD),
                           verify=str(stack.ca_file), timeout=10)
    assert missing.status_code == 404


def test_dockers_own_healthcheck_passes_over_https(stack: TlsStack) -> None:
    """The container's healthcheck (busybox wget on loopback) speaks https too, or Docker would call it unhealthy."""
    deadline = time.monotonic() + 90
    status = ""
    while time.monotonic() < deadline:
        status = docker("inspect", "-f", "{{.State.Health.Status}}", f"{PREFIX}grafana", check=True).stdout.strip()
        if status == "healthy":
            break
        time.sleep(2)
    assert status == "healthy"
