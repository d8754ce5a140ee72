"""service_health's container checks against real containers on this host's Docker engine."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest
from stack_testlib import DOCKER, ROOT, venv_bin
from stack_testlib import TEST_LABEL as LABEL


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, check=check)


@pytest.fixture
def names():
    made: list[str] = []

    def make(kind: str) -> str:
        made.append(f"gsttest-sh-{kind}-{uuid.uuid4().hex[:6]}")
        return made[-1]

    yield make
    if made:
        _docker("rm", "-f", *made, check=False)


def _run_module(checks: list[dict], timeout: float = 20) -> tuple[int, dict]:
    args = json.dumps({"checks": checks, "timeout": timeout, "interval": 0.5, "log_lines": 3})
    proc = subprocess.run(
        [venv_bin("ansible"), "localhost", "-c", "local", "-m", "data2ai.grafana_stack.service_health", "-a", args,
         "-e", "ansible_python_interpreter={{ ansible_playbook_python }}", "-o"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    out = proc.stdout.split("=>", 1)[-1].strip()
    return proc.returncode, json.loads(out)


def test_container_with_a_healthy_docker_healthcheck_is_ready(names):
    name = names("redis")
    _docker("run", "-d", "--name", name, "--label", LABEL, "--health-cmd", "redis-cli ping | grep -q PONG",
            "--health-interval", "1s", "data2ai-test/redis:local")
    rc, result = _run_module([{"name": "redis", "container": name}])
    assert rc == 0, result
    assert result["services"]["redis"]["ready"] is True


def test_stopped_container_fails_naming_its_state_and_last_log_lines(names):
    name = names("stopped")
    _docker("run", "--name", name, "--label", LABEL, "--entrypoint", "sh", "data2ai-test/redis:local",
            "-c", "echo first line; echo boom-marker-line; exit 3", check=False)
    rc, result = _run_module([{"name": "cache", "container": name}], timeout=2)
    assert rc != 0
    assert "cache: not ready" in result["msg"]
    assert "exited (exit code 3)" in result["msg"]
    assert "boom-marker-line" in result["msg"]


def test_missing_container_is_reported_as_missing():
    rc, result = _run_module([{"name": "ghost", "container": "gsttest-sh-does-not-exist"}], timeout=1)
    assert rc != 0
    assert "no container named gsttest-sh-does-not-exist" in result["msg"]


def test_port_check_probes_the_container_address_over_http(names):
    name = names("prom")
    _docker("run", "-d", "--name", name, "--label", LABEL, "data2ai-test/prometheus:local")
    rc, result = _run_module([{"name": "prometheus", "container": name, "port": 9090, "path": "/-/ready"}], timeout=30)
    assert rc == 0, result
    assert result["services"]["prometheus"]["status"] == 200


def test_port_check_on_a_closed_port_fails_with_the_connection_error(names):
    name = names("prom")
    _docker("run", "-d", "--name", name, "--label", LABEL, "data2ai-test/prometheus:local")
    rc, result = _run_module([{"name": "prometheus", "container": name, "port": 9999, "path": "/-/ready"}], timeout=2)
    assert rc != 0
    assert "prometheus: not ready" in result["msg"]
    assert "refused" in result["msg"]
