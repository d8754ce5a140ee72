# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Concurrent HTTP readiness probing for the ``service_health`` module.

Everything here is plain Python on top of ``ansible.module_utils.urls``
so it can be unit-tested without running a module, and reused by other modules.

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

import http.client
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import SplitResult, urlsplit, urlunsplit

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import Request, SSLValidationError, make_context
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.docker_engine import (
    DEFAULT_SOCKET,
    DockerEngineError,
    container_address,
    inspect_container,
)

DEFAULT_STATUS = (200,)
ALLOWED_METHODS = ("GET", "HEAD")
# Enough for any health document; the rest of a large body is never needed.
MAX_BODY_BYTES = 64 * 1024
BODY_SNIPPET_CHARS = 300
# A final attempt close to the deadline still gets this long to answer, so its
# error reflects the service and not an artificially tiny timeout.
MIN_ATTEMPT_SECONDS = 1.0
REDACTED = "********"

# Header names whose values are credentials and must never be echoed back.
_SECRET_HEADER = re.compile(r"auth|token|secret|key|cookie|passw", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
_MISSING = object()
_TLS_CONTEXTS: dict[tuple[bool, str | None, str | None], ssl.SSLContext] = {}
CONTAINER_SCHEMES = ("http", "https")
_TLS_CONTEXTS_LOCK = threading.Lock()
# Everything Request.open raises when no HTTP answer arrives (HTTPError is an
# answer and handled separately). ssl, socket and URL errors are all OSErrors;
# ValueError covers a URL that urllib still refuses after validation.
_NO_ANSWER_ERRORS = (
    OSError,
    http.client.HTTPException,
    UrlsConnectionError,
    ValueError,
)


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


def probe_once(check: HealthCheck, request_timeout: float) -> ProbeOutcome:
    """Send one request and judge the answer against the check's expectations."""
    if check.container:
        return probe_container(check, request_timeout)
    return probe_url(check, request_timeout)


def probe_container(check: HealthCheck, request_timeout: float) -> ProbeOutcome:
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
        output = _one_line(str(last.get("Output") or ""))[:BODY_SNIPPET_CHARS]
        return ProbeOutcome(ready=False, body=output, problem=f"Docker health is {health}")
    address = container_address(document, check.network)
    if address is None:
        where = f"network {check.network}" if check.network else "any network"
        problem = f"container {check.container} has no address on {where}"
        return ProbeOutcome(ready=False, error=problem, problem=problem)
    host = f"[{address}]" if ":" in address else address
    return probe_url(replace(check, url=f"{check.scheme}://{host}:{check.port}{check.path}"), request_timeout)


def probe_url(check: HealthCheck, request_timeout: float) -> ProbeOutcome:
    """Send one HTTP request to the check's URL and judge the answer."""
    try:
        status, raw_body, charset = _fetch(check, request_timeout)
    except _NO_ANSWER_ERRORS as exc:
        error = describe_connection_error(exc, request_timeout)
        return ProbeOutcome(ready=False, error=error, problem=error)
    text = _decode(raw_body, charset)
    secrets = check.secrets
    snippet = body_snippet(text, secrets)
    problem = judge_response(check, status, text)
    if problem is not None:
        # A JSON value quoted in the problem comes from the body: mask it the same way.
        problem = redact(problem, secrets)
    return ProbeOutcome(ready=problem is None, status=status, body=snippet, problem=problem)


def _fetch(check: HealthCheck, request_timeout: float) -> tuple[int, bytes, str | None]:
    """Return (status, first bytes of body, charset); HTTP error statuses are answers, not errors."""
    try:
        # Request.open is what open_url calls; it is used directly only to pass a
        # shared TLS context (see _tls_context).
        response = Request().open(
            check.method,
            check.url,
            headers=dict(check.headers),
            timeout=request_timeout,
            validate_certs=check.validate_certs,
            url_username=check.url_username,
            url_password=check.url_password,
            force_basic_auth=check.url_username is not None,
            follow_redirects="safe",
            context=_tls_context(check.validate_certs, check.ca_path, check.server_name),
        )
    except HTTPError as exc:
        return (
            exc.code,
            _read_error_body(exc),
            exc.headers.get_content_charset() if exc.headers else None,
        )
    with response:
        return (
            response.status,
            response.read(MAX_BODY_BYTES),
            response.headers.get_content_charset(),
        )


def _tls_context(validate_certs: bool, ca_path: str | None = None, server_name: str | None = None) -> ssl.SSLContext:
    """One TLS context per verification setting, built once and shared by all threads.

    Building a context loads the system CA bundle, which takes tens of milliseconds
    and holds the GIL; doing it on every attempt (as open_url does) would make
    concurrent checks queue behind each other. With ``ca_path`` only that file is
    trusted; with ``server_name`` the certificate must carry that name, whatever
    address the connection goes to.
    """
    key = (validate_certs, ca_path, server_name if validate_certs else None)
    with _TLS_CONTEXTS_LOCK:
        if key not in _TLS_CONTEXTS:
            if validate_certs and server_name:
                context: ssl.SSLContext = _NamedContext(ssl.PROTOCOL_TLS_CLIENT)
                context.server_name = server_name  # type: ignore[attr-defined]
                if ca_path:
                    context.load_verify_locations(cafile=ca_path)
                else:
                    context.load_default_certs()
            else:
                context = make_context(cafile=ca_path, validate_certs=validate_certs)
            _TLS_CONTEXTS[key] = context
        return _TLS_CONTEXTS[key]


class _NamedContext(ssl.SSLContext):
    """Checks the certificate against a fixed name (``server_name``) instead of the host the URL names."""

    server_name = ""

    def wrap_socket(self, sock, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["server_hostname"] = self.server_name
        return super().wrap_socket(sock, *args, **kwargs)


def _decode(raw_body: bytes, charset: str | None) -> str:
    try:
        return raw_body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return raw_body.decode("utf-8", errors="replace")


def _read_error_body(exc: HTTPError) -> bytes:
    # The body of an error answer is a bonus: never let reading it fail the probe.
    try:
        return exc.read(MAX_BODY_BYTES) or b""
    except (OSError, http.client.HTTPException):
        return b""
    finally:
        exc.close()


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


def describe_connection_error(exc: BaseException, request_timeout: float) -> str:
    """A short, stable description of why no HTTP answer arrived."""
    reason: Any = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, str):
        return f"connection error: {_one_line(reason)}"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return f"timed out after {format_seconds(request_timeout)}s"
    if isinstance(reason, socket.gaierror):
        return f"cannot resolve host: {reason.strerror or reason}"
    if isinstance(reason, (http.client.RemoteDisconnected, ConnectionResetError)):
        return "connection closed by the server without an answer"
    if isinstance(reason, (ssl.SSLError, SSLValidationError)):
        return f"TLS error: {_one_line(str(reason))}"
    if isinstance(reason, UrlsConnectionError):
        return f"connection error: {_one_line(str(reason))}"
    if isinstance(reason, OSError) and reason.strerror:
        return f"connection error: {reason.strerror.lower()}"
    return f"{type(reason).__name__}: {_one_line(str(reason))}"


# --------------------------------------------------------------------------
# Waiting on many checks at once
# --------------------------------------------------------------------------


def wait_for_services(
    checks: Sequence[HealthCheck],
    timeout: float,
    interval: float,
    request_timeout: float,
    probe: Callable[[HealthCheck, float], ProbeOutcome] = probe_once,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitReport:
    """Poll every check concurrently until each is ready or ``timeout`` seconds have passed.

    Each check runs in its own thread and stops being polled as soon as it is
    ready, so the total time is that of the slowest service, not the sum.
    """
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


# --------------------------------------------------------------------------
# Small text helpers
# --------------------------------------------------------------------------


def body_snippet(text: str, secrets: Sequence[str] = (), limit: int = BODY_SNIPPET_CHARS) -> str:
    """Whitespace collapsed to single spaces, credentials masked, cut to ``limit`` characters."""
    snippet = _one_line(redact(text, secrets))
    if len(snippet) > limit:
        return snippet[: limit - 3] + "..."
    return snippet


def redact(text: str, secrets: Sequence[str]) -> str:
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def format_seconds(seconds: float) -> str:
    """60.0 -> "60", 0.5 -> "0.5": how a person would write it."""
    return f"{seconds:g}"


def _one_line(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()
