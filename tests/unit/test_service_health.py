# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/module_utils/health.py against small HTTP servers on 127.0.0.1.

Every server here is started by the test itself on an ephemeral port of 127.0.0.1;
no request leaves the machine.
"""

from __future__ import annotations

import importlib
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.error import URLError

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# collections/ansible_collections/data2ai/grafana_stack is a symlink to the repo root,
# so the checkout imports under its FQCN like an installed collection.
if str(REPO_ROOT / "collections") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "collections"))
health = importlib.import_module("ansible_collections.data2ai.grafana_stack.plugins.module_utils.health")

FAST = {"interval": 0.05, "request_timeout": 2.0}


# --------------------------------------------------------------------------
# A scripted HTTP server on 127.0.0.1
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = "ok"
    content_type: str = "text/plain; charset=utf-8"
    delay: float = 0.0


@dataclass
class ScriptedEndpoint:
    """Answers with its replies in order, repeating the last one forever."""

    replies: Sequence[Reply]
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_reply(self) -> Reply:
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
            def _answer(self, with_body: bool) -> None:
                endpoint = endpoints.get(self.path)
                reply = endpoint.next_reply() if endpoint else Reply(404, "no such path")
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.body.encode("utf-8")
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if with_body:
                    self.wfile.write(payload)

            def do_GET(self) -> None:
                self._answer(with_body=True)

            def do_HEAD(self) -> None:
                self._answer(with_body=False)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def serve(self, path: str, *replies: Reply) -> ScriptedEndpoint:
        endpoint = ScriptedEndpoint(replies=replies or (Reply(),))
        self.endpoints[path] = endpoint
        return endpoint

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep urllib from sending 127.0.0.1 traffic to a proxy from the environment."""
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def server() -> Iterator[LocalHealthServer]:
    local = LocalHealthServer()
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A 127.0.0.1 port that is bound but not listening, so connections are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/-/ready"
    finally:
        sock.close()


def wait(checks: list[dict], timeout: float = 1.0, **options: float):
    settings = {**FAST, **options}
    return health.wait_for_services(health.build_checks(checks), timeout=timeout, **settings)


# --------------------------------------------------------------------------
# The behaviours the issue asks for
# --------------------------------------------------------------------------


def test_service_ready_at_once_is_probed_once(server: LocalHealthServer) -> None:
    endpoint = server.serve("/api/health", Reply(200, '{"database": "ok"}'))

    report = wait([{"name": "grafana", "url": server.url("/api/health")}])

    result = report.services["grafana"]
    assert report.unhealthy == []
    assert result.ready is True
    assert result.status == 200
    assert result.error is None
    assert result.attempts == 1
    assert endpoint.requests == 1
    assert 0 <= result.time_to_ready < 1.0
    assert result.as_dict(1.0)["message"] is None


def test_service_ready_after_n_polls_counts_attempts_and_time(
    server: LocalHealthServer,
) -> None:
    not_yet = Reply(503, "Ingester not ready: waiting for 15s after being ready")
    endpoint = server.serve("/ready", not_yet, not_yet, not_yet, Reply(200, "ready"))

    report = wait([{"name": "loki", "url": server.url("/ready")}], timeout=5.0)

    result = report.services["loki"]
    assert result.ready is True
    assert result.attempts == 4
    assert endpoint.requests == 4
    # Three failed attempts, each followed by one interval of 0.05 s.
    assert result.time_to_ready >= 3 * FAST["interval"]
    assert result.body == "ready"


def test_service_never_ready_fails_with_last_status_and_body(
    server: LocalHealthServer,
) -> None:
    server.serve("/ready", Reply(503, "Ingester not ready:\n  waiting for 15s after being ready"))

    started = time.monotonic()
    report = wait([{"name": "loki", "url": server.url("/ready")}], timeout=0.5)
    took = time.monotonic() - started

    result = report.services["loki"]
    assert report.unhealthy == ["loki"]
    assert result.ready is False
    assert result.status == 503
    assert result.time_to_ready is None
    assert result.attempts > 1
    assert 0.5 <= took < 1.5
    expected = (
        f"loki: not ready after 0.5s ({result.attempts} attempts): "
        'HTTP 503 (expected 200), body: "Ingester not ready: waiting for 15s after being ready"'
    )
    assert report.failure_lines() == [expected]


def test_connection_refused_names_the_error_and_the_url(refused_url: str) -> None:
    report = wait([{"name": "prometheus", "url": refused_url}], timeout=0.3)

    result = report.services["prometheus"]
    assert result.ready is False
    assert result.status is None
    assert result.body is None
    assert result.error == "connection refused"
    expected = f"prometheus: not ready after 0.3s ({result.attempts} attempts): connection refused ({refused_url})"
    assert report.failure_lines() == [expected]


