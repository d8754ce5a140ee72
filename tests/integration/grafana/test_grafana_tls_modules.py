# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The grafana_* modules against a Grafana served over TLS (the TEST DOUBLE with ``[server] protocol = https``, as
the grafana role configures it with grafana_tls): ``ca_path`` trusts the self-signed certificate, and without it the
certificate is refused, in one line, and nothing is sent."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from grafana_harness import Ansible, GrafanaDouble, start_grafana_double


@pytest.fixture
def tls_double(tmp_path: Path) -> Iterator[tuple[GrafanaDouble, Path]]:
    if not shutil.which("openssl"):
        pytest.fail("openssl not found, needed to make a test certificate: bash scripts/host-prerequisites.sh",
                    pytrace=False)
    workdir = tmp_path / "tls-double"
    workdir.mkdir()
    cert, key = workdir / "grafana.crt", workdir / "grafana.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=grafana",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:grafana", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    (workdir / "grafana.ini").write_text(f"[server]\nprotocol = https\ncert_file = {cert}\ncert_key = {key}\n")
    plain = start_grafana_double(workdir)
    double = GrafanaDouble(plain.url.replace("http://", "https://"), plain.process, plain.log_path)
    context = ssl.create_default_context(cafile=str(cert))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    deadline = time.monotonic() + 30
    while True:
        try:
            with opener.open(double.url + "/api/health", timeout=2) as reply:
                if reply.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline or double.process.poll() is not None:
                double.stop()
                pytest.fail(f"the https double did not start:\n{double.tail_log()}")
            time.sleep(0.2)
    try:
        yield double, cert
    finally:
        double.stop()


def test_module_trusts_grafanas_certificate_with_ca_path(
        tls_double: tuple[GrafanaDouble, Path], tmp_path: Path) -> None:
    double, cert = tls_double
    ansible = Ansible(double, tmp_path)
    folder = {"uid": "tls-labs", "title": "TLS labs", "ca_path": str(cert)}
    checked = ansible.run("grafana_folder", check=True, **folder)
    assert checked.changed and not checked.failed, checked.msg
    created = ansible.run("grafana_folder", **folder)
    assert created.changed and not created.failed, created.msg
    again = ansible.run("grafana_folder", **folder)
    assert not again.changed and not again.failed, again.msg


def test_module_refuses_the_certificate_without_ca_path(tls_double: tuple[GrafanaDouble, Path], tmp_path: Path) -> None:
    double, cert = tls_double
    ansible = Ansible(double, tmp_path)
    refused = ansible.run("grafana_folder", retries=2, uid="tls-labs", title="TLS labs")
    assert refused.failed
    assert "\n" not in refused.msg
    assert refused.msg.startswith("folder 'tls-labs': connection error ")
    assert "CERTIFICATE_VERIFY_FAILED" in refused.msg or "certificate" in refused.msg.lower()
    absent = ansible.run("grafana_folder", ca_path=str(cert), uid="tls-labs", state="absent")
    assert not absent.failed, absent.msg
    assert not absent.changed, "the refused run created the folder"
