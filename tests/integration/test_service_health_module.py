# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run data2ai.grafana_stack.service_health through real ``ansible`` and ``ansible-playbook``.

The module is addressed by its FQCN from the repository root, exactly as the roles
use it. Every HTTP server is started by the test on an ephemeral 127.0.0.1 port.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from stack_testlib import ROOT, venv_bin

MODULE = "data2ai.grafana_stack.service_health"


# --------------------------------------------------------------------------
# A scripted HTTP server on 127.0.0.1
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptedReply:
    status: int = 200
    body: str = "ok"
    content_type: str = "text/plain; charset=utf-8"


@dataclass
class ScriptedEndpoint:
    """Answers with its replies in order, repeating the last one forever."""

    replies: Sequence[ScriptedReply]
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_reply(self) -> ScriptedReply:
        with self.lock:
            reply = self.replies[min(self.requests, len(self.replies) - 1)]
            self.requests += 1
        return reply


class LocalHealthServer:
    """A threading HTTP server on an ephemeral 127.0.0.1 port serving scripted paths."""

    def __init__(self) -> None:
        self.endpoints: dict[str, ScriptedEndpoint] = {}
        endpoints = self.endpoints

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                endpoint = endpoints.get(self.path)
                reply = endpoint.next_reply() if endpoint else ScriptedReply(404, "no such path")
                payload = reply.body.encode("utf-8")
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def serve(self, path: str, *replies: ScriptedReply) -> ScriptedEndpoint:
        endpoint = ScriptedEndpoint(replies=replies or (ScriptedReply(),))
        self.endpoints[path] = endpoint
        return endpoint

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"


@pytest.fixture
def server() -> Iterator[LocalHealthServer]:
    local = LocalHealthServer()
    local.thread.start()
    try:
        yield local
    finally:
        local.httpd.shutdown()
        local.httpd.server_close()


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A 127.0.0.1 port that is bound but not listening, so connections are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/-/ready"
    finally:
        sock.close()


# --------------------------------------------------------------------------
# Running Ansible
# --------------------------------------------------------------------------


@dataclass
class Run:
    process: subprocess.CompletedProcess
    result: dict[str, Any]

    @property
    def output(self) -> str:
        return self.process.stdout + self.process.stderr


