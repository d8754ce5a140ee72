"""An in-memory stand-in for the collection's HTTP transport (plugins/module_utils/http_transport.py), for unit
tests of code that takes a transport: ``GrafanaClient(params, transport=FakeTransport())``, or any caller of
``http_transport.request(transport, ...)``.

It implements the transport interface: ``send(method, url, headers=None, body=None, timeout=None, max_body=None)``
returns an ``http_transport.Response`` or raises ``http_transport.NoAnswer``, and ``close()``. Redirects and
retries are not its business: they happen above it, in ``http_transport.request``, so a test sees each exchange.

    fake = FakeTransport()
    fake.on("GET", "/api/folders/labs", 200, {"uid": "labs"})          # one answer, given again and again
    fake.on("PUT", "/api/folders/labs", [(503, {}), (200, {"ok": 1})])  # answers in turn; the last one repeats
    fake.on("GET", "/api/users/*", lambda sent: (200, {"path": sent.path}))  # computed from the request
    fake.on("POST", "/api/orgs", NoAnswer("http://grafana.test/api/orgs", ConnectionRefusedError(111, "refused")))
    fake.on("GET", "http://other.test/x", 200, {})                     # a full URL matches that host only
    client = GrafanaClient({"url": "http://grafana.test", "url_password": "pw"}, sleep=lambda s: None,
                           transport=fake)
    ...
    fake.sent                      # every request, in order: Sent(method, url, host, path, query, headers, body)
    fake.requests("PUT")           # those of one method (and path, if given)

A request no route matches gets Grafana's 404, ``{"message": "Not found"}``. An answer is a ``Response``, a
``(status, json_body)`` or ``(status, json_body, headers)`` tuple (a ``bytes`` or ``str`` body is sent as it is),
an exception to raise (a ``NoAnswer``), a list of these given in turn, or a callable of the ``Sent`` request
that returns one. Thread-safe: routes are matched and requests recorded under a lock.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl, urlsplit

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.http_transport import Response

NOT_FOUND = (404, {"message": "Not found"})


@dataclass(frozen=True)
class Sent:
    """One request as the transport received it; ``body`` is the decoded JSON (or the raw bytes if not JSON)."""

    method: str
    url: str
    host: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None

    def header(self, name: str) -> Optional[str]:
        """A header by name, case-insensitively, or None."""
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class _Route:
    method: str
    pattern: str
    answers: list[Any] = field(default_factory=list)

    def matches(self, method: str, url: str, path: str) -> bool:
        if self.method != method.upper():
            return False
        target = url.split("?", 1)[0] if self.pattern.startswith(("http://", "https://")) else path
        if self.pattern.endswith("*"):
            return target.startswith(self.pattern[:-1])
        return target == self.pattern

    def next_answer(self) -> Any:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class FakeTransport:
    """Answers requests from routes set with :meth:`on` and records them in :attr:`sent`."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.closed = False
        self._routes: list[_Route] = []
        self._lock = threading.Lock()

    def on(self, method: str, pattern: str, status_or_answer: Any, body: Any = None,
           headers: Optional[dict[str, str]] = None) -> FakeTransport:
        """Answer ``method`` on ``pattern`` (a path, a full URL, either ending in '*' for a prefix); a later route
        for the same method and pattern replaces an earlier one."""
        if isinstance(status_or_answer, int):
            answers: list[Any] = [(status_or_answer, body, headers or {})]
        elif isinstance(status_or_answer, list):
            answers = list(status_or_answer)
        else:
            answers = [status_or_answer]
        with self._lock:
            self._routes = [r for r in self._routes if (r.method, r.pattern) != (method.upper(), pattern)]
            self._routes.insert(0, _Route(method.upper(), pattern, answers))
        return self

    def requests(self, method: Optional[str] = None, path: Optional[str] = None) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if (method is None or s.method == method.upper())
                    and (path is None or s.path == path)]

    # -- the transport interface ---------------------------------------------
    def send(self, method: str, url: str, headers: Optional[dict[str, str]] = None, body: Optional[bytes] = None,
             timeout: Optional[float] = None, max_body: Optional[int] = None) -> Response:
        parts = urlsplit(url)
        sent = Sent(method.upper(), url, parts.hostname or "", parts.path or "/", dict(parse_qsl(parts.query)),
                    dict(headers or {}), _decoded(body))
        with self._lock:
            self.sent.append(sent)
            route = next((r for r in self._routes if r.matches(method, url, sent.path)), None)
            answer = route.next_answer() if route else NOT_FOUND
        if callable(answer) and not isinstance(answer, Response):
            answer = answer(sent)
        if isinstance(answer, BaseException):
            raise answer
        response = _response(answer, url)
        if max_body is not None:
            response.body = response.body[:max_body]
        return response

    def close(self) -> None:
        self.closed = True


def _decoded(body: Optional[bytes]) -> Any:
    if body is None:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body


def _response(answer: Any, url: str) -> Response:
    if isinstance(answer, Response):
        return answer
    status, payload, headers = (*tuple(answer), {})[:3]
    if isinstance(payload, bytes):
        raw = payload
    elif isinstance(payload, str):
        raw = payload.encode()
    elif payload is None:
        raw = b""
    else:
        raw = json.dumps(payload).encode()
    return Response(status, raw, {"Content-Type": "application/json", **(headers or {})}, url=url)


class InFlight:
    """Counts how many requests a route answers at once: each answer of :meth:`slowly` takes ``seconds``, and
    ``most`` is the largest number of them seen under way together."""

    def __init__(self, seconds: float = 0.02) -> None:
        self.seconds = seconds
        self.now = self.most = 0
        self._lock = threading.Lock()

    def slowly(self, answer: Any) -> Callable[[Sent], Any]:
        """A route's answer (a ``(status, body, headers)`` tuple, or a function of the request giving one), slowed."""
        def handle(sent: Sent) -> Any:
            with self._lock:
                self.now += 1
                self.most = max(self.most, self.now)
            time.sleep(self.seconds)
            with self._lock:
                self.now -= 1
            return answer(sent) if callable(answer) else answer
        return handle
