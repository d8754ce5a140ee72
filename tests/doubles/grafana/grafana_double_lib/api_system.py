"""Health, liveness, metrics, the frontend settings' build info, and the double's own debug endpoints
(outside the spec)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from . import DOUBLE_COMMIT
from .cli import RESET_ENDPOINT, reset_in_store
from .web import Request, Response, ok

if TYPE_CHECKING:
    from .app import App

HEALTH_CONTENT_TYPE = "application/json; charset=UTF-8"


def register(app: App) -> None:
    api = SystemApi(app)
    add = app.router.add
    add("GET", "/api/health", api.health, "public", locked=False)
    add("HEAD", "/api/health", api.health, "public", locked=False)
    add("GET", "/healthz", api.healthz, "public", locked=False)
    add("GET", "/metrics", api.metrics, "public", locked=False)
    # pkg/api/api.go: adminRoute.Get("/settings", authorize(ac.EvalPermission(ac.ActionSettingsRead)), ...);
    # settings:read belongs to the Grafana Admin (server admin) role.
    add("GET", "/api/admin/settings", api.admin_settings, "server-admin", "settings:read")
    add("GET", "/api/frontend/settings", api.frontend_settings, "signed-in", locked=False)


class SystemApi:
    def __init__(self, app: App) -> None:
        self.app = app

    def health(self, request: Request) -> Response:
        status = self.app.backends.status()
        body: dict[str, object] = {"database": "ok" if status.database_ok else "failing"}
        if not self.app.settings.flag("auth.anonymous", "hide_version"):
            body.update(version=self.app.version, commit=DOUBLE_COMMIT)
        if not status.cache_ok:
            # Stricter than Grafana on purpose: a broken remote cache setting fails the check too.
            body["remoteCache"] = "failing"
        text = json.dumps(body, indent=2)
        return Response(200 if status.healthy else 503, raw=text.encode(), content_type=HEALTH_CONTENT_TYPE)

    def admin_settings(self, request: Request) -> Response:
        """GET /api/admin/settings (pkg/api/admin.go AdminGetSettings): every section and key Grafana read, values
        redacted by pkg/setting RedactedValue (Settings.bag)."""
        return ok(self.app.settings.bag())

    def frontend_settings(self, request: Request) -> Response:
        """The part of Grafana's frontend settings that API clients read: ``buildInfo``.

        Grafana serves the whole settings object to a signed-in user (pkg/api/api.go routes
        ``/api/frontend/settings/`` inside the signed-in ``/api`` group; pkg/api/frontendsettings.go
        getFrontendSettings). community.grafana's grafana_dashboard reads ``buildInfo.version`` from it to learn
        the major version. The fields are Grafana's FrontendSettingsBuildInfoDTO (pkg/api/dtos/frontend_settings.go):
        hideVersion is only true for an anonymous viewer with [auth.anonymous] hide_version, and the double has no
        anonymous access, so it is false; the edition is the open-source one ("Open Source", setting.go's
        IsEnterprise false), env is Grafana's default app_mode "production"; versionString is built as
        frontendsettings.go does, "<application name> v<version> (<commit>)". Only the keys clients use are served:
        the rest of the settings object (datasources, panels, feature toggles...) describes the web UI.
        """
        build_info = {
            "hideVersion": False,
            "version": self.app.version,
            "versionString": f"Grafana v{self.app.version} ({DOUBLE_COMMIT})",
            "commit": DOUBLE_COMMIT,
            "commitShort": DOUBLE_COMMIT,
            "buildstamp": 0,
            "edition": "Open Source",
            "latestVersion": "",
            "hasUpdate": False,
            "env": "production",
        }
        return ok({"buildInfo": build_info})

    def healthz(self, request: Request) -> Response:
        return Response(200, raw=b"Ok", content_type="text/plain; charset=utf-8")

    def metrics(self, request: Request) -> Response:
        with self.app.store.lock:
            gauges = {
                "grafana_stat_totals_dashboard": len(self.app.store.items("dashboards")),
                "grafana_stat_totals_folder": len(self.app.store.items("folders")),
                "grafana_stat_totals_datasource": len(self.app.store.items("datasources")),
                "grafana_stat_total_orgs": len(self.app.store.items("orgs")),
                "grafana_stat_total_users": sum(
                    1 for u in self.app.store.items("users") if not u["is_service_account"]
                ),
                "grafana_stat_total_service_accounts": sum(
                    1 for u in self.app.store.items("users") if u["is_service_account"]
                ),
                "grafana_alerting_rules_total": len(self.app.store.items("alert_rules")),
            }
        text = self.app.metrics.render(self.app.version, DOUBLE_COMMIT, gauges)
        return Response(200, raw=text.encode(), content_type="text/plain; version=0.0.4")


LOOPBACK = ("127.0.0.1", "::1", "::ffff:127.0.0.1")


def debug_response(app: App, method: str, path: str, body: bytes, client: str) -> Response:
    """The double's own endpoints under /__double__/ (never part of Grafana's API)."""
    if method == "POST" and path == RESET_ENDPOINT:
        # `grafana cli admin reset-admin-password` inside the container: loopback only.
        if client not in LOOPBACK:
            return Response(403, {"message": "loopback only"})
        request = json.loads(body or b"{}")
        if request.get("database") != app.database:
            # Grafana's CLI writes to the database its own settings name: this server's only if they match.
            return Response(409, {"message": "double: the cli is configured for another database"})
        with app.store.lock:
            done = reset_in_store(
                app.store,
                app.settings.get("security", "admin_user"),
                str(request.get("password") or ""),
                int(request.get("userId") or 0),
            )
        return ok({"message": "Admin password changed"}) if done else Response(404, {"message": "user not found"})
    if method == "GET" and path == "/__double__/violations":
        return ok(app.violation_list())
    if method == "GET" and path == "/__double__/requests":
        return ok(app.served_list())
    if method == "POST" and path == "/__double__/reset":
        app.reset()
        return ok({"message": "double state and violations cleared"})
    if method == "GET" and path == "/__double__/backends":
        status = app.backends.status()
        return ok(
            {
                "database_ok": status.database_ok,
                "cache_ok": status.cache_ok,
                "details": status.details,
                "targets": app.backends.describe(),
            }
        )
    return Response(404, {"message": "unknown double endpoint"})
