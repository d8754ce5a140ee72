"""Checks the double's traffic against Grafana's OpenAPI spec with openapi-core.

Every request body and parameter is validated against the operation it addresses, and every
response body against the schema of the status it carries. Where Grafana's published 9.5 spec is
wrong, or where today's Grafana (SEMANTICS.md) answers differently, the exception is listed below,
named and commented, and kept as small as possible.
"""

from __future__ import annotations

import copy
import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.request.exceptions import SecurityValidationError
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_ENV = "GRAFANA_DOUBLE_SPEC"
SPEC_FALLBACK = Path("/usr/share/grafana-double/openapi3.json")
SPEC_URN = "urn:grafana-openapi3"
SERVER_URL = "http://grafana-double"

# --- Known defects of the spec itself (README.md of the spec) --------------------------------------

# Defect 1: the alerting provisioning paths are declared as "/api/v1/provisioning/..." under the
# server url "/api", so the spec's URL is "/api/api/v1/provisioning/...". Grafana serves them at
# "/api/v1/provisioning/...": map the real path onto the spec's doubled one before validating.
DOUBLED_API_PREFIX_REAL = "/api/v1/provisioning/"
DOUBLED_API_PREFIX_SPEC = "/api/api/v1/provisioning/"

# Defect 2: EmbeddedContactPoint.type's enum carries a leading space on every value but the first
# (" webhook", " slack", ...), so a correct "webhook" would fail. Strip the spaces when loading.
CONTACT_POINT_SCHEMA = "EmbeddedContactPoint"

# Grafana routes "/api/datasources/proxy/uid/:uid/*" with a catch-all; the spec models the rest as
# one path parameter, and an OpenAPI template parameter matches a single segment. Validate the
# proxied request with its route folded into that one parameter.
PROXY_ROUTE_RE = re.compile(r"^(/api/datasources/proxy/(?:uid/)?[^/]+/)(.+)$")

# Defect 3: ProvisionedAlertRule.for reuses the integer "Duration" schema of relativeTimeRange, but
# Grafana (de)serialises it as a Prometheus duration string ("5m") and refuses a number. Validate
# it as such a string.
ALERT_RULE_SCHEMA = "ProvisionedAlertRule"
PROMETHEUS_DURATION = {
    "type": "string",
    "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?"
    r"(([0-9]+)ms)?)$",
}

# Defect 4: notification policies. Grafana (de)serialises Route.object_matchers as
# [name, operator, value] triples (ObjectMatchers.MarshalJSON) and Route.matchers as matcher
# strings (Alertmanager's config.Matchers), while the spec models both as {Name, Type, Value}
# objects. A policy written as Grafana's docs show would otherwise fail.
OBJECT_MATCHERS_SCHEMA = "ObjectMatchers"
OBJECT_MATCHER_TRIPLES = {
    "type": "array",
    "items": {"type": "array", "items": {"type": "string"}, "minItems": 3, "maxItems": 3},
}
ROUTE_SCHEMA = "Route"
MATCHER_STRINGS = {"type": "array", "items": {"type": "string"}}

# Defect 5: CreateFolderCommand types uid and parentUid as plain strings, not nullable. Grafana decodes the
# body into Go strings (pkg/services/folder/model.go CreateFolderCommand: `UID string json:"uid"`, `ParentUID
# string json:"parentUid"`), and Go's encoding/json leaves a string untouched on a JSON null ("unmarshaling a JSON
# null into any other Go type has no effect"), so Grafana accepts null and reads it as "" (top level, generated
# uid). community.grafana's grafana_folder sends {"uid": null, "parentUid": null} when they are not given. Only
# these two properties of this one schema are made nullable.
CREATE_FOLDER_SCHEMA = "CreateFolderCommand"
CREATE_FOLDER_NULLABLE = ("uid", "parentUid")

ERROR_BODY_REF = {"$ref": f"{SPEC_URN}#/components/schemas/ErrorResponseBody"}


@dataclass(frozen=True)
class ResponseOverride:
    """A response whose documented schema is wrong for today's Grafana, and what to check instead."""

    reason: str
    schema: Mapping[str, Any] | None  # None: the body is not checked (e.g. empty on purpose)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"{SPEC_URN}#/components/schemas/{name}"}


