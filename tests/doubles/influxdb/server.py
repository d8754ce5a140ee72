"""HTTP API of the InfluxDB 2 TEST DOUBLE (``influxd`` behind ``/entrypoint.sh``).

Implements /health, /ping, /ready, /metrics, /api/v2/setup, orgs, buckets, users,
authorizations, write (line protocol) and query (a Flux subset, annotated CSV).
Unsupported requests get InfluxDB's error JSON with a "not supported by the double" message.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import tomllib
import yaml
from common import DOUBLE_NOTICE
from common.config import ConfigError, parse_duration, parse_go_flags, split_endpoint
from common.httpserver import HTTPError, Request, Response, Router, request_counter_for, start_server, wait_for_signal
from common.logs import Log, banner
from common.metrics import CONTENT_TYPE, Family, Registry, process_families
from common.strict import load_upstream, unknown_flags

from influxdb import UPSTREAM_VERSION, VERSION, flux, lineprotocol
from influxdb.store import MetaStore, PointStore, operator_permissions, retention_rules

INIT_VARS = ("DOCKER_INFLUXDB_INIT_USERNAME", "DOCKER_INFLUXDB_INIT_PASSWORD", "DOCKER_INFLUXDB_INIT_ORG",
             "DOCKER_INFLUXDB_INIT_BUCKET")


def error(status: int, code: str, message: str, **extra: Any) -> HTTPError:
    return HTTPError(status, json.dumps({"code": code, "message": message, **extra}), "application/json; charset=utf-8")


def _json_error(status: int, message: str) -> Response:
    code = {404: "not found", 405: "method not allowed"}.get(status, "internal error")
    return Response.json({"code": code, "message": "path not found" if status == 404 else message}, status)


# --- settings ----------------------------------------------------------------------------


def load_settings(flags: dict[str, str]) -> dict[str, str]:
    """flags > INFLUXD_* env > config file (INFLUXD_CONFIG_PATH) > defaults, like influxd."""
    home = Path(os.environ.get("HOME", "/root")) / ".influxdbv2"
    settings = {"http-bind-address": ":8086", "bolt-path": str(home / "influxd.bolt"),
                "engine-path": str(home / "engine"), "log-level": "info"}
    settings.update(_config_file(os.environ.get("INFLUXD_CONFIG_PATH", os.getcwd())))
    for key in list(settings):
        env = "INFLUXD_" + key.upper().replace("-", "_")
        if os.environ.get(env):
            settings[key] = os.environ[env]
    for key in list(settings):
        if key in flags:
            settings[key] = flags[key]
    return settings


def _config_file(path: str) -> dict[str, str]:
    """Every key of the first config file found. As in influxd (viper reads the whole file and looks up only the
    keys of its options: influxdata/influxdb v2.9.1 kit/cli/viper.go), unknown keys are ignored, not refused."""
    base = Path(path)
    candidates = [base] if base.is_file() else [base / f"config.{ext}" for ext in ("json", "toml", "yaml", "yml")]
    for candidate in candidates:
        if not candidate.is_file():
            continue
        text = candidate.read_text(encoding="utf-8")
        try:
            if candidate.suffix == ".json":
                data = json.loads(text)
            elif candidate.suffix == ".toml":
                data = tomllib.loads(text)
            else:
                data = yaml.safe_load(text) or {}
        except (ValueError, yaml.YAMLError) as exc:
            raise ConfigError(f"failed to load config file {candidate}: {exc}") from exc
        return {str(k): str(v) for k, v in data.items()}
    return {}


def init_from_env(meta: MetaStore, log: Log) -> dict[str, Any] | None:
    """The image's DOCKER_INFLUXDB_INIT_MODE=setup, done in-process on the first start only."""
    mode = os.environ.get("DOCKER_INFLUXDB_INIT_MODE", "")
    if not mode:
        return None
    if meta.data.get("setup"):
        log.info("found existing setup: DOCKER_INFLUXDB_INIT_* values are ignored after the first start")
        return None
    if mode != "setup":
        raise ConfigError(f"DOCKER_INFLUXDB_INIT_MODE={mode!r} is not supported by the InfluxDB test double "
                          "(only 'setup')")
    missing = [name for name in INIT_VARS if not os.environ.get(name)]
    if missing:
        raise ConfigError(f"error: {', '.join(missing)} must be set when DOCKER_INFLUXDB_INIT_MODE is 'setup'")
    retention = os.environ.get("DOCKER_INFLUXDB_INIT_RETENTION", "") or "0"
    try:
        seconds = int(parse_duration(retention))
    except ConfigError as exc:
        raise ConfigError(f"invalid DOCKER_INFLUXDB_INIT_RETENTION {retention!r}: {exc}") from exc
    result = onboard(meta, os.environ["DOCKER_INFLUXDB_INIT_USERNAME"], os.environ["DOCKER_INFLUXDB_INIT_PASSWORD"],
                     os.environ["DOCKER_INFLUXDB_INIT_ORG"], os.environ["DOCKER_INFLUXDB_INIT_BUCKET"], seconds,
                     os.environ.get("DOCKER_INFLUXDB_INIT_ADMIN_TOKEN") or None)
    log.info("setup completed from DOCKER_INFLUXDB_INIT_* values", org=result["org"]["name"],
             bucket=result["bucket"]["name"], retention_seconds=seconds)
    _write_cli_config(result)
    return result


