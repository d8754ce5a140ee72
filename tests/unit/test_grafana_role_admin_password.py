# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The grafana role's admin password reset, run as the role runs it, against the Grafana TEST DOUBLE.

The exact command of roles/grafana/tasks/main.yml is taken apart: its `docker exec -i <container>` prefix
is dropped and the rest runs through the double image's own `grafana` wrapper
(tests/doubles/grafana/image/grafana), with the environment the image's Dockerfile sets, against a double
serving the role's rendered grafana.ini. Absolute paths inside the container are mapped under a temporary
root, the way the container's mounts would put them.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests
import yaml
from role_rendering import render_role_template

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "grafana"
DOUBLE_DIR = REPO / "tests" / "doubles" / "grafana"
RESET_TASK = "Reset the admin password to the configured one"
DOCKER_EXEC = re.compile(r"^docker exec -i (?:\{\{.*?\}\}|\S+) ")
ROTATED = "rotated-admin-pw"


def role_reset_command() -> str:
    """The reset task's command line, as Ansible would run it (folded YAML, Jinja left in the container name)."""
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    (task,) = [t for t in tasks if t.get("name") == RESET_TASK]
    return " ".join(str(task["ansible.builtin.command"]["cmd"]).split())


def image_env() -> dict[str, str]:
    """The GF_* variables of the double's Dockerfile ENV instruction (the same ones grafana/grafana sets)."""
    text = (DOUBLE_DIR / "Dockerfile").read_text()
    return dict(re.findall(r'(GF_[A-Z_]+)="([^"]*)"', text))


def in_root(root: Path, value: str) -> str:
    """A container path mapped under ``root``; other values unchanged."""
    return str(root / value.lstrip("/")) if value.startswith("/") else value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def render_role_ini(root: Path, port: int) -> Path:
    """roles/grafana/templates/grafana.ini.j2 as the role writes it to /etc/grafana/grafana.ini."""
    # Rendered by ansible-playbook with the role's defaults and vars, as the role does (grafana.ini is made from data).
    work = root.parent / "render"
    work.mkdir(exist_ok=True)
    text = render_role_template("grafana", "grafana.ini.j2", work, {
        "grafana_root_url": f"http://127.0.0.1:{port}/",
        # A host no other double shares: the double's cli matches servers by their database.
        "grafana_database_host": f"role-cli-test-{port}:5432",
        "grafana_database_name": "grafana",
        "grafana_database_user": "grafana",
        "grafana_remote_cache_address": "redis:6379",
        "grafana_remote_cache_password": "",
        "grafana_admin_user": "admin",
        "grafana_anonymous_enabled": False,
        "grafana_allow_sign_up": False,
    })
    # The role publishes port 3000 of the container; here the double listens on a free port of the host.
    text = re.sub(r"(?m)^http_port = \d+$", f"http_port = {port}", text)
    text = text.replace("/etc/grafana/", in_root(root, "/etc/grafana/") + "/")
    secrets = root / "etc" / "grafana" / "secrets"
    secrets.mkdir(parents=True)
    # The files the role's "Write the secrets grafana.ini reads" and admin password tasks write.
    for name, value in (("database_password", "db-pw"), ("admin_password", "admin"), ("remote_cache_password", ""),
                        ("secret_key", "role-cli-test-secret-key")):
        (secrets / name).write_text(value)
    ini = root / "etc" / "grafana" / "grafana.ini"
    ini.write_text(text)
    return ini


@pytest.fixture
def container(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A double serving the role's grafana.ini, its paths under tmp_path; yields (root, url)."""
    root = tmp_path / "root"
    port = free_port()
    ini = render_role_ini(root, port)
    data = Path(in_root(root, image_env()["GF_PATHS_DATA"]))
    command = [sys.executable, str(DOUBLE_DIR / "grafana_double.py"), "--host", "127.0.0.1",
               "--config", str(ini), "--data-dir", str(data), "--provisioning", str(tmp_path / "provisioning"),
               "--skip-backend-check"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GF_")}
    log = (tmp_path / "double.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield root, url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, "the double exited"
        try:
            if requests.get(url + "/api/health", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError("the double did not become healthy")


def run_in_container(root: Path, command: str, stdin: str) -> subprocess.CompletedProcess:
    """``docker exec -i <container> <argv>`` without Docker: the image's `grafana` wrapper, env and paths."""
    argv = shlex.split(DOCKER_EXEC.sub("", command))
    assert argv[0] == "grafana", argv
    env = {k: v for k, v in os.environ.items() if not k.startswith("GF_")}
    env.update({k: in_root(root, v) for k, v in image_env().items()})
    env.update(GRAFANA_DOUBLE_PYTHON=sys.executable, GRAFANA_DOUBLE_DIR=str(DOUBLE_DIR))
    workdir = Path(in_root(root, "/usr/share/grafana"))  # the image's WORKDIR
    workdir.mkdir(parents=True, exist_ok=True)
    args = [in_root(root, arg) for arg in argv[1:]]
    return subprocess.run(["sh", str(DOUBLE_DIR / "image" / "grafana"), *args], input=stdin, env=env, cwd=workdir,
                          capture_output=True, text=True, timeout=60, check=False)


def test_role_reset_command_puts_global_flags_before_the_subcommand() -> None:
    argv = shlex.split(DOCKER_EXEC.sub("", role_reset_command()))
    assert argv[:2] == ["grafana", "cli"]
    admin = argv.index("admin")
    assert argv.index("--config") < admin and argv.index("--homepath") < admin
    assert argv[argv.index("--config") + 1] == "/etc/grafana/grafana.ini"
    assert argv[admin:] == ["admin", "reset-admin-password", "--password-from-stdin"]


def test_role_reset_command_rotates_the_password_the_api_accepts(container: tuple[Path, str]) -> None:
    root, url = container
    assert requests.get(url + "/api/user", auth=("admin", ROTATED), timeout=10).status_code == 401
    done = run_in_container(root, role_reset_command(), stdin=ROTATED + "\n")
    assert done.returncode == 0, done.stderr
    assert requests.get(url + "/api/user", auth=("admin", ROTATED), timeout=10).ok
    assert requests.get(url + "/api/user", auth=("admin", "admin"), timeout=10).status_code == 401


def test_reset_without_config_leaves_the_api_password_unchanged(container: tuple[Path, str]) -> None:
    """The role's former command: it succeeds, but on the CLI's own SQLite database."""
    root, url = container
    former = role_reset_command().replace(" --config /etc/grafana/grafana.ini", "")
    assert "--config" not in former
    done = run_in_container(root, former, stdin=ROTATED + "\n")
    assert done.returncode == 0, done.stderr
    assert requests.get(url + "/api/user", auth=("admin", ROTATED), timeout=10).status_code == 401