# (METHOD, double route pattern, status) -> what to validate instead of the spec's response.
RESPONSE_OVERRIDES: dict[tuple[str, str, int], ResponseOverride] = {
    ("POST", "/api/dashboards/db", 200): ResponseOverride(
        "spec types the saved dashboard's id as a string; Grafana sends the integer id",
        {
            "type": "object",
            "required": ["id", "uid", "url", "status", "version"],
            "properties": {
                "id": {"type": "integer"},
                "uid": {"type": "string"},
                "url": {"type": "string"},
                "status": {"type": "string"},
                "version": {"type": "integer"},
                "slug": {"type": "string"},
                "folderUid": {"type": "string"},
            },
        },
    ),
    ("DELETE", "/api/dashboards/uid/{uid}", 200): ResponseOverride(
        "Grafana 10+ answers {title, message, uid}; the 9.5 spec still requires the numeric id",
        {
            "type": "object",
            "required": ["title", "message", "uid"],
            "properties": {
                "title": {"type": "string"},
                "message": {"type": "string"},
                "uid": {"type": "string"},
            },
        },
    ),
    ("DELETE", "/api/folders/{uid}", 200): ResponseOverride(
        "current Grafana answers {message}; id and title were dropped after 9.5",
        {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}},
    ),
    ("GET", "/api/serviceaccounts/{id}/tokens", 200): ResponseOverride(
        "spec declares one TokenDTO; the handler returns a list of them",
        {"type": "array", "items": _ref("TokenDTO")},
    ),
    ("GET", "/api/users", 200): ResponseOverride(
        "spec declares the /users/search envelope; GET /api/users returns the bare list of hits",
        {"type": "array", "items": _ref("UserSearchHitDTO")},
    ),
    ("DELETE", "/api/v1/provisioning/contact-points/{uid}", 202): ResponseOverride(
        "spec and docs say 204, the handler answers 202 {message} (SEMANTICS.md section 11)",
        {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}},
    ),
    ("PUT", "/api/v1/provisioning/mute-timings/{name}", 202): ResponseOverride(
        "spec says 200; the handler answers 202 with the interval (SEMANTICS.md section 11)",
        _ref("MuteTimeInterval"),
    ),
    ("GET", "/api/v1/provisioning/alert-rules/{uid}", 404): ResponseOverride(
        "the provisioning API answers 404 with an empty body", None
    ),
    ("PUT", "/api/v1/provisioning/alert-rules/{uid}", 404): ResponseOverride(
        "the provisioning API answers 404 with an empty body", None
    ),
    ("GET", "/api/v1/provisioning/folder/{folderUid}/rule-groups/{group}", 404): ResponseOverride(
        "the provisioning API answers 404 with an empty body", None
    ),
}

# Routes the double serves on purpose although the 9.5 spec does not list them. Nothing else
# outside the spec is served: an unknown path is answered 404 and recorded as a violation.
UNDOCUMENTED_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/api/health"): "health endpoint; unauthenticated, outside the swagger",
    ("HEAD", "/api/health"): "health endpoint; unauthenticated, outside the swagger",
    ("GET", "/healthz"): "liveness endpoint, plain 'Ok'",
    ("GET", "/metrics"): "Prometheus metrics endpoint",
    # pkg/api/api.go registers them outside /api, like the health endpoints (grafana_double_lib/sessions.py).
    ("POST", "/login"): "session login (LoginPost), outside the swagger",
    ("GET", "/logout"): "session logout (Logout), outside the swagger",
    ("POST", "/api/folders/{uid}/move"): "nested folder move, added after 9.5",
    ("GET", "/api/frontend/settings"): "frontend settings (buildInfo), outside the swagger; clients read the version",
    ("DELETE", "/api/v1/provisioning/folder/{folderUid}/rule-groups/{group}"): (
        "rule group delete, added after 9.5 (SEMANTICS.md section 11)"
    ),
}