def _write_cli_config(result: dict[str, Any]) -> None:
    path = os.environ.get("INFLUX_CONFIGS_PATH")
    if not path:
        return
    name = os.environ.get("DOCKER_INFLUXDB_INIT_CLI_CONFIG_NAME", "default")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(f'[{name}]\n  url = "http://localhost:8086"\n  token = "{result["auth"]["token"]}"\n'
                          f'  org = "{result["org"]["name"]}"\n  active = true\n', encoding="utf-8")
    os.chmod(path, 0o600)


def onboard(meta: MetaStore, username: str, password: str, org_name: str, bucket_name: str,
            retention_seconds: int, token: str | None) -> dict[str, Any]:
    if meta.data.get("setup"):
        raise error(422, "conflict", "onboarding has already been completed")
    for value, what in ((username, "username"), (org_name, "org name"), (bucket_name, "bucket name")):
        if not value:
            raise error(422, "unprocessable entity", f"{what} is empty")
    if len(password) < 8:
        raise error(400, "invalid", "passwords must be at least 8 characters long")
    user = meta.create_user(username, password)
    org = meta.create_org(org_name)
    bucket = meta.create_bucket(org["id"], bucket_name, retention_seconds)
    meta.create_bucket(org["id"], "_monitoring", 7 * 86400, "system", "System bucket for monitoring logs")
    meta.create_bucket(org["id"], "_tasks", 3 * 86400, "system", "System bucket for task logs")
    auth = meta.create_authorization(org["id"], user["id"], operator_permissions(), f"{username}'s Token", token)
    meta.data["setup"] = True
    meta.save()
    return {"user": user, "org": org, "bucket": bucket, "auth": auth}


# --- the API -----------------------------------------------------------------------------