def test_wrong_json_field_is_not_ready_and_says_what_differs(
    server: LocalHealthServer,
) -> None:
    server.serve("/api/health", Reply(200, '{"database": "failing"}'))

    report = wait(
        [
            {
                "name": "grafana",
                "url": server.url("/api/health"),
                "json": {"database": "ok"},
            }
        ],
        timeout=0.3,
    )

    result = report.services["grafana"]
    assert result.ready is False
    assert result.status == 200
    line = report.failure_lines()[0]
    assert line.startswith("grafana: not ready after 0.3s (")
    assert 'HTTP 200 but JSON field database = "failing", expected "ok"' in line
    assert line.endswith('body: "{"database": "failing"}"')


# --------------------------------------------------------------------------
# Concurrency and polling
# --------------------------------------------------------------------------


def test_checks_are_polled_concurrently_not_one_after_another(
    server: LocalHealthServer,
) -> None:
    slow = Reply(200, "ok", delay=0.4)
    names = [f"svc{index}" for index in range(5)]
    for name in names:
        server.serve(f"/{name}", slow)

    report = wait([{"name": name, "url": server.url(f"/{name}")} for name in names], timeout=5.0)

    assert report.unhealthy == []
    # One after another this would take 5 x 0.4 s = 2 s.
    assert report.elapsed < 1.2


def test_ready_service_stops_being_polled_while_others_still_wait(
    server: LocalHealthServer,
) -> None:
    ready = server.serve("/ready", Reply(200))
    starting = server.serve("/starting", Reply(503, "starting"))

    report = wait(
        [
            {"name": "ready", "url": server.url("/ready")},
            {"name": "starting", "url": server.url("/starting")},
        ],
        timeout=0.5,
    )

    assert report.unhealthy == ["starting"]
    assert ready.requests == 1
    assert starting.requests > 3
    assert list(report.services) == ["ready", "starting"]


def test_slow_answer_counts_as_timed_out_attempt(server: LocalHealthServer) -> None:
    server.serve("/slow", Reply(200, delay=1.0))

    report = wait(
        [{"name": "tempo", "url": server.url("/slow")}],
        timeout=0.4,
        request_timeout=0.2,
    )

    assert report.services["tempo"].error == "timed out after 0.2s"


def test_empty_checks_report_nothing_without_starting_threads() -> None:
    report = health.wait_for_services([], timeout=1, interval=0.1, request_timeout=1)
    assert report.services == {}
    assert report.unhealthy == []


# --------------------------------------------------------------------------
# Judging answers
# --------------------------------------------------------------------------


def test_nested_json_path_with_list_index_matches(server: LocalHealthServer) -> None:
    document = {"status": "pass", "checks": [{"name": "bolt", "status": "pass"}]}
    server.serve("/health", Reply(200, json.dumps(document)))

    report = wait(
        [
            {
                "name": "influxdb",
                "url": server.url("/health"),
                "json": {"status": "pass", "checks.0.status": "pass"},
            }
        ]
    )

    assert report.services["influxdb"].ready is True


def test_missing_json_field_is_reported_as_missing(server: LocalHealthServer) -> None:
    server.serve("/health", Reply(200, '{"status": "pass"}'))

    report = wait(
        [{"name": "influxdb", "url": server.url("/health"), "json": {"version": "2"}}],
        timeout=0.2,
    )

    assert report.services["influxdb"].problem == ('HTTP 200 but JSON field version is missing, expected "2"')


def test_body_that_is_not_json_fails_a_json_check(server: LocalHealthServer) -> None:
    server.serve("/api/health", Reply(200, "<html>proxy error</html>"))

    report = wait(
        [{"name": "grafana", "url": server.url("/api/health"), "json": {"a": 1}}],
        timeout=0.2,
    )

    assert report.services["grafana"].problem == "HTTP 200 but body is not JSON"
    assert report.services["grafana"].body == "<html>proxy error</html>"


def test_body_regex_must_match(server: LocalHealthServer) -> None:
    server.serve("/good", Reply(200, "ready\n"))
    server.serve("/bad", Reply(200, "Ingester not ready"))

    report = wait(
        [
            {"name": "good", "url": server.url("/good"), "body_regex": "^ready"},
            {"name": "bad", "url": server.url("/bad"), "body_regex": "^ready"},
        ],
        timeout=0.2,
    )

    assert report.unhealthy == ["bad"]
    assert report.services["bad"].problem == "HTTP 200 but body does not match /^ready/"


def test_any_listed_status_counts_as_ready(server: LocalHealthServer) -> None:
    server.serve("/login", Reply(401, "unauthorized"))

    report = wait([{"name": "grafana", "url": server.url("/login"), "status": [200, 401]}])

    assert report.services["grafana"].ready is True
    assert report.services["grafana"].status == 401


