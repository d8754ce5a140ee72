"""Request, response and routing types shared by the double's API handlers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

JSON_TYPE = "application/json"

ROLE_RANK = {"None": 0, "Viewer": 1, "Editor": 2, "Admin": 3}


class ApiError(Exception):
    """A handled error: the status and the JSON body Grafana answers with."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body

    def as_response(self) -> Response:
        return Response(self.status, self.body)


def error(code: int, text: str, /, **extra: Any) -> ApiError:
    """Grafana's response.Error envelope: {"message": ...} plus optional fields."""
    return ApiError(code, {"message": text, **extra})


def errutil(code: int, message_id: str, text: str, /, **extra: Any) -> ApiError:
    """Grafana's errutil envelope (messageId, statusCode, traceID)."""
    body = {"message": text, "messageId": message_id, "statusCode": code, "traceID": ""}
    body.update(extra)
    return ApiError(code, body)


def not_found(message: str = "Not found") -> ApiError:
    return error(404, message)


@dataclass
class Identity:
    """Who sent a request, and with which role in the request's org."""

    user_id: int
    login: str
    is_server_admin: bool
    is_service_account: bool
    org_id: int
    org_role: str  # "None" when not a member of the request's org
    token_org_id: int | None = None

    @classmethod
    def of_user(cls, user: dict[str, Any], org_id: int | None) -> Identity:
        """A user's identity in the request's org (org_id), else in the user's current org."""
        org = org_id or user["org_id"]
        return cls(
            user_id=user["id"],
            login=user["login"],
            is_server_admin=bool(user["is_admin"]),
            is_service_account=False,
            org_id=org,
            org_role=user["orgs"].get(str(org), "None"),
        )


@dataclass
class Request:
    """A parsed HTTP request as handlers see it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Mapping[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    identity: Identity | None = None
    client: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return default

    def args(self, name: str) -> list[str]:
        values: list[str] = []
        for key, value in self.query:
            if key == name:
                values.extend(v for v in value.split(",") if v)
        return values

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def json(self) -> Any:
        if not self.body:
            raise error(400, "bad request data")
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise error(400, "bad request data", error=str(exc)) from exc

    @property
    def org_id(self) -> int:
        assert self.identity is not None
        return self.identity.org_id

    @property
    def login(self) -> str:
        return self.identity.login if self.identity else ""


@dataclass
class Response:
    """What a handler returns: status, body and content type."""

    status: int
    body: Any = None
    content_type: str = JSON_TYPE
    raw: bytes | None = None  # pre-encoded body, e.g. from the datasource proxy
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)  # Set-Cookie values, one header each (sessions.py)
    passthrough: bool = False  # proxied upstream bodies are not Grafana's own

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        return json.dumps(self.body).encode()


def ok(body: Any) -> Response:
    return Response(200, body)


def message(text: str, /, code: int = 200, **extra: Any) -> Response:
    return Response(code, {"message": text, **extra})


Handler = Callable[[Request], Response]


@dataclass
class Route:
    """One served operation: method, path pattern, handler and the access it needs."""

    method: str
    pattern: str
    handler: Handler
    access: str  # "public", "signed-in", "server-admin" or a minimum org role
    action: str = ""  # RBAC action named in 403 messages
    locked: bool = True  # handled under the state lock, and state saved after a change
    spec_checked: bool = True
    contract: Any = None  # an apis_contract.Contract for routes the 9.5 spec does not cover (/apis)
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        self.regex = _compile(self.pattern)


def _compile(pattern: str) -> re.Pattern[str]:
    out = ""
    for part in re.split(r"(\{[^}]+\})", pattern):
        if part.startswith("{") and part.endswith("*}"):
            out += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            out += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            out += re.escape(part)
    return re.compile(f"^{out}$")


class Router:
    """Maps (method, path) to a route; the first matching pattern wins."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler, access: str, action: str = "", **options: Any) -> None:
        self.routes.append(Route(method, pattern, handler, access, action, **options))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        """The route for a method and path, and its path parameters."""
        for route in self.routes:
            if route.method != method:
                continue
            found = route.regex.match(path)
            if found:
                return route, dict(found.groupdict())
        return None, {}