class InfluxDouble:
    def __init__(self, meta: MetaStore, points: PointStore, log: Log) -> None:
        self.meta, self.points, self.log = meta, points, log
        self.started = time.time()
        self.registry = Registry()
        self.registry.collector(self._families)
        self.registry.collector(process_families)
        self.requests = request_counter_for(self.registry, "influxdb")
        self.written = self.registry.counter("influxdb_double_points_written_total",
                                             "Field values written through /api/v2/write.", ("bucket",))

    def _families(self) -> list[Family]:
        started_iso = datetime.fromtimestamp(self.started, timezone.utc).isoformat()
        return [
            Family("influxdb_info", "gauge", "Information about the influxdb environment (TEST DOUBLE).")
            .add(1, arch=platform.machine(), build_date=started_iso, commit="double", cpus=str(os.cpu_count()),
                 os=sys.platform, version=VERSION, double="true"),
            Family("influxdb_uptime_seconds", "gauge", "influxdb process uptime in seconds")
            .add(time.time() - self.started),
            Family("influxdb_organizations_total", "counter", "Number of total organizations on the server")
            .add(len(self.meta.data["orgs"])),
            Family("influxdb_buckets_total", "counter", "Number of total buckets on the server")
            .add(len(self.meta.data["buckets"])),
            Family("influxdb_users_total", "counter", "Number of total users on the server")
            .add(len(self.meta.data["users"])),
            Family("influxdb_tokens_total", "counter", "Number of total tokens on the server")
            .add(len(self.meta.data["authorizations"])),
        ]

    def router(self) -> Router:
        r = Router(_json_error)
        r.add("GET", "/health", self.health)
        r.add("GET", "/ping", self.ping)
        r.add("GET", "/ready", self.ready)
        r.add("GET", "/metrics", lambda _r: Response(200, self.registry.render(), CONTENT_TYPE))
        r.add("GET", "/api/v2", lambda _r: Response.json({"links": {"setup": "/api/v2/setup", "orgs": "/api/v2/orgs",
                                                                    "buckets": "/api/v2/buckets",
                                                                    "write": "/api/v2/write",
                                                                    "query": "/api/v2/query"}}))
        r.add("GET,POST", "/api/v2/setup", self.setup)
        r.add("GET,POST", "/api/v2/orgs", self.orgs)
        r.add("GET,PATCH,DELETE", "/api/v2/orgs/(?P<id>[0-9a-f]+)", self.org)
        r.add("GET,POST", "/api/v2/buckets", self.buckets)
        r.add("GET,PATCH,DELETE", "/api/v2/buckets/(?P<id>[0-9a-f]+)", self.bucket)
        r.add("GET,POST", "/api/v2/authorizations", self.authorizations)
        r.add("GET,PATCH,DELETE", "/api/v2/authorizations/(?P<id>[0-9a-f]+)", self.authorization)
        r.add("GET", "/api/v2/users", self.users)
        r.add("GET", "/api/v2/users/(?P<id>[0-9a-f]+)", self.user)
        r.add("GET", "/api/v2/me", self.me)
        r.add("POST", "/api/v2/write", self.write)
        r.add("POST", "/api/v2/query", self.query)
        r.add("GET,POST,PUT,PATCH,DELETE", "/(api/v2/.*|query|write)", self.unsupported)
        return r

    # --- plumbing --------------------------------------------------------------------------

    def authorize(self, req: Request) -> dict[str, Any]:
        header = req.headers.get("Authorization") or ""
        scheme, _sep, token = header.partition(" ")
        if scheme not in ("Token", "Bearer") or not token.strip():
            raise error(401, "unauthorized", "unauthorized access")
        auth = self.meta.by_token(token.strip())
        if auth is None or auth["status"] != "active":
            raise error(401, "unauthorized", "unauthorized access")
        return auth

    @staticmethod
    def allowed(auth: dict[str, Any], action: str, rtype: str, org_id: str | None, rid: str | None) -> bool:
        for perm in auth["permissions"]:
            res = perm.get("resource") or {}
            if perm.get("action") != action or res.get("type") != rtype:
                continue
            if res.get("orgID") and res["orgID"] != org_id:
                continue
            if res.get("id") and res["id"] != rid:
                continue
            return True
        return False

    def resolve_org(self, req: Request, auth: dict[str, Any]) -> dict[str, Any]:
        org_id, org_name = req.arg("orgID"), req.arg("org")
        if org_id:
            org = self.meta.one("orgs", id=org_id)
        elif org_name:
            org = self.meta.one("orgs", name=org_name) or self.meta.one("orgs", id=org_name)
        else:
            org = self.meta.one("orgs", id=auth["orgID"])
        if org is None:
            shown = org_id or org_name or ""
            raise error(404, "not found", f'organization name "{shown}" not found')
        return org

    @staticmethod
    def org_view(org: dict[str, Any]) -> dict[str, Any]:
        oid = org["id"]
        return {**org, "links": {"self": f"/api/v2/orgs/{oid}", "buckets": f"/api/v2/buckets?org={org['name']}",
                                 "members": f"/api/v2/orgs/{oid}/members", "owners": f"/api/v2/orgs/{oid}/owners"}}

    @staticmethod
    def bucket_view(bucket: dict[str, Any]) -> dict[str, Any]:
        bid, oid = bucket["id"], bucket["orgID"]
        return {**bucket, "labels": [], "links": {"self": f"/api/v2/buckets/{bid}", "org": f"/api/v2/orgs/{oid}",
                                                  "write": f"/api/v2/write?org={oid}&bucket={bid}"}}

    def auth_view(self, auth: dict[str, Any], reveal: bool = False) -> dict[str, Any]:
        """An authorization as the API shows it. InfluxDB 2.9 stores tokens hashed by default and clears the raw
        token before it writes the record, so only the answer that creates a token carries it; listings and reads
        show an empty token (influxdata/influxdb v2.9.1 authorization/storage.go, "Token storage and verification",
        and storage_authorization.go, where the record is redacted before it is stored)."""
        org = self.meta.one("orgs", id=auth["orgID"]) or {}
        user = self.meta.one("users", id=auth["userID"]) or {}
        return {**auth, "token": auth["token"] if reveal else "", "org": org.get("name", ""),
                "user": user.get("name", ""),
                "links": {"self": f"/api/v2/authorizations/{auth['id']}", "user": f"/api/v2/users/{auth['userID']}"}}

    @staticmethod
    def user_view(user: dict[str, Any]) -> dict[str, Any]:
        return {"id": user["id"], "name": user["name"], "status": user["status"],
                "links": {"self": f"/api/v2/users/{user['id']}"}}

    def unsupported(self, req: Request) -> Response:
        raise error(404, "not found", f"{req.method} {req.path} is not supported by the InfluxDB 2 test double")

    # --- health ----------------------------------------------------------------------------

    def health(self, _req: Request) -> Response:
        return Response.json({"name": "influxdb", "message": "ready for queries and writes", "status": "pass",
                              "checks": [], "version": VERSION, "commit": "double"})

    def ping(self, _req: Request) -> Response:
        return Response(204, headers={"X-Influxdb-Build": "OSS", "X-Influxdb-Version": VERSION})

    def ready(self, _req: Request) -> Response:
        started = datetime.fromtimestamp(self.started, timezone.utc).isoformat().replace("+00:00", "Z")
        return Response.json({"status": "ready", "started": started, "up": f"{time.time() - self.started:.3f}s"})

    # --- setup / orgs / users ---------------------------------------------------------------

    def setup(self, req: Request) -> Response:
        if req.method == "GET":
            return Response.json({"allowed": not self.meta.data.get("setup")})
        body = req.json() or {}
        seconds = int(body.get("retentionPeriodSeconds") or int(body.get("retentionPeriodHrs") or 0) * 3600)
        result = onboard(self.meta, str(body.get("username", "")), str(body.get("password", "")),
                         str(body.get("org", "")), str(body.get("bucket", "")), seconds, body.get("token") or None)
        return Response.json({"user": self.user_view(result["user"]), "org": self.org_view(result["org"]),
                              "bucket": self.bucket_view(result["bucket"]),
                              "auth": self.auth_view(result["auth"], reveal=True)}, 201)

    def orgs(self, req: Request) -> Response:
        auth = self.authorize(req)
        if req.method == "POST":
            if not self.allowed(auth, "write", "orgs", None, None):
                raise error(403, "forbidden", "insufficient permissions to create an organization")
            body = req.json() or {}
            name = str(body.get("name") or "")
            if not name:
                raise error(422, "unprocessable entity", "org name is empty")
            if self.meta.one("orgs", name=name):
                raise error(422, "conflict", f"organization with name {name} already exists")
            return Response.json(self.org_view(self.meta.create_org(name, str(body.get("description") or ""))), 201)
        found = [o for o in self.meta.find("orgs") if self.allowed(auth, "read", "orgs", o["id"], o["id"])]
        if req.arg("org"):
            found = [o for o in found if o["name"] == req.arg("org")]
        if req.arg("orgID"):
            found = [o for o in found if o["id"] == req.arg("orgID")]
        return Response.json({"links": {"self": "/api/v2/orgs"}, "orgs": [self.org_view(o) for o in found]})

    def org(self, req: Request) -> Response:
        auth = self.authorize(req)
        org = self.meta.one("orgs", id=req.params["id"])
        if org is None or not self.allowed(auth, "read", "orgs", org["id"], org["id"]):
            raise error(404, "not found", "organization not found")
        if req.method == "GET":
            return Response.json(self.org_view(org))
        if not self.allowed(auth, "write", "orgs", org["id"], org["id"]):
            raise error(403, "forbidden", "insufficient permissions to change the organization")
        if req.method == "DELETE":
            self.meta.delete("orgs", org["id"])
            return Response(204)
        body = req.json() or {}
        changes = {k: str(body[k]) for k in ("name", "description") if k in body}
        return Response.json(self.org_view(self.meta.update("orgs", org["id"], changes) or org))

    def users(self, req: Request) -> Response:
        auth = self.authorize(req)
        found = [u for u in self.meta.find("users") if self.allowed(auth, "read", "users", None, u["id"])
                 or u["id"] == auth["userID"]]
        if req.arg("name"):
            found = [u for u in found if u["name"] == req.arg("name")]
        return Response.json({"links": {"self": "/api/v2/users"}, "users": [self.user_view(u) for u in found]})

    def user(self, req: Request) -> Response:
        self.authorize(req)
        user = self.meta.one("users", id=req.params["id"])
        if user is None:
            raise error(404, "not found", "user not found")
        return Response.json(self.user_view(user))

    def me(self, req: Request) -> Response:
        auth = self.authorize(req)
        user = self.meta.one("users", id=auth["userID"])
        if user is None:
            raise error(404, "not found", "user not found")
        return Response.json(self.user_view(user))

    # --- buckets ----------------------------------------------------------------------------

    @staticmethod
    def _retention_from(body: dict[str, Any]) -> int:
        rules = body.get("retentionRules") or []
        if not isinstance(rules, list):
            raise error(400, "invalid", "retentionRules must be a list")
        for rule in rules:
            if rule.get("type", "expire") == "expire":
                seconds = int(rule.get("everySeconds", 0))
                if 0 < seconds < 3600:
                    raise error(422, "unprocessable entity", "expiration seconds must be greater than or equal to "
                                                             "one hour")
                return seconds
        return 0

    def buckets(self, req: Request) -> Response:
        auth = self.authorize(req)
        if req.method == "POST":
            body = req.json() or {}
            org = self.meta.one("orgs", id=str(body.get("orgID") or ""))
            if org is None:
                raise error(404, "not found", "organization not found")
            if not self.allowed(auth, "write", "buckets", org["id"], None):
                raise error(403, "forbidden", "insufficient permissions to create a bucket")
            name = str(body.get("name") or "")
            if not name or name.startswith("_"):
                raise error(400, "invalid", f"bucket name {name!r} is invalid")
            if self.meta.one("buckets", orgID=org["id"], name=name):
                raise error(422, "conflict", f"bucket with name {name} already exists")
            bucket = self.meta.create_bucket(org["id"], name, self._retention_from(body),
                                             description=str(body.get("description") or ""))
            return Response.json(self.bucket_view(bucket), 201)
        found = [b for b in self.meta.find("buckets") if self.allowed(auth, "read", "buckets", b["orgID"], b["id"])]
        if req.arg("org") or req.arg("orgID"):
            org = self.resolve_org(req, auth)
            found = [b for b in found if b["orgID"] == org["id"]]
        for key, attr in (("name", "name"), ("id", "id")):
            if req.arg(key):
                found = [b for b in found if b[attr] == req.arg(key)]
        offset, limit = int(req.arg("offset") or 0), int(req.arg("limit") or 20)
        page = found[offset:offset + limit]
        return Response.json({"links": {"self": "/api/v2/buckets"}, "buckets": [self.bucket_view(b) for b in page]})

    def bucket(self, req: Request) -> Response:
        auth = self.authorize(req)
        bucket = self.meta.one("buckets", id=req.params["id"])
        if bucket is None or not self.allowed(auth, "read", "buckets", bucket["orgID"], bucket["id"]):
            raise error(404, "not found", "bucket not found")
        if req.method == "GET":
            return Response.json(self.bucket_view(bucket))
        if not self.allowed(auth, "write", "buckets", bucket["orgID"], bucket["id"]):
            raise error(403, "forbidden", "insufficient permissions to change the bucket")
        if req.method == "DELETE":
            self.meta.delete("buckets", bucket["id"])
            self.points.drop_bucket(bucket["id"])
            return Response(204)
        body = req.json() or {}
        changes: dict[str, Any] = {k: str(body[k]) for k in ("name", "description") if k in body}
        if "retentionRules" in body:
            changes["retentionRules"] = retention_rules(self._retention_from(body))
        return Response.json(self.bucket_view(self.meta.update("buckets", bucket["id"], changes) or bucket))

    # --- authorizations ------------------------------------------------------------------------

    def authorizations(self, req: Request) -> Response:
        auth = self.authorize(req)
        if req.method == "POST":
            body = req.json() or {}
            org = self.meta.one("orgs", id=str(body.get("orgID") or ""))
            if org is None:
                raise error(400, "invalid", "orgID is invalid or missing")
            if not self.allowed(auth, "write", "authorizations", org["id"], None):
                raise error(403, "forbidden", "insufficient permissions to create an authorization")
            permissions = body.get("permissions")
            if not isinstance(permissions, list) or not permissions:
                raise error(400, "invalid", "permissions are required")
            created = self.meta.create_authorization(org["id"], str(body.get("userID") or auth["userID"]), permissions,
                                                     str(body.get("description") or ""),
                                                     status=str(body.get("status") or "active"))
            return Response.json(self.auth_view(created, reveal=True), 201)
        found = [a for a in self.meta.find("authorizations")
                 if self.allowed(auth, "read", "authorizations", a["orgID"], a["id"]) or a["id"] == auth["id"]]
        filters = {"orgID": req.arg("orgID"), "userID": req.arg("userID")}
        if req.arg("org"):
            org = self.meta.one("orgs", name=req.arg("org"))
            filters["orgID"] = org["id"] if org else "-"
        if req.arg("user"):
            user = self.meta.one("users", name=req.arg("user"))
            filters["userID"] = user["id"] if user else "-"
        for key, value in filters.items():
            if value:
                found = [a for a in found if a[key] == value]
        return Response.json({"links": {"self": "/api/v2/authorizations"},
                              "authorizations": [self.auth_view(a) for a in found]})

    def authorization(self, req: Request) -> Response:
        auth = self.authorize(req)
        target = self.meta.one("authorizations", id=req.params["id"])
        if target is None or not (self.allowed(auth, "read", "authorizations", target["orgID"], target["id"])
                                  or target["id"] == auth["id"]):
            raise error(404, "not found", "authorization not found")
        if req.method == "GET":
            return Response.json(self.auth_view(target))
        if not self.allowed(auth, "write", "authorizations", target["orgID"], target["id"]):
            raise error(403, "forbidden", "insufficient permissions to change the authorization")
        if req.method == "DELETE":
            self.meta.delete("authorizations", target["id"])
            return Response(204)
        body = req.json() or {}
        changes = {k: str(body[k]) for k in ("status", "description") if k in body}
        if changes.get("status", "active") not in ("active", "inactive"):
            raise error(400, "invalid", "status must be active or inactive")
        return Response.json(self.auth_view(self.meta.update("authorizations", target["id"], changes) or target))

    # --- write & query --------------------------------------------------------------------------

    def _bucket_in_org(self, org: dict[str, Any], name_or_id: str) -> dict[str, Any]:
        bucket = (self.meta.one("buckets", orgID=org["id"], name=name_or_id)
                  or self.meta.one("buckets", orgID=org["id"], id=name_or_id))
        if bucket is None:
            raise error(404, "not found", f'bucket "{name_or_id}" not found')
        return bucket

    def write(self, req: Request) -> Response:
        auth = self.authorize(req)
        org = self.resolve_org(req, auth)
        bucket = self._bucket_in_org(org, req.arg("bucket") or "")
        if not self.allowed(auth, "write", "buckets", bucket["orgID"], bucket["id"]):
            raise error(403, "forbidden", "insufficient permissions for write")
        now = time.time_ns()
        try:
            points = lineprotocol.parse(req.decoded_body().decode("utf-8"), req.arg("precision") or "ns", now)
        except lineprotocol.LineProtocolError as exc:
            raise error(400, "invalid", str(exc), line=exc.line_no) from exc
        every = int(bucket["retentionRules"][0]["everySeconds"]) if bucket.get("retentionRules") else 0
        cutoff = now - every * 10**9 if every else None
        kept, dropped, reasons = [], 0, []
        for point in points:
            conflict = self.points.field_conflict(bucket["id"], point)
            if cutoff is not None and point.ts < cutoff:
                dropped += 1
                reasons.append("points beyond retention policy")
            elif conflict:
                dropped += 1
                reasons.append(conflict)
            else:
                kept.append(point)
        if kept:
            self.points.write(bucket["id"], kept)
            self.written.inc(sum(len(p.fields) for p in kept), bucket=bucket["name"])
        if dropped:
            raise error(422, "unprocessable entity",
                        f"failure writing points to database: partial write: {reasons[0]} dropped={dropped}")
        return Response(204)

    def query(self, req: Request) -> Response:
        auth = self.authorize(req)
        org = self.resolve_org(req, auth)
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype == "application/vnd.flux":
            source = req.decoded_body().decode("utf-8")
        else:
            body = req.json() or {}
            if str(body.get("type", "flux")) != "flux":
                raise error(400, "invalid", f"query type {body.get('type')!r} is not supported by the InfluxDB 2 "
                                            "test double (only flux)")
            source = str(body.get("query") or "")

        def find_bucket(name: str | None, bucket_id: str | None) -> dict[str, Any]:
            bucket = self.meta.one("buckets", orgID=org["id"], name=name) if name else \
                self.meta.one("buckets", id=bucket_id)
            if bucket is None or not self.allowed(auth, "read", "buckets", bucket["orgID"], bucket["id"]):
                raise flux.FluxError(f'failed to initialize execute state: could not find bucket "{name or bucket_id}"',
                                     "not found", 404)
            return bucket

        def list_buckets() -> list[dict[str, Any]]:
            return [b for b in self.meta.find("buckets", orgID=org["id"])
                    if self.allowed(auth, "read", "buckets", b["orgID"], b["id"])]

        ctx = flux.Context(find_bucket=find_bucket, read=self.points.read, list_buckets=list_buckets)
        try:
            results = flux.execute(source, ctx)
        except flux.FluxError as exc:
            raise error(exc.status, exc.code, str(exc)) from exc
        return Response(200, flux.to_csv(results), "text/csv; charset=utf-8")

    def retention_loop(self, interval: float) -> None:
        while True:
            time.sleep(interval)
            now = time.time_ns()
            cutoffs = {b["id"]: now - int(b["retentionRules"][0]["everySeconds"]) * 10**9
                       for b in self.meta.find("buckets")
                       if b.get("retentionRules") and int(b["retentionRules"][0]["everySeconds"]) > 0}
            dropped = self.points.enforce_retention(cutoffs)
            if dropped:
                self.log.info("retention policy enforcement deleted points", points=dropped)