def ansible_env(tmp_path: Path) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if key.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env.update(
        {
            # The module runs urllib on this machine: keep 127.0.0.1 off any proxy.
            "no_proxy": "127.0.0.1,localhost",
            "NO_PROXY": "127.0.0.1,localhost",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ansible-remote"),
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
        }
    )
    if not (ROOT / "ansible.cfg").exists():
        # Without the repo's ansible.cfg, resolve the FQCN through the symlinked tree.
        env["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / "collections")
    return env


def localhost_args() -> list[str]:
    return [
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
    ]


def run_module_in_playbook(tmp_path: Path, module_args: dict[str, Any], check: bool = False) -> Run:
    """Run the module in one task, register it and save the registered result as JSON."""
    result_file = tmp_path / "result.json"
    play = [
        {
            "name": "service_health under test",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Wait for the local endpoints",
                    MODULE: module_args,
                    "register": "health",
                    "ignore_errors": True,
                },
                {
                    "name": "Save the registered result for the test",
                    "ansible.builtin.copy": {
                        "content": "{{ health | to_nice_json }}",
                        "dest": str(result_file),
                        "mode": "0600",
                    },
                    # Runs even under --check, so the test can read the result.
                    "check_mode": False,
                },
            ],
        }
    ]
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(json.dumps(play, indent=2))  # JSON is YAML
    command = [venv_bin("ansible-playbook"), *localhost_args(), str(playbook)]
    if check:
        command.append("--check")
    process = subprocess.run(
        command,
        cwd=ROOT,
        env=ansible_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    return Run(process=process, result=json.loads(result_file.read_text()))


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


def test_services_ready_at_once_and_after_polls_report_time_to_ready(tmp_path: Path, server: LocalHealthServer) -> None:
    server.serve("/api/health", ScriptedReply(200, '{"database": "ok", "version": "double"}'))
    not_yet = ScriptedReply(503, "Ingester not ready: waiting for 15s after being ready")
    loki = server.serve("/ready", not_yet, not_yet, not_yet, ScriptedReply(200, "ready"))

    run = run_module_in_playbook(
        tmp_path,
        {
            "timeout": 20,
            "interval": 0.1,
            "checks": [
                {
                    "name": "grafana",
                    "url": server.url("/api/health"),
                    "json": {"database": "ok"},
                },
                {"name": "loki", "url": server.url("/ready"), "body_regex": "^ready"},
            ],
        },
    )

    result = run.result
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    assert result["unhealthy"] == []
    assert result["skipped_in_check_mode"] is False
    grafana, loki_result = result["services"]["grafana"], result["services"]["loki"]
    assert grafana["ready"] is True
    assert grafana["attempts"] == 1
    assert grafana["status"] == 200
    assert loki_result["ready"] is True
    assert loki_result["attempts"] == 4 == loki.requests
    assert isinstance(loki_result["time_to_ready"], float)
    assert loki_result["time_to_ready"] >= 0.3
    assert grafana["time_to_ready"] < loki_result["time_to_ready"]
    assert result["msg"].startswith("2 services ready in ")


def test_timeout_fails_with_one_readable_line_per_unhealthy_service(
    tmp_path: Path, server: LocalHealthServer, refused_url: str
) -> None:
    server.serve("/ready", ScriptedReply(503, "Ingester not ready: waiting for 15s after being ready"))
    server.serve("/api/health", ScriptedReply(200, '{"database": "failing"}'))
    server.serve("/-/healthy", ScriptedReply(200, "Healthy"))

    run = run_module_in_playbook(
        tmp_path,
        {
            "timeout": 1,
            "interval": 0.2,
            "checks": [
                {"name": "alertmanager", "url": server.url("/-/healthy")},
                {"name": "loki", "url": server.url("/ready")},
                {"name": "prometheus", "url": refused_url},
                {
                    "name": "grafana",
                    "url": server.url("/api/health"),
                    "json": {"database": "ok"},
                },
            ],
        },
    )

    result = run.result
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["unhealthy"] == ["loki", "prometheus", "grafana"]
    lines = result["msg"].splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("loki: not ready after 1s (")
    assert lines[0].endswith('HTTP 503 (expected 200), body: "Ingester not ready: waiting for 15s after being ready"')
    assert lines[1].startswith("prometheus: not ready after 1s (")
    assert lines[1].endswith(f"connection refused ({refused_url})")
    assert 'HTTP 200 but JSON field database = "failing", expected "ok"' in lines[2]
    assert result["services"]["alertmanager"]["ready"] is True
    assert result["services"]["prometheus"]["error"] == "connection refused"
    assert result["services"]["loki"]["status"] == 503
    # The failure is readable in the play output as well, not only in the result.
    assert "connection refused" in run.output
    assert "Ingester not ready" in run.output


def test_ad_hoc_run_exits_non_zero_when_a_service_is_down(tmp_path: Path, refused_url: str) -> None:
    module_args = {
        "timeout": 0.5,
        "interval": 0.1,
        "checks": [{"name": "prometheus", "url": refused_url}],
    }

    process = subprocess.run(
        [
            venv_bin("ansible"),
            "localhost",
            *localhost_args(),
            "-m",
            MODULE,
            "-a",
            json.dumps(module_args),
        ],
        cwd=ROOT,
        env=ansible_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert process.returncode == 2, process.stdout + process.stderr
    assert "prometheus: not ready after 0.5s" in process.stdout
    assert f"connection refused ({refused_url})" in process.stdout


def test_check_mode_probes_read_only_and_reports_no_change(tmp_path: Path, server: LocalHealthServer) -> None:
    endpoint = server.serve("/-/ready", ScriptedReply(200, "Prometheus Server is Ready."))

    run = run_module_in_playbook(
        tmp_path,
        {"checks": [{"name": "prometheus", "url": server.url("/-/ready")}]},
        check=True,
    )

    result = run.result
    assert result["changed"] is False
    assert result["skipped_in_check_mode"] is False
    assert result["services"]["prometheus"]["ready"] is True
    assert endpoint.requests == 1


def test_check_mode_without_probing_sends_no_request(tmp_path: Path, server: LocalHealthServer) -> None:
    endpoint = server.serve("/-/ready", ScriptedReply(503, "not ready"))

    run = run_module_in_playbook(
        tmp_path,
        {
            "check_mode_probe": False,
            "checks": [{"name": "prometheus", "url": server.url("/-/ready")}],
        },
        check=True,
    )

    result = run.result
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    assert result["skipped_in_check_mode"] is True
    assert result["services"] == {}
    assert endpoint.requests == 0


@pytest.mark.parametrize(
    ("module_args", "message"),
    [
        ({"checks": []}, "checks must list at least one service"),
        (
            {
                "checks": [
                    {"name": "loki", "url": "http://127.0.0.1:9/ready"},
                    {"name": "loki", "url": "http://127.0.0.1:9/ready"},
                ]
            },
            "duplicate check name 'loki' (checks[0] and checks[1])",
        ),
        (
            {"checks": [{"name": "loki", "url": "ftp://127.0.0.1/ready"}]},
            "url must start with http:// or https://",
        ),
        (
            {
                "timeout": 2,
                "interval": 5,
                "checks": [{"name": "loki", "url": "http://127.0.0.1:9/ready"}],
            },
            "interval (5s) is longer than timeout (2s)",
        ),
    ],
    ids=["empty", "duplicate-names", "bad-scheme", "interval-over-timeout"],
)
def test_invalid_options_fail_before_any_probe(tmp_path: Path, module_args: dict[str, Any], message: str) -> None:
    started = time.monotonic()
    run = run_module_in_playbook(tmp_path, module_args)

    assert run.result["failed"] is True
    assert message in run.result["msg"]
    assert "services" not in run.result
    assert time.monotonic() - started < 60


def test_password_never_appears_in_output_or_result(tmp_path: Path, server: LocalHealthServer) -> None:
    server.serve("/api/health", ScriptedReply(503, "login failed for admin with s3cr3t-pass"))

    run = run_module_in_playbook(
        tmp_path,
        {
            "timeout": 0.5,
            "interval": 0.1,
            "checks": [
                {
                    "name": "grafana",
                    "url": server.url("/api/health"),
                    "url_username": "admin",
                    "url_password": "s3cr3t-pass",
                }
            ],
        },
    )

    assert run.result["failed"] is True
    assert "s3cr3t-pass" not in run.output
    assert "s3cr3t-pass" not in json.dumps(run.result)
