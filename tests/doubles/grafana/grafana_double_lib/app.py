"""Request dispatch: spec check, authentication, handler, response check, bookkeeping."""

from __future__ import annotations

import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from . import (
    DEFAULT_GRAFANA_VERSION,
    api_alerting,
    api_apis,
    api_dashboards,
    api_datasources,
    api_folders,
    api_orgs,
    api_proxy,
    api_serviceaccounts,
    api_system,
    api_teams,
    api_users,
    provisioning,
    sessions,
)
from .auth import authenticate, authorize, ensure_bootstrap
from .backends import BackendMonitor
from .metrics import Metrics
from .settings import Settings, database_key
from .spec_guard import UNDOCUMENTED_ROUTES, SpecGuard, Violation
from .state import Store
from .web import ApiError, Request, Response, Route, Router

DEBUG_PREFIX = "/__double__/"
SAFE_METHODS = ("GET", "HEAD")
MODULES: list[Any] = [
    api_system,
    api_datasources,
    api_proxy,
    api_folders,
    api_dashboards,
    api_orgs,
    api_users,
    api_teams,
    api_serviceaccounts,
    api_alerting,
    api_apis,
    provisioning,
    sessions,
]


@dataclass
class Reply:
    """What the HTTP layer sends back."""

    status: int
    content_type: str
    body: bytes
    headers: Mapping[str, str]
    cookies: tuple[str, ...] = ()


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class App:
    """The Grafana TEST DOUBLE's application: state, spec guard, routes."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        guard: SpecGuard,
        backends: BackendMonitor,
        version: str = DEFAULT_GRAFANA_VERSION,
    ) -> None:
        self.version = version
        self.major = int(version.split(".")[0])
        self.settings = settings
        self.store = store
        self.guard = guard
        self.backends = backends
        self.metrics = Metrics()
        self.sessions = sessions.SessionConfig(settings)
        self.router = Router()
        self.provisioning_root: Path | None = None
        # The database this server uses: `grafana cli` acts on this state only when configured for the same one.
        self.database = database_key(settings, store.path.parent if store.path else None)
        self._violations: list[Violation] = []
        self._violations_lock = threading.Lock()
        self._served: list[dict[str, Any]] = []  # what was asked, for tests that check which API a client used
        for module in MODULES:
            module.register(self)
        self._check_routes_against_spec()
        self.bootstrap()

    # -- lifecycle --

    def bootstrap(self) -> bool:
        with self.store.lock:
            if self.store.database != self.database:
                self.store.database = self.database
                self.store.dirty = True
            created = ensure_bootstrap(
                self.store,
                self.settings.get("security", "admin_user"),
                self.settings.get("security", "admin_password"),
                self.settings.get("security", "admin_email"),
            )
            if created or self.store.dirty:
                self.store.save()
            return created

    def reset(self) -> None:
        with self.store.lock:
            self.store.reset()
            self.bootstrap()
        with self._violations_lock:
            self._violations.clear()
            self._served.clear()

    def _check_routes_against_spec(self) -> None:
        """Every served route is in the spec or in the named allow-list; fail fast otherwise."""
        stray = [
            f"{r.method} {r.pattern}"
            for r in self.router.routes
            if r.spec_checked
            and not self.guard.documents(r.method, r.pattern)
            and (r.method, r.pattern) not in UNDOCUMENTED_ROUTES
        ]
        if stray:
            raise RuntimeError("routes neither in the spec nor in UNDOCUMENTED_ROUTES: " + ", ".join(stray))

    # -- violations --

    def record(self, violation: Violation) -> None:
        with self._violations_lock:
            self._violations.append(violation)
        log(
            f"double: SPEC VIOLATION ({violation.kind}) {violation.method} {violation.path}: "
            + " | ".join(violation.errors)
        )

    def violation_list(self) -> list[dict[str, Any]]:
        with self._violations_lock:
            return [v.as_dict() for v in self._violations]

    def served_list(self) -> list[dict[str, Any]]:
        with self._violations_lock:
            return list(self._served)

    # -- dispatch --

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes, client: str = "") -> Reply:
        started = time.monotonic()
        split = urlsplit(target)
        path = split.path or "/"
        query = parse_qsl(split.query, keep_blank_values=True)
        if path.startswith(DEBUG_PREFIX):
            response = api_system.debug_response(self, method, path, body, client)
            handler_name = "double"
        else:
            response, handler_name = self._dispatch(method, path, query, headers, body, client)
            with self._violations_lock:
                self._served.append({"method": method, "path": path, "route": handler_name, "status": response.status})
        payload = response.encode()
        elapsed = time.monotonic() - started
        self.metrics.observe(handler_name, method, response.status, elapsed)
        log(f'double-grafana {client} "{method} {target}" {response.status} {len(payload)}B {elapsed * 1000:.1f}ms')
        return Reply(response.status, response.content_type, payload, response.headers, tuple(response.cookies))

    def _dispatch(
        self, method: str, path: str, query: list[tuple[str, str]], headers: Mapping[str, str], body: bytes, client: str
    ) -> tuple[Response, str]:
        refusal = sessions.csrf_refusal(self.sessions, method, headers)  # before routing, as Grafana's middleware
        if refusal is not None:
            return refusal, "csrf"
        route, params = self.router.match(method, path)
        pattern = route.pattern if route else None
        if route is None and path.startswith("/apis/"):
            # Outside the 9.5 spec: an app-platform API this version of the double does not serve.
            return Response(404, {"message": "Not found"}), "notfound"
        if route is not None and route.contract is not None:
            return self._dispatch_contract(route, params, method, path, query, headers, body, client), route.pattern
        if route is None or route.spec_checked:
            check = self.guard.check_request(method, path, pattern, query, headers, body)
            if check.errors:
                kind = "unknown-path" if route is None and not check.documented else "request"
                self.record(Violation(kind, method, path, check.errors))
                if kind == "unknown-path":
                    return Response(404, {"message": "Not found"}), "notfound"
                return Response(
                    400, {"message": "double: request violates Grafana OpenAPI spec: " + "; ".join(check.errors)}
                ), pattern or "unknown"
            if route is None:
                self.record(
                    Violation("not-implemented", method, path, ["documented in the spec but not served by the double"])
                )
                return Response(
                    501, {"message": f"double: {method} {path} is not implemented by the Grafana test double"}
                ), "unknown"
        assert route is not None
        request = Request(
            method=method,
            path=path,
            query=query,
            headers=headers,
            body=body,
            params={k: unquote(v) for k, v in params.items()},
            client=client,
        )
        response = self._run(route, request)
        if route.spec_checked and not response.passthrough:
            errors = self.guard.check_response(
                method, path, pattern, query, headers, response.status, response.content_type, response.encode()
            )
            if errors:
                self.record(Violation("response", method, path, errors, response.status))
                response = Response(
                    500, {"message": "double: response violates Grafana OpenAPI spec: " + "; ".join(errors)}
                )
        return response, route.pattern

    def _dispatch_contract(
        self,
        route: Route,
        params: dict[str, str],
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
        client: str,
    ) -> Response:
        """An /apis route: its own contract (apis_contract) instead of the 9.5 spec; the namespace names the org."""
        errors = route.contract.check_request(body)
        if errors:
            self.record(Violation("request", method, path, errors))
            text = "double: request violates the /apis contract: " + "; ".join(errors)
            return api_apis.status(400, text).as_response()
        org_id = api_apis.namespace_org(unquote(params.get("namespace", "")))
        if org_id is None:
            response = api_apis.status(400, f"namespace {params.get('namespace')!r} is not valid: use default (org 1) "
                                       "or org-<id>").as_response()
        else:
            # The namespace, not X-Grafana-Org-Id, chooses the org of an /apis request.
            sent = {k: v for k, v in headers.items() if k.lower() != "x-grafana-org-id"}
            sent["X-Grafana-Org-Id"] = str(org_id)
            params = {k: unquote(v) for k, v in params.items()}
            request = Request(method, path, query, sent, body, params, client=client)
            response = self._run(route, request)
            legacy_error = isinstance(response.body, dict) and response.body.get("kind") != "Status"
            if response.status in (401, 403) and legacy_error:  # from authentication or role checks
                response = api_apis.status(response.status, str(response.body.get("message", ""))).as_response()
        errors = route.contract.check_response(response.status, response.encode())
        if errors:
            self.record(Violation("response", method, path, errors, response.status))
            response = Response(500, {"message": "double: response violates the /apis contract: " + "; ".join(errors)})
        return response

    def _run(self, route: Route, request: Request) -> Response:
        try:
            if route.access != "public":
                # authenticate takes the store's lock where it needs it
                request.identity = authenticate(self.store, request, self.sessions)
                authorize(request.identity, route.access, route.action)
            if not route.locked:
                return route.handler(request)
            with self.store.lock:
                response = route.handler(request)
                if self.store.dirty or (request.method not in SAFE_METHODS and response.status < 400):
                    self.store.save()
                return response
        except ApiError as exc:
            return Response(exc.status, exc.body)
        except Exception:
            log("double: handler error\n" + traceback.format_exc())
            return Response(500, {"message": "Internal Server Error"})