def test_head_probe_has_empty_body(server: LocalHealthServer) -> None:
    server.serve("/metrics", Reply(200, "# HELP up"))

    report = wait([{"name": "node", "url": server.url("/metrics"), "method": "HEAD"}])

    assert report.services["node"].ready is True
    assert report.services["node"].body == ""


def test_long_body_snippet_is_collapsed_and_truncated(
    server: LocalHealthServer,
) -> None:
    server.serve("/ready", Reply(503, "x  y\n" * 200))

    report = wait([{"name": "loki", "url": server.url("/ready")}], timeout=0.2)

    body = report.services["loki"].body
    assert len(body) == health.BODY_SNIPPET_CHARS
    assert body.startswith("x y x y")
    assert body.endswith("...")


@pytest.mark.parametrize(
    ("actual", "expected", "matches"),
    [
        ("ok", "ok", True),
        ("failing", "ok", False),
        (True, True, True),
        (1, True, False),
        (True, 1, False),
        (True, "true", True),
        (3, "3", True),
        (3, 3.0, True),
        (None, "null", True),
        ({"a": 1}, {"a": 1}, True),
    ],
)
def test_json_value_matching_rules(actual: object, expected: object, matches: bool) -> None:
    assert health.json_value_matches(actual, expected) is matches


# --------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------


def test_password_echoed_in_body_is_masked(server: LocalHealthServer) -> None:
    server.serve("/api/health", Reply(503, "bad login for admin:s3cr3t-pass"))

    report = wait(
        [
            {
                "name": "grafana",
                "url": server.url("/api/health"),
                "url_username": "admin",
                "url_password": "s3cr3t-pass",
                "headers": {"X-Api-Key": "Bearer tok-123", "Accept": "text/plain"},
            }
        ],
        timeout=0.2,
    )

    line = report.failure_lines()[0]
    assert "s3cr3t-pass" not in line
    assert health.REDACTED in line


def test_credentials_in_url_are_never_shown(refused_url: str) -> None:
    url_with_credentials = refused_url.replace("http://", "http://admin:hunter2@")
    checks = health.build_checks([{"name": "grafana", "url": url_with_credentials}])

    report = health.wait_for_services(checks, timeout=0.2, **FAST)

    assert "hunter2" in checks[0].secrets
    assert report.services["grafana"].url == refused_url
    assert "hunter2" not in report.failure_lines()[0]


def test_secret_headers_are_collected_for_masking_but_plain_ones_are_not() -> None:
    check = health.build_checks(
        [
            {
                "name": "influxdb",
                "url": "http://127.0.0.1:8086/health",
                "headers": {"Authorization": "Token abcd", "X-Auth-Short": "Bearer x", "Accept": "application/json"},
            }
        ]
    )[0]

    assert set(check.secrets) == {"Token abcd", "abcd", "Bearer x"}


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def test_empty_checks_are_rejected() -> None:
    with pytest.raises(health.HealthConfigError, match="at least one service"):
        health.build_checks([])


def test_duplicate_names_are_rejected_naming_both_positions() -> None:
    with pytest.raises(health.HealthConfigError) as caught:
        health.build_checks(
            [
                {"name": "loki", "url": "http://127.0.0.1:3100/ready"},
                {"name": "loki", "url": "http://127.0.0.1:3101/ready"},
            ]
        )
    assert "duplicate check name 'loki' (checks[0] and checks[1])" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://127.0.0.1/ready", "url must start with http:// or https://"),
        ("127.0.0.1:3100/ready", "url must start with http:// or https://"),
        ("http:///ready", "url has no host"),
        ("http://127.0.0.1:99999/ready", "url has an invalid port"),
        ("", "url must not be empty"),
    ],
)
def test_bad_urls_are_rejected(url: str, message: str) -> None:
    with pytest.raises(health.HealthConfigError, match=message):
        health.build_checks([{"name": "loki", "url": url}])


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(health.HealthConfigError) as caught:
        health.build_checks(
            [
                {"name": "a", "url": "ftp://x", "status": [700]},
                {"name": "b", "url": "http://127.0.0.1/", "body_regex": "("},
                {"name": "", "url": "http://127.0.0.1/"},
            ]
        )
    text = str(caught.value)
    assert "checks[0] (a): url must start with http:// or https://" in text
    assert "checks[0] (a): status 700 is not an HTTP status code" in text
    assert "checks[1] (b): body_regex is not a valid regular expression" in text
    assert "checks[2]: name must not be empty" in text


def test_password_without_username_is_rejected() -> None:
    with pytest.raises(health.HealthConfigError, match="url_password needs url_username"):
        health.build_checks([{"name": "a", "url": "http://127.0.0.1/", "url_password": "x"}])


