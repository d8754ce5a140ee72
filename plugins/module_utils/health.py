# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Concurrent HTTP readiness probing for the ``service_health`` module.

Everything here is plain Python on top of the collection's HTTP layer (``http_transport``: keep-alive
connections, TLS, redirects, error text and redaction), so it can be unit-tested without running a module,
and reused by other modules. A wait shares one transport per TLS setting between its polling threads: each
thread polls its service over one kept connection. Polling is the retry, so requests are never retried.

The flow is:

1. :func:`build_checks` and :func:`validate_timing` turn raw module options into
   validated :class:`HealthCheck` objects (or raise :class:`HealthConfigError`
   listing every problem at once).
2. :func:`wait_for_services` polls every check in its own thread until it is
   ready or the overall deadline passes, and returns a :class:`WaitReport`.
3. :meth:`WaitReport.failure_lines` renders one readable line per service that
   never became ready.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import SplitResult, urlsplit

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.docker_engine import (
    DEFAULT_SOCKET,
    DockerEngineError,
    container_address,
    container_logs,
    inspect_container,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.http_transport import (
    MASK,
    BadRedirect,
    HttpTransport,
    NoAnswer,
    basic_auth,
    format_seconds,
    redact,
    request,
    snippet,
    strip_userinfo,
)

# Kept under the name it had here, for callers of health.describe_connection_error.
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.http_transport import (  # noqa: F401  # pylint: disable=unused-import
    describe_no_answer as describe_connection_error,
)

DEFAULT_STATUS = (200,)
ALLOWED_METHODS = ("GET", "HEAD")
# Enough for any health document; the rest of a large body is never needed.
MAX_BODY_BYTES = 64 * 1024
BODY_SNIPPET_CHARS = 300
# A final attempt close to the deadline still gets this long to answer, so its
# error reflects the service and not an artificially tiny timeout.
MIN_ATTEMPT_SECONDS = 1.0
REDACTED = MASK

# Header names whose values are credentials and must never be echoed back.
_SECRET_HEADER = re.compile(r"auth|token|secret|key|cookie|passw", re.IGNORECASE)
_MISSING = object()
CONTAINER_SCHEMES = ("http", "https")


class HealthConfigError(ValueError):
    """The checks or timing options are invalid; the message lists every problem."""


@dataclass(frozen=True)
class HealthCheck:
    """One endpoint to wait for, validated."""

    name: str
    url: str
    status: tuple[int, ...] = DEFAULT_STATUS
    json_fields: Mapping[str, Any] = field(default_factory=dict)
    body_regex: re.Pattern | None = None
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    validate_certs: bool = True
    url_username: str | None = None
    url_password: str | None = None
    # A check may name a container instead of a URL: then it probes http://<container address>:<port><path>
    # on the given Docker network, or, without a port, waits for Docker's own healthcheck to say "healthy".
    container: str | None = None
    port: int | None = None
    path: str = "/"
    network: str | None = None
    docker_socket: str = DEFAULT_SOCKET
    # TLS: the scheme of a container probe, a CA file to verify the certificate with instead of the system's CAs,
    # and the name the certificate must carry when it differs from the URL's host (a container's address).
    scheme: str = "http"
    ca_path: str | None = None
    server_name: str | None = None

    @property
    def display_url(self) -> str:
        """The URL without any user:password part, safe to print."""
        if self.container and not self.url:
            target = f"{self.container}:{self.port}{self.path}" if self.port else f"{self.container} (Docker health)"
            return f"container {target}"
        return strip_userinfo(self.url)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every credential this check sends, for redaction and no_log."""
        found = []
        if self.url_password:
            found.append(self.url_password)
        url_password = urlsplit(self.url).password
        if url_password:
            found.append(url_password)
        for name, value in self.headers.items():
            if value and _SECRET_HEADER.search(name):
                found.append(value)
                # "Bearer abcd" -> also hide "abcd" on its own, unless it is so short
                # that masking it would garble unrelated text.
                scheme_and_token = value.split(None, 1)
                if len(scheme_and_token) == 2 and len(scheme_and_token[1]) >= 4:
                    found.append(scheme_and_token[1])
        return tuple(secret for secret in found if secret)


@dataclass(frozen=True)
class ProbeOutcome:
    """What one HTTP attempt saw."""

    ready: bool
    status: int | None = None
    error: str | None = None
    body: str | None = None
    problem: str | None = None


@dataclass
class ServiceResult:
    """The running record of one check, updated after every attempt."""

    name: str
    url: str
    ready: bool = False
    status: int | None = None
    error: str | None = None
    body: str | None = None
    problem: str | None = None
    attempts: int = 0
    time_to_ready: float | None = None

    def record(self, outcome: ProbeOutcome) -> None:
        self.attempts += 1
        self.ready = outcome.ready
        self.status = outcome.status
        self.error = outcome.error
        self.body = outcome.body
        self.problem = outcome.problem

    def failure_line(self, timeout: float) -> str:
        """One readable line: what the service last answered, or why it could not."""
        plural = "" if self.attempts == 1 else "s"
        line = "{}: not ready after {}s ({} attempt{}): {}".format(
            self.name,
            format_seconds(timeout),
            self.attempts,
            plural,
            self.problem or "no answer",
        )
        if self.error is not None:
            return f"{line} ({self.url})"
        if self.body:
            return f'{line}, body: "{self.body}"'
        return f"{line}, empty body"

    def as_dict(self, timeout: float) -> dict[str, Any]:
        return {
            "url": self.url,
            "ready": self.ready,
            "status": self.status,
            "error": self.error,
            "body": self.body,
            "attempts": self.attempts,
            "time_to_ready": self.time_to_ready,
            "message": None if self.ready else self.failure_line(timeout),
        }


@dataclass
class WaitReport:
    """The outcome of :func:`wait_for_services`, in the order the checks were given."""

    services: dict[str, ServiceResult]
    elapsed: float
    timeout: float

    @property
    def unhealthy(self) -> list[str]:
        return [name for name, result in self.services.items() if not result.ready]

    def failure_lines(self) -> list[str]:
        return [self.services[name].failure_line(self.timeout) for name in self.unhealthy]

    def services_dict(self) -> dict[str, dict[str, Any]]:
        return {name: result.as_dict(self.timeout) for name, result in self.services.items()}


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def build_checks(raw_checks: Sequence[Mapping[str, Any]] | None) -> list[HealthCheck]:
    """Turn the ``checks`` option into HealthCheck objects, or raise with every problem found."""
    if not raw_checks:
        raise HealthConfigError("checks must list at least one service to wait for")
    problems: list[str] = []
    checks: list[HealthCheck] = []
    first_index_of: dict[str, int] = {}
    for index, raw in enumerate(raw_checks):
        name = str(raw.get("name") or "").strip()
        label = f"checks[{index}] ({name})" if name else f"checks[{index}]"
        if not name:
            problems.append(f"{label}: name must not be empty")
        elif name in first_index_of:
            problems.append(
                f"duplicate check name '{name}' (checks[{first_index_of[name]}] and checks[{index}]): "
                "names key the results, so each must be unique"
            )
        else:
            first_index_of[name] = index
        check_problems, check = _build_one(raw, name, label)
        problems.extend(check_problems)
        if check is not None:
            checks.append(check)
    if problems:
        raise HealthConfigError("invalid checks:\n" + "\n".join(problems))
    return checks


def _build_one(raw: Mapping[str, Any], name: str, label: str) -> tuple[list[str], HealthCheck | None]:
    problems: list[str] = []
    url = str(raw.get("url") or "").strip()
    container = str(raw.get("container") or "").strip() or None
    if container is None or url:
        problems.extend(_url_problems(url, label))
    if container and url:
        problems.append(f"{label}: give either url or container, not both")
    port = raw.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536):
        problems.append(f"{label}: port must be a TCP port number (1-65535), got {port!r}")
    if port is not None and not container:
        problems.append(f"{label}: port needs container")
    path = str(raw.get("path") or "/")
    if not path.startswith("/"):
        problems.append(f"{label}: path must start with '/', got '{path}'")
    raw_status = raw.get("status")
    status = DEFAULT_STATUS if raw_status is None else tuple(raw_status)
    if not status:
        problems.append(f"{label}: status must list at least one HTTP status code")
    problems.extend(
        f"{label}: status {code} is not an HTTP status code (100-599)"
        for code in status
        if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599
    )
    json_fields = dict(raw.get("json") or {})
    problems.extend(
        f"{label}: json key '{path}' is not a dotted path like 'database' or 'checks.0.status'"
        for path in json_fields
        if not isinstance(path, str) or not all(path.split("."))
    )
    body_regex = None
    if raw.get("body_regex"):
        try:
            body_regex = re.compile(raw["body_regex"])
        except re.error as exc:
            problems.append(f"{label}: body_regex is not a valid regular expression: {exc}")
    method = str(raw.get("method") or "GET").upper()
    if method not in ALLOWED_METHODS:
        problems.append("{}: method must be one of {}, got '{}'".format(label, ", ".join(ALLOWED_METHODS), method))
    if raw.get("url_password") and not raw.get("url_username"):
        problems.append(f"{label}: url_password needs url_username")
    scheme = str(raw.get("scheme") or "http").lower()
    if scheme not in CONTAINER_SCHEMES:
        problems.append(f"{label}: scheme must be http or https, got '{scheme}'")
    elif scheme != "http" and not (container and port is not None):
        problems.append(f"{label}: scheme needs container and port (a url names its own scheme)")
    if problems:
        return problems, None
    check = HealthCheck(
        name=name,
        url=url,
        status=status,
        json_fields=json_fields,
        body_regex=body_regex,
        method=method,
        headers={str(key): str(value) for key, value in (raw.get("headers") or {}).items()},
        validate_certs=raw.get("validate_certs") is not False,
        url_username=raw.get("url_username") or None,
        url_password=raw.get("url_password") or None,
        container=container,
        port=port,
        path=path,
        network=raw.get("network") or None,
        docker_socket=raw.get("docker_socket") or DEFAULT_SOCKET,
        scheme=scheme,
        ca_path=raw.get("ca_path") or None,
        server_name=raw.get("server_name") or None,
    )
    return [], check


def _url_problems(url: str, label: str) -> list[str]:
    if not url:
        return [f"{label}: url must not be empty"]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return [f"{label}: url must start with http:// or https://, got '{strip_userinfo(url)}'"]
    if not parts.hostname:
        return [f"{label}: url has no host: '{strip_userinfo(url)}'"]
    if not _port_is_valid(parts):
        return [f"{label}: url has an invalid port: '{strip_userinfo(url)}'"]
    return []


def _port_is_valid(parts: SplitResult) -> bool:
    try:
        return parts.port != 0  # .port raises ValueError when out of range or not a number
    except ValueError:
        return False


def validate_timing(timeout: float, interval: float, request_timeout: float) -> None:
    """Reject timing options that cannot work, with a message that says why."""
    problems = []
    if timeout <= 0:
        problems.append(f"timeout must be greater than 0, got {format_seconds(timeout)}")
    if interval <= 0:
        problems.append(f"interval must be greater than 0, got {format_seconds(interval)}")
    if request_timeout <= 0:
        problems.append(f"request_timeout must be greater than 0, got {format_seconds(request_timeout)}")
    if timeout > 0 and interval > timeout:
        problems.append(
            f"interval ({format_seconds(interval)}s) is longer than timeout ({format_seconds(timeout)}s): "
            "each service would be polled only once"
        )
    if problems:
        raise HealthConfigError("; ".join(problems))


# --------------------------------------------------------------------------
# One HTTP attempt
# --------------------------------------------------------------------------


def probe_once(check: HealthCheck, request_timeout: float, transport: Any = None) -> ProbeOutcome:
    """Send one request and judge the answer against the check's expectations.

    ``transport`` is the connection keeper to send it over (see :func:`transport_for`); without one, a
    connection is opened for this request alone.
    """
    if check.container:
        return probe_container(check, request_timeout, transport)
    return probe_url(check, request_timeout, transport)


def probe_container(check: HealthCheck, request_timeout: float, transport: Any = None) -> ProbeOutcome:
    """Look the container up in the Docker engine; probe its address, or read Docker's health verdict."""
    try:
        document = inspect_container(check.container, check.docker_socket, request_timeout)
    except (DockerEngineError, ValueError) as exc:
        return ProbeOutcome(ready=False, error=str(exc), problem=str(exc))
    if document is None:
        problem = f"no container named {check.container}"
        return ProbeOutcome(ready=False, error=problem, problem=problem)
    state = document.get("State") or {}
    if not state.get("Running"):
        problem = "container is {} (exit code {})".format(state.get("Status", "not running"), state.get("ExitCode"))
        return ProbeOutcome(ready=False, error=problem, problem=problem)
    if check.port is None:
        health = (state.get("Health") or {}).get("Status")
        if health in (None, "healthy"):
            return ProbeOutcome(ready=True, body=f"container running, Docker health: {health or 'none defined'}")
        last = ((state.get("Health") or {}).get("Log") or [{}])[-1]
        output = snippet(str(last.get("Output") or ""), BODY_SNIPPET_CHARS)
        return ProbeOutcome(ready=False, body=output, problem=f"Docker health is {health}")
    address = container_address(document, check.network)
    if address is None:
        where = f"network {check.network}" if check.network else "any network"
        problem = f"container {check.container} has no address on {where}"
        return ProbeOutcome(ready=False, error=problem, problem=problem)
    host = f"[{address}]" if ":" in address else address
    return probe_url(replace(check, url=f"{check.scheme}://{host}:{check.port}{check.path}"), request_timeout,
                     transport)


def transport_for(check: HealthCheck) -> HttpTransport:
    """A transport with the check's TLS settings; proxies from the environment are honoured."""
    return HttpTransport(validate_certs=check.validate_certs, ca_path=check.ca_path, server_name=check.server_name,
                         user_agent="ansible-httpget")


def transport_key(check: HealthCheck) -> tuple[bool, str | None, str | None]:
    """Checks with the same key can share a transport."""
    return (check.validate_certs, check.ca_path, check.server_name)


def probe_url(check: HealthCheck, request_timeout: float, transport: Any = None) -> ProbeOutcome:
    """Send one HTTP request to the check's URL and judge the answer; an HTTP error status is an answer."""
    own = transport is None
    if own:
        transport = transport_for(check)
    headers = dict(check.headers)
    if check.url_username is not None:
        headers["Authorization"] = basic_auth(check.url_username, check.url_password)
    try:
        response = request(transport, check.method, check.url, headers, timeout=request_timeout,
                           max_body=MAX_BODY_BYTES)
    except BadRedirect as exc:
        response = exc.response
    except NoAnswer as exc:
        error = exc.describe(request_timeout)
        return ProbeOutcome(ready=False, error=error, problem=error)
    finally:
        if own:
            transport.close()
    text = response.text()
    secrets = check.secrets
    problem = judge_response(check, response.status, text)
    if problem is not None:
        # A JSON value quoted in the problem comes from the body: mask it the same way.
        problem = redact(problem, secrets)
    return ProbeOutcome(ready=problem is None, status=response.status, body=snippet(text, BODY_SNIPPET_CHARS, secrets),
                        problem=problem)


def judge_response(check: HealthCheck, status: int, text: str) -> str | None:
    """Return why the answer is not "ready", or None when every expectation holds."""
    if status not in check.status:
        return "HTTP {} (expected {})".format(status, " or ".join(str(code) for code in check.status))
    if check.json_fields:
        problem = _json_problem(check.json_fields, text)
        if problem:
            return f"HTTP {status} but {problem}"
    if check.body_regex is not None and not check.body_regex.search(text):
        return f"HTTP {status} but body does not match /{check.body_regex.pattern}/"
    return None


def _json_problem(expected_fields: Mapping[str, Any], text: str) -> str | None:
    try:
        document = json.loads(text)
    except ValueError:
        return "body is not JSON"
    for path, expected in expected_fields.items():
        actual = lookup_json_path(document, path)
        if actual is _MISSING:
            return f"JSON field {path} is missing, expected {_render(expected)}"
        if not json_value_matches(actual, expected):
            return f"JSON field {path} = {_render(actual)}, expected {_render(expected)}"
    return None


def lookup_json_path(document: Any, path: str) -> Any:
    """Follow a dotted path (``checks.0.status``) into parsed JSON; _MISSING when absent."""
    current = document
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and re.fullmatch(r"-?\d+", part) and -len(current) <= int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def json_value_matches(actual: Any, expected: Any) -> bool:
    """Equality that does not confuse ``true`` with ``1``, and lets ``"true"`` match ``true``.

    A string expectation also matches the JSON rendering of a non-string value,
    because values typed on a command line (``key=value``) arrive as strings.
    """
    if isinstance(actual, bool) or isinstance(expected, bool):
        if isinstance(actual, bool) and isinstance(expected, bool):
            return actual is expected
    elif actual == expected:
        return True
    if isinstance(expected, str) and not isinstance(actual, str):
        return json.dumps(actual) == expected
    return False


def _render(value: Any, limit: int = 100) -> str:
    """A JSON value as it would appear in the body, cut short if it is a large object."""
    rendered = json.dumps(value, sort_keys=True)
    return rendered if len(rendered) <= limit else rendered[: limit - 3] + "..."


# --------------------------------------------------------------------------
# Waiting on many checks at once
# --------------------------------------------------------------------------


def wait_for_services(
    checks: Sequence[HealthCheck],
    timeout: float,
    interval: float,
    request_timeout: float,
    probe: Callable[[HealthCheck, float], ProbeOutcome] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitReport:
    """Poll every check concurrently until each is ready or ``timeout`` seconds have passed.

    Each check runs in its own thread and stops being polled as soon as it is
    ready, so the total time is that of the slowest service, not the sum.
    Without ``probe``, :func:`probe_once` polls over one transport per TLS setting,
    so each thread keeps its connection from one attempt to the next.
    """
    transports: dict[tuple[bool, str | None, str | None], HttpTransport] = {}
    if probe is None:
        for check in checks:
            if transport_key(check) not in transports:
                transports[transport_key(check)] = transport_for(check)

        def probe(check: HealthCheck, attempt_timeout: float) -> ProbeOutcome:
            return probe_once(check, attempt_timeout, transports[transport_key(check)])

    try:
        return _poll_all(checks, timeout, interval, request_timeout, probe, clock, sleep)
    finally:
        for transport in transports.values():
            transport.close()


def _poll_all(
    checks: Sequence[HealthCheck],
    timeout: float,
    interval: float,
    request_timeout: float,
    probe: Callable[[HealthCheck, float], ProbeOutcome],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> WaitReport:
    start = clock()
    deadline = start + timeout
    if not checks:
        return WaitReport(services={}, elapsed=0.0, timeout=timeout)
    results = {check.name: ServiceResult(name=check.name, url=check.display_url) for check in checks}

    def poll(check: HealthCheck) -> None:
        result = results[check.name]
        while True:
            remaining = deadline - clock()
            attempt_timeout = max(
                min(request_timeout, remaining),
                min(request_timeout, MIN_ATTEMPT_SECONDS),
            )
            result.record(probe(check, attempt_timeout))
            if result.ready:
                result.time_to_ready = round(clock() - start, 3)
                return
            remaining = deadline - clock()
            if remaining <= 0:
                return
            sleep(min(interval, remaining))
            if deadline - clock() <= 0:
                return

    with ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="service-health") as pool:
        # list() re-raises any unexpected exception from a worker here.
        list(pool.map(poll, checks))
    return WaitReport(services=results, elapsed=round(clock() - start, 3), timeout=timeout)


def with_container_logs(checks: Sequence[HealthCheck], report: WaitReport, lines: int) -> list[str]:
    """Each unhealthy service's line, followed by its container's last log lines when it names one."""
    by_name = {check.name: check for check in checks}
    message = []
    for name, line in zip(report.unhealthy, report.failure_lines()):
        message.append(line)
        check = by_name[name]
        if check.container and lines > 0:
            try:
                logs = container_logs(check.container, lines, check.docker_socket)
            except DockerEngineError as exc:
                logs = [f"(logs unavailable: {exc})"]
            message.extend(f"  {check.container} | {redact(log, check.secrets)}" for log in logs)
    return message