def main(argv: list[str]) -> int:
    args = list(argv)
    if args and args[0] == "version":
        print(f"InfluxDB {VERSION} (git: double) build_date: 1970-01-01T00:00:00Z ({DOUBLE_NOTICE})")
        return 0
    if args and args[0] in ("upgrade", "downgrade", "inspect", "recovery"):
        print(f"influxd {args[0]} is not supported by the InfluxDB 2 test double", file=sys.stderr)
        return 1
    if args and args[0] == "run":
        args = args[1:]
    flags = parse_go_flags(args)
    unknown = unknown_flags(flags, load_upstream(Path(__file__).resolve().parent, UPSTREAM_VERSION))
    if unknown:
        # cobra's message (influxd 2.x uses cobra and pflag); influxd then exits 1.
        print(f"Error: unknown flag: --{unknown[0]}", file=sys.stderr)
        return 1
    try:
        settings = load_settings(flags)
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    log = Log("influxd", settings.get("log-level", "info"))
    banner(log, "InfluxDB 2 OSS", VERSION)
    bolt_dir = Path(settings["bolt-path"]).parent
    engine_dir = Path(settings["engine-path"])
    try:
        for directory in (bolt_dir, engine_dir):
            directory.mkdir(parents=True, exist_ok=True)
        meta, points = MetaStore(bolt_dir), PointStore(engine_dir)
        meta.load()
        log.info("Opened metadata and points (JSON files of the test double, not bolt/TSM)",
                 path=str(meta.path), points=points.load())
        if os.environ.get("DOUBLE_INFLUXDB_INIT_FROM_ENV") == "1":
            init_from_env(meta, log)
    except (OSError, ConfigError) as exc:
        log.error("Failed to start influxd", error=str(exc))
        return 1
    double = InfluxDouble(meta, points, log)
    host, port, _explicit = split_endpoint(settings["http-bind-address"], "0.0.0.0", 8086)
    try:
        server = start_server(host, port, double.router(), log, "influxdb", double.requests)
    except OSError as exc:
        log.error("Failed to start influxd", error=f"listen tcp {host}:{port}: {exc.strerror}")
        return 1
    interval = parse_duration(os.environ.get("INFLUXD_STORAGE_RETENTION_CHECK_INTERVAL", "30m"))
    threading.Thread(target=double.retention_loop, args=(max(1.0, interval),), daemon=True).start()
    log.info("Listening", transport="http", addr=f"{host}:{server.server_port}", port=server.server_port)
    wait_for_signal(log, server.shutdown)
    return 0