# Generic rule for error statuses the spec does not list on an operation: Grafana's auth
# middleware (401/403), request binding (400) and not-found handling (404) apply to every route,
# and all of them answer with Grafana's error envelope, so the body is checked against
# ErrorResponseBody instead of failing with "unknown status".
UNDOCUMENTED_ERROR_SCHEMA = ERROR_BODY_REF


@dataclass
class Violation:
    """One request or response that broke the spec."""

    kind: str  # "request", "response" or "unknown-path"
    method: str
    path: str
    errors: list[str]
    status: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "errors": self.errors,
        }


@dataclass
class _SpecRequest:
    """The request protocol openapi-core expects, built from the double's parsed request."""

    method: str
    path: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)
    host_url: str = SERVER_URL


@dataclass
class _SpecResponse:
    status_code: int
    data: bytes | None
    content_type: str
    headers: Headers = field(default_factory=Headers)


@dataclass
class RequestCheck:
    """Outcome of checking a request: documented, or served off-spec on purpose, plus errors."""

    documented: bool
    errors: list[str]


def default_spec_path() -> Path:
    """Where the spec is found when neither --spec nor GRAFANA_DOUBLE_SPEC names it."""
    env = os.environ.get(SPEC_ENV)
    if env:
        return Path(env)
    # tests/doubles/grafana/grafana_double_lib/ -> <repo>/../shared/grafana/openapi3.json
    parents = Path(__file__).resolve().parents
    if len(parents) > 4:
        beside_repo = parents[4].parent / "shared" / "grafana" / "openapi3.json"
        if beside_repo.is_file():
            return beside_repo
    return SPEC_FALLBACK


