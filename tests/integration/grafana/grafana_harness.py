# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Harness for the Grafana API module tests: the Grafana TEST DOUBLE and ansible-playbook.

The double (tests/doubles/grafana/grafana_double.py) is started once per session on an ephemeral
127.0.0.1 port. Before each test its state is reset; after each test the spec violations it
recorded are fetched, and any violation fails the test.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from stack_testlib import ROOT as REPO_ROOT
from stack_testlib import free_port, venv_bin

DOUBLE_SCRIPT = REPO_ROOT / "tests" / "doubles" / "grafana" / "grafana_double.py"
COLLECTION = "data2ai.grafana_stack"
ADMIN = ("admin", "admin")

# --------------------------------------------------------------------------
# The Grafana TEST DOUBLE
# --------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    body: Any


class GrafanaDouble:
    """The running Grafana TEST DOUBLE and a small direct API client for assertions."""

    def __init__(self, url: str, process: subprocess.Popen, log_path: Path) -> None:
        self.url = url
        self.process = process
        self.log_path = log_path

    def call(self, method: str, path: str, body: Any = None, org_id: int | None = None,
             auth: tuple[str, str] | None = ADMIN, token: str | None = None,
             headers: dict[str, str] | None = None, raw: bytes | None = None) -> Reply:
        """One request straight to the double (not through a module)."""
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        elif auth:
            sent["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
        if org_id is not None:
            sent["X-Grafana-Org-Id"] = str(org_id)
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=sent)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=10) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        try:
            decoded = json.loads(payload) if payload else None
        except ValueError:
            decoded = payload.decode(errors="replace")
        return Reply(status, decoded)

    def get(self, path: str, org_id: int | None = None) -> Any:
        """The decoded body of a GET, or None on 404; anything else is an error of the test."""
        reply = self.call("GET", path, org_id=org_id)
        if reply.status == 404:
            return None
        assert reply.status == 200, f"GET {path}: {reply.status} {reply.body}"
        return reply.body

    def served(self) -> list[dict[str, Any]]:
        """The requests the double answered since the last reset: method, path, route, status."""
        reply = self.call("GET", "/__double__/requests", auth=None)
        assert reply.status == 200, reply
        return reply.body

    def version(self) -> str:
        return str(self.get("/api/health")["version"])

    def violations(self) -> list[dict[str, Any]]:
        reply = self.call("GET", "/__double__/violations", auth=None)
        assert reply.status == 200, reply
        return reply.body

    def reset(self) -> None:
        reply = self.call("POST", "/__double__/reset", auth=None)
        assert reply.status == 200, reply

    def assert_no_violations(self) -> None:
        """Fail the running test if the double saw any request or response outside the spec."""
        found = self.violations()
        if found:
            lines = "\n".join(json.dumps(v, sort_keys=True) for v in found)
            pytest.fail(f"the Grafana test double recorded {len(found)} spec violation(s):\n{lines}",
                        pytrace=False)

    # -- fixtures of the tests, made through the API -------------------------------------------
    def create_org(self, name: str) -> int:
        reply = self.call("POST", "/api/orgs", {"name": name})
        assert reply.status == 200, reply
        return reply.body["orgId"]

    def create_user(self, login: str, password: str = "secret-pw-1") -> int:
        body = {"login": login, "email": f"{login}@example.org", "name": login.title(), "password": password}
        reply = self.call("POST", "/api/admin/users", body)
        assert reply.status == 200, reply
        return reply.body["id"]

    def create_folder(self, uid: str, title: str, org_id: int | None = None, parent_uid: str | None = None) -> None:
        body = {"uid": uid, "title": title}
        if parent_uid:
            body["parentUid"] = parent_uid
        reply = self.call("POST", "/api/folders", body, org_id=org_id)
        assert reply.status == 200, reply

    def tail_log(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def org_id(grafana: GrafanaDouble, name: str) -> int | None:
    """The id of the organisation called ``name`` in the double, None when there is none."""
    org = grafana.get(f"/api/orgs/name/{name}")
    return org["id"] if org else None


def start_grafana_double(workdir: Path, *options: str) -> GrafanaDouble:
    """Starts the Grafana TEST DOUBLE as a process on a free 127.0.0.1 port, its state and log under ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GF_")}
    command = [sys.executable, str(DOUBLE_SCRIPT), "--host", "127.0.0.1", "--port", str(port),
               "--data-dir", str(workdir / "data"), "--skip-backend-check",
               "--config", str(workdir / "grafana.ini"), "--provisioning", str(workdir / "provisioning"), *options]
    log_path = workdir / "double.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)
    return GrafanaDouble(f"http://127.0.0.1:{port}", process, log_path)


@contextmanager
def running_grafana_doubles(*workdirs: Path, options: tuple[str, ...] = ()) -> Iterator[list[GrafanaDouble]]:
    """One healthy Grafana TEST DOUBLE per directory (the test fails with the log's end if one is not), stopped
    afterwards."""
    started = [start_grafana_double(workdir, *options) for workdir in workdirs]
    try:
        for double in started:
            try:
                wait_until_healthy(double.url, double.process)
            except RuntimeError as exc:
                pytest.fail(f"{exc}\n{double.tail_log()}")
        yield started
    finally:
        for double in started:
            double.stop()


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Grafana test double exited with {process.returncode}")
        try:
            with opener.open(url + "/api/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError("the Grafana test double did not become healthy in time")


# --------------------------------------------------------------------------
# ansible-playbook
# --------------------------------------------------------------------------


@dataclass
class TaskResult:
    """What one task of a playbook run returned (the registered result)."""

    data: dict[str, Any]
    output: str

    @property
    def changed(self) -> bool:
        return bool(self.data.get("changed"))

    @property
    def failed(self) -> bool:
        return bool(self.data.get("failed"))

    @property
    def msg(self) -> str:
        return str(self.data.get("msg", ""))

    @property
    def diff(self) -> dict[str, Any]:
        diff = self.data.get("diff") or {}
        return diff[0] if isinstance(diff, list) else diff

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


class Ansible:
    """Runs the collection's modules through ansible-playbook, one playbook per call."""

    def __init__(self, double: GrafanaDouble, workdir: Path) -> None:
        self.double = double
        self.workdir = workdir
        self.count = 0

    def connection(self, **overrides: Any) -> dict[str, Any]:
        args: dict[str, Any] = {"url": self.double.url, "url_username": ADMIN[0], "url_password": ADMIN[1],
                                "retries": 0}
        args.update(overrides)
        return args

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k.lower() not in ("http_proxy", "https_proxy", "all_proxy") and not k.startswith("GRAFANA_")}
        env.update({
            "no_proxy": "127.0.0.1,localhost",
            "NO_PROXY": "127.0.0.1,localhost",
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCAL_TEMP": str(self.workdir / "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": str(self.workdir / "ansible-remote"),
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
        })
        if not (REPO_ROOT / "ansible.cfg").exists():
            env["ANSIBLE_COLLECTIONS_PATH"] = str(REPO_ROOT / "collections")
        return env

    def write_playbook(self, tasks: list[dict[str, Any]], module_defaults: dict[str, Any] | None = None) -> Path:
        self.count += 1
        play: list[dict[str, Any]] = [{
            "name": "Grafana API modules under test",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {"ansible_python_interpreter": sys.executable},
            "tasks": tasks,
        }]
        if module_defaults:
            play[0]["module_defaults"] = module_defaults
        path = self.workdir / f"playbook-{self.count:03d}.yml"
        path.write_text(json.dumps(play, indent=2))  # JSON is YAML
        return path

    def command(self, playbook: Path, check: bool, diff: bool) -> list[str]:
        command = [venv_bin("ansible-playbook"), "-i", "localhost,", str(playbook)]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        return command

    def task(self, module: str, args: dict[str, Any], connection: bool = True) -> dict[str, Any]:
        full = self.connection(**args) if connection else dict(args)
        return {"name": f"{module} under test", f"{COLLECTION}.{module}": full, "ignore_errors": True}

    def start(self, tasks: list[dict[str, Any]], check: bool = False, diff: bool = True,
              module_defaults: dict[str, Any] | None = None) -> subprocess.Popen:
        """Start ansible-playbook without waiting (for tests of parallel runs)."""
        playbook = self.write_playbook(tasks, module_defaults)
        return subprocess.Popen(self.command(playbook, check, diff), cwd=REPO_ROOT, env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @staticmethod
    def results(process: subprocess.Popen, timeout: float = 180) -> list[TaskResult]:
        stdout, stderr = process.communicate(timeout=timeout)
        output = stdout + stderr
        try:
            report = json.loads(stdout)
        except ValueError:
            raise AssertionError(f"ansible-playbook did not print JSON (rc={process.returncode}):\n{output}") from None
        results = []
        for play in report["plays"]:
            for task in play["tasks"]:
                results.append(TaskResult(task["hosts"]["localhost"], output))
        return results

    def play(self, tasks: list[dict[str, Any]], check: bool = False, diff: bool = True,
             module_defaults: dict[str, Any] | None = None) -> list[TaskResult]:
        return self.results(self.start(tasks, check=check, diff=diff, module_defaults=module_defaults))

    def run(self, module: str, check: bool = False, diff: bool = True, **args: Any) -> TaskResult:
        """Run one module with the double's connection options; return its result."""
        (result,) = self.play([self.task(module, args)], check=check, diff=diff)
        return result
