# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the Grafana API modules, run through ansible-playbook against the Grafana TEST DOUBLE.

The double (tests/doubles/grafana/grafana_double.py) is started once per session on an ephemeral
127.0.0.1 port. Before each test its state is reset; after each test the spec violations it
recorded are fetched, and any violation fails the test.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from grafana_harness import (
    ANSIBLE_PLAYBOOK,
    DOUBLE_SCRIPT,
    REPO_ROOT,
    VENV_BIN,
    Ansible,
    GrafanaDouble,
    free_port,
    wait_until_healthy,
)

if not ANSIBLE_PLAYBOOK.exists() or not DOUBLE_SCRIPT.exists():
    pytest.skip(f"needs {ANSIBLE_PLAYBOOK} and the Grafana test double", allow_module_level=True)


@pytest.fixture(scope="session")
def grafana_double(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GrafanaDouble]:
    """One Grafana TEST DOUBLE for the session, on a free 127.0.0.1 port."""
    workdir = tmp_path_factory.mktemp("grafana-double")
    port = free_port()
    log_path = workdir / "double.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GF_")}
    command = [str(VENV_BIN / "python"), str(DOUBLE_SCRIPT), "--host", "127.0.0.1", "--port", str(port),
               "--data-dir", str(workdir / "data"), "--skip-backend-check",
               "--config", str(workdir / "grafana.ini"), "--provisioning", str(workdir / "provisioning")]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)
    double = GrafanaDouble(f"http://127.0.0.1:{port}", process, log_path)
    try:
        try:
            wait_until_healthy(double.url, process)
        except RuntimeError as exc:
            pytest.fail(f"{exc}\n{double.tail_log()}")
        yield double
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(autouse=True)
def grafana(grafana_double: GrafanaDouble) -> Iterator[GrafanaDouble]:
    """The double, reset before the test; any spec violation recorded during the test fails it."""
    grafana_double.reset()
    yield grafana_double
    grafana_double.assert_no_violations()


@pytest.fixture
def ansible(grafana: GrafanaDouble, tmp_path: Path) -> Ansible:
    return Ansible(grafana, tmp_path)