def _fix_known_spec_defects(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    type_schema = spec["components"]["schemas"][CONTACT_POINT_SCHEMA]["properties"]["type"]
    type_schema["enum"] = [value.strip() for value in type_schema["enum"]]
    schemas = spec["components"]["schemas"]
    schemas[ALERT_RULE_SCHEMA]["properties"]["for"] = copy.deepcopy(PROMETHEUS_DURATION)
    schemas[OBJECT_MATCHERS_SCHEMA] = copy.deepcopy(OBJECT_MATCHER_TRIPLES)
    schemas[ROUTE_SCHEMA]["properties"]["matchers"] = copy.deepcopy(MATCHER_STRINGS)
    for name in CREATE_FOLDER_NULLABLE:
        schemas[CREATE_FOLDER_SCHEMA]["properties"][name]["nullable"] = True
    return spec


def spec_path_for(path: str) -> str:
    """The URL path as the spec spells it (defect 1 and the proxy catch-all)."""
    if path.startswith(DOUBLED_API_PREFIX_REAL):
        path = DOUBLED_API_PREFIX_SPEC + path[len(DOUBLED_API_PREFIX_REAL) :]
    proxy = PROXY_ROUTE_RE.match(path)
    if proxy:
        path = proxy.group(1) + proxy.group(2).replace("/", "%2F")
    return path


def _describe(exc: BaseException) -> list[str]:
    """Readable lines for an openapi-core error, including the schema errors behind it."""
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        schema_errors = getattr(current, "schema_errors", None)
        if schema_errors:
            for err in schema_errors:
                where = "/".join(str(p) for p in err.absolute_path) or "(body)"
                lines.append(f"{where}: {err.message}")
        current = current.__cause__ or current.__context__
    head = str(exc) or type(exc).__name__
    if lines:
        return [f"{type(exc).__name__}: " + "; ".join(lines)]
    return [f"{type(exc).__name__}: {head}"]


class SpecGuard:
    """Loads the spec once and validates requests and responses against it."""

    def __init__(self, spec_file: Path) -> None:
        raw = json.loads(spec_file.read_text(encoding="utf-8"))
        self.spec_file = spec_file
        self.spec = _fix_known_spec_defects(raw)
        # The spec has a defect in an Enterprise-only path; openapi-core's spec check is off.
        self.api = OpenAPI.from_dict(self.spec, config=Config(spec_validator_cls=None))
        resource = Resource.from_contents(self.spec, default_specification=DRAFT4)
        self._registry = Registry().with_resource(SPEC_URN, resource)
        # openapi-core's lazily resolved spec objects are not documented as thread-safe and the
        # server is threaded: validate one message at a time (each check takes milliseconds).
        self._lock = threading.Lock()

    # -- requests -----------------------------------------------------------------------------

    def check_request(
        self,
        method: str,
        path: str,
        route_pattern: str | None,
        query: Iterable[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> RequestCheck:
        request = self._spec_request(method, path, query, headers, body)
        errors: list[str] = []
        documented = True
        with self._lock:
            found = list(self.api.iter_request_errors(request))
        for exc in found:
            if isinstance(exc, SecurityValidationError):
                # The double authenticates requests itself and answers 401 like Grafana; a missing
                # Authorization header is a legitimate client scenario, not a spec violation.
                continue
            if isinstance(exc, (PathNotFound, OperationNotFound)):
                documented = False
                if route_pattern and (method, route_pattern) in UNDOCUMENTED_ROUTES:
                    continue
                errors.append(f"{method} {path} is not an operation of Grafana's OpenAPI spec")
                continue
            errors.extend(_describe(exc))
        return RequestCheck(documented=documented, errors=errors)

    def _spec_request(
        self,
        method: str,
        path: str,
        query: Iterable[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> _SpecRequest:
        header_map = Headers(list(headers.items()))
        content_type = header_map.get("Content-Type", "application/json").lower()
        if not body:
            body = None
        return _SpecRequest(
            method=method.lower(),
            path=spec_path_for(path),
            body=body,
            content_type=content_type,
            parameters=RequestParameters(
                query=ImmutableMultiDict(list(query)),
                header=header_map,
                cookie=ImmutableMultiDict(),
            ),
        )

    # -- responses ----------------------------------------------------------------------------

    def check_response(
        self,
        method: str,
        path: str,
        route_pattern: str | None,
        query: Iterable[tuple[str, str]],
        headers: Mapping[str, str],
        status: int,
        content_type: str,
        body: bytes,
    ) -> list[str]:
        override = RESPONSE_OVERRIDES.get((method, route_pattern or "", status))
        if override is not None:
            return self._check_against(override.schema, body)
        request = self._spec_request(method, path, query, headers, None)
        response = _SpecResponse(status_code=status, data=body or None, content_type=content_type)
        errors: list[str] = []
        with self._lock:
            found = list(self.api.iter_response_errors(request, response))
        for exc in found:
            if isinstance(exc, (PathNotFound, OperationNotFound)):
                if route_pattern and (method, route_pattern) in UNDOCUMENTED_ROUTES:
                    continue
                errors.append(f"{method} {path} is not an operation of Grafana's OpenAPI spec")
                continue
            if isinstance(exc, ResponseNotFound):
                if status >= 400:
                    errors.extend(self._check_against(UNDOCUMENTED_ERROR_SCHEMA, body))
                    continue
                errors.append(f"status {status} is not documented for {method} {path}")
                continue
            errors.extend(_describe(exc))
        return errors

    def _check_against(self, schema: Mapping[str, Any] | None, body: bytes) -> list[str]:
        if schema is None:
            return []
        try:
            value = json.loads(body or b"null")
        except ValueError as exc:
            return [f"response body is not JSON: {exc}"]
        validator = OAS30Validator(dict(schema), registry=self._registry)
        return [
            ("/".join(str(p) for p in err.absolute_path) or "(body)") + f": {err.message}"
            for err in validator.iter_errors(value)
        ]

    # -- consistency --------------------------------------------------------------------------

    def documents(self, method: str, route_pattern: str) -> bool:
        """Whether the spec has an operation for a double route (parameter names ignored)."""
        wanted = _shape(spec_path_for_pattern(route_pattern))
        for spec_path, item in self.spec["paths"].items():
            if _shape("/api" + spec_path) == wanted and method.lower() in item:
                return True
        return False


def spec_path_for_pattern(pattern: str) -> str:
    if pattern.startswith(DOUBLED_API_PREFIX_REAL):
        return DOUBLED_API_PREFIX_SPEC + pattern[len(DOUBLED_API_PREFIX_REAL) :]
    return pattern


def _shape(pattern: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", pattern)