def test_interval_longer_than_timeout_is_rejected() -> None:
    with pytest.raises(health.HealthConfigError, match=r"interval \(5s\) is longer than timeout \(2s\)"):
        health.validate_timing(timeout=2, interval=5, request_timeout=1)


@pytest.mark.parametrize("option", ["timeout", "interval", "request_timeout"])
def test_non_positive_timing_is_rejected(option: str) -> None:
    timing = {"timeout": 10.0, "interval": 1.0, "request_timeout": 1.0, option: 0}
    with pytest.raises(health.HealthConfigError, match=f"{option} must be greater than 0"):
        health.validate_timing(**timing)


def test_defaults_apply_when_options_are_left_out() -> None:
    check = health.build_checks([{"name": "a", "url": "http://127.0.0.1/"}])[0]
    assert check.status == (200,)
    assert check.method == "GET"
    assert check.validate_certs is True


# --------------------------------------------------------------------------
# Deadline arithmetic, on a fake clock
# --------------------------------------------------------------------------


class FakeClock:
    """A clock that only moves when the code under test sleeps or a probe takes time."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_polling_stops_at_the_deadline_and_counts_every_attempt() -> None:
    clock = FakeClock()
    attempt_timeouts: list[float] = []

    def never_ready(check: object, attempt_timeout: float):
        attempt_timeouts.append(attempt_timeout)
        return health.ProbeOutcome(ready=False, status=503, body="starting", problem="HTTP 503 (expected 200)")

    checks = health.build_checks([{"name": "loki", "url": "http://127.0.0.1:3100/ready"}])
    report = health.wait_for_services(
        checks, timeout=10, interval=1, request_timeout=5, probe=never_ready, clock=clock, sleep=clock.sleep
    )

    # Attempts at t = 0, 1, ..., 9; the sleep after the last one reaches the deadline.
    assert report.services["loki"].attempts == 10
    assert report.elapsed == 10
    # Early attempts get the full request timeout; late ones are cut towards the
    # deadline but never below one second, so their answer is a real one.
    assert attempt_timeouts[:6] == [5, 5, 5, 5, 5, 5]
    assert attempt_timeouts[-1] == 1


def test_time_to_ready_is_measured_from_the_start_of_the_wait() -> None:
    clock = FakeClock()
    answers = iter([False, False, True])

    def slow_probe(check: object, attempt_timeout: float):
        clock.now += 0.25  # every request takes 0.25 s
        ready = next(answers)
        return health.ProbeOutcome(ready=ready, status=200 if ready else 503)

    checks = health.build_checks([{"name": "tempo", "url": "http://127.0.0.1:3200/ready"}])
    report = health.wait_for_services(
        checks, timeout=30, interval=2, request_timeout=5, probe=slow_probe, clock=clock, sleep=clock.sleep
    )

    # Two failed attempts of 0.25 s, each followed by a 2 s interval, then 0.25 s.
    assert report.services["tempo"].time_to_ready == pytest.approx(4.75)
    assert report.services["tempo"].attempts == 3


# --------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------


def test_secret_inside_a_json_value_is_masked_in_the_problem(server: LocalHealthServer) -> None:
    server.serve("/api/health", Reply(200, '{"database": "failing for token tok-123"}'))

    report = wait(
        [
            {
                "name": "grafana",
                "url": server.url("/api/health"),
                "json": {"database": "ok"},
                "headers": {"Authorization": "Bearer tok-123"},
            }
        ],
        timeout=0.2,
    )

    line = report.failure_lines()[0]
    assert "tok-123" not in line
    assert f'JSON field database = "failing for token {health.REDACTED}"' in line


def test_large_json_value_is_cut_short_in_the_problem(server: LocalHealthServer) -> None:
    server.serve("/health", Reply(200, json.dumps({"checks": [{"name": f"check-{i}"} for i in range(50)]})))

    report = wait([{"name": "influxdb", "url": server.url("/health"), "json": {"checks": []}}], timeout=0.2)

    problem = report.services["influxdb"].problem
    assert problem.startswith('HTTP 200 but JSON field checks = [{"name": "check-0"}')
    assert problem.endswith("..., expected []")


@pytest.mark.parametrize(
    ("error", "described"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
        (TimeoutError("timed out"), "timed out after 2s"),
        (socket.gaierror(-2, "Name or service not known"), "cannot resolve host: Name or service not known"),
        (ConnectionResetError(104, "Connection reset by peer"), "connection closed by the server without an answer"),
        (OSError(113, "No route to host"), "connection error: no route to host"),
    ],
)
def test_connection_errors_are_described_in_a_few_stable_words(error: OSError, described: str) -> None:
    assert health.describe_connection_error(URLError(error), 2.0) == described
    assert health.describe_connection_error(error, 2.0) == described
