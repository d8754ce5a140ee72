"""Tests of the Grafana TEST DOUBLE (tests/doubles/grafana): spec guard, semantics, CLI.

Most tests run the double in a thread on 127.0.0.1 with a random port; the CLI tests start it
as a process exactly like the module tests do.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

DOUBLE_DIR = Path(__file__).resolve().parents[1] / "doubles" / "grafana"
sys.path.insert(0, str(DOUBLE_DIR))

from grafana_double_lib import api_datasources  # noqa: E402
from grafana_double_lib.app import App  # noqa: E402
from grafana_double_lib.backends import (  # noqa: E402
    BackendMonitor,
    RedisTarget,
    ScramClient,
    parse_libpq_dsn,
    postgres_target,
    probe_redis,
)
from grafana_double_lib.provisioning import provision_from_files  # noqa: E402
from grafana_double_lib.server import DoubleHTTPServer  # noqa: E402
from grafana_double_lib.settings import load_settings  # noqa: E402
from grafana_double_lib.spec_guard import SpecGuard, default_spec_path  # noqa: E402
from grafana_double_lib.state import Store  # noqa: E402
from grafana_double_lib.web import ok  # noqa: E402

ADMIN = ("admin", "admin")
PROM_DS = {"name": "prom", "type": "prometheus", "access": "proxy", "url": "http://prometheus:9090"}


@dataclass
class RunningDouble:
    app: App
    server: DoubleHTTPServer
    base_url: str

    def call(
        self, method: str, path: str, body: Any = None, auth: Any = ADMIN, headers: dict[str, str] | None = None
    ) -> requests.Response:
        return requests.request(method, self.base_url + path, json=body, auth=auth, headers=headers or {}, timeout=10)

    def violations(self) -> list[dict[str, Any]]:
        return requests.get(self.base_url + "/__double__/violations", timeout=10).json()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def guard() -> SpecGuard:
    return SpecGuard(default_spec_path())


def start_double(
    guard: SpecGuard,
    data_dir: Path | None = None,
    environ: dict[str, str] | None = None,
    skip_backends: bool = True,
    provisioning: Path | None = None,
) -> RunningDouble:
    settings = load_settings(None, environ or {})
    app = App(settings, Store(data_dir), guard, BackendMonitor(settings, skip=skip_backends))
    if provisioning is not None:
        provision_from_files(app, provisioning)
    server = DoubleHTTPServer(("127.0.0.1", 0), app)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return RunningDouble(app, server, f"http://127.0.0.1:{server.server_address[1]}")


@pytest.fixture
def double(guard: SpecGuard) -> Iterator[RunningDouble]:
    running = start_double(guard)
    yield running
    running.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def alert_rule(title: str = "High load", folder_uid: str = "alerts") -> dict[str, Any]:
    return {
        "orgID": 1,
        "title": title,
        "folderUID": folder_uid,
        "ruleGroup": "node",
        "condition": "B",
        "for": "5m",
        "noDataState": "OK",
        "execErrState": "Error",
        "data": [
            {
                "refId": "A",
                "datasourceUid": "prom",
                "relativeTimeRange": {"from": 600, "to": 0},
                "model": {"expr": "node_load1"},
            },
            {"refId": "B", "datasourceUid": "__expr__", "model": {"type": "threshold", "expression": "A"}},
        ],
        "labels": {"severity": "warning"},
    }


# -- spec guard ------------------------------------------------------------------------------------


def test_valid_datasource_post_passes_the_spec_check(double: RunningDouble) -> None:
    reply = double.call("POST", "/api/datasources", PROM_DS)
    assert reply.status_code == 200
    assert reply.json()["message"] == "Datasource added"
    assert reply.json()["datasource"]["name"] == "prom"
    assert double.violations() == []


def test_datasource_with_numeric_name_is_rejected_as_spec_violation(double: RunningDouble) -> None:
    reply = double.call("POST", "/api/datasources", {"name": 5})
    assert reply.status_code == 400
    assert reply.json()["message"].startswith("double: request violates Grafana OpenAPI spec:")
    assert "is not of type 'string'" in reply.json()["message"]
    [violation] = double.violations()
    assert violation["kind"] == "request"
    assert violation["path"] == "/api/datasources"


def test_response_not_matching_the_spec_is_caught(double: RunningDouble, monkeypatch: pytest.MonkeyPatch) -> None:
    double.call("POST", "/api/datasources", dict(PROM_DS, uid="prom"))
    route = next(r for r in double.app.router.routes if r.method == "GET" and r.pattern == "/api/datasources/uid/{uid}")
    monkeypatch.setattr(route, "handler", lambda request: ok({"id": "not-a-number"}))
    reply = double.call("GET", "/api/datasources/uid/prom")
    assert reply.status_code == 500
    assert "response violates Grafana OpenAPI spec" in reply.json()["message"]
    [violation] = double.violations()
    assert violation["kind"] == "response"
    assert violation["status"] == 200


def test_unknown_api_path_is_answered_404_and_recorded(double: RunningDouble) -> None:
    reply = double.call("GET", "/api/no-such-thing")
    assert reply.status_code == 404
    assert double.violations()[0]["kind"] == "unknown-path"


def test_contact_point_type_without_spec_enum_spaces_is_accepted(double: RunningDouble) -> None:
    body = {"name": "hook", "type": "webhook", "settings": {"url": "http://sink:8080"}}
    reply = double.call("POST", "/api/v1/provisioning/contact-points", body)
    assert reply.status_code == 202
    assert double.violations() == []


def test_every_served_route_is_in_the_spec_or_the_allow_list(guard: SpecGuard) -> None:
    # App() refuses to start otherwise; building one proves the routing table is consistent.
    settings = load_settings(None, {})
    App(settings, Store(None), guard, BackendMonitor(settings, skip=True))


# -- data sources ----------------------------------------------------------------------------------


def test_duplicate_datasource_name_conflicts(double: RunningDouble) -> None:
    assert double.call("POST", "/api/datasources", PROM_DS).status_code == 200
    reply = double.call("POST", "/api/datasources", dict(PROM_DS, url="http://other:9090"))
    assert reply.status_code == 409
    assert reply.json()["message"] == "data source with the same name already exists"


def test_datasource_secrets_are_reported_only_as_secure_json_fields(double: RunningDouble) -> None:
    body = dict(PROM_DS, uid="prom", basicAuth=True, basicAuthUser="u", secureJsonData={"basicAuthPassword": "s3cret"})
    created = double.call("POST", "/api/datasources", body).json()["datasource"]
    assert "secureJsonData" not in created
    assert created["secureJsonFields"] == {"basicAuthPassword": True}
    assert "s3cret" not in double.call("GET", "/api/datasources/uid/prom").text
    # Omitted secrets are kept; an empty string clears the key.
    kept = double.call("PUT", "/api/datasources/uid/prom", dict(PROM_DS, version=1)).json()
    assert kept["datasource"]["secureJsonFields"] == {"basicAuthPassword": True}
    cleared = double.call(
        "PUT", "/api/datasources/uid/prom", dict(PROM_DS, version=2, secureJsonData={"basicAuthPassword": ""})
    )
    assert cleared.json()["datasource"]["secureJsonFields"] == {}


def test_datasource_version_increments_and_stale_version_conflicts(double: RunningDouble) -> None:
    double.call("POST", "/api/datasources", dict(PROM_DS, uid="prom"))
    first = double.call("PUT", "/api/datasources/uid/prom", dict(PROM_DS, version=1))
    assert first.json()["datasource"]["version"] == 2
    second = double.call("PUT", "/api/datasources/uid/prom", dict(PROM_DS, version=2))
    assert second.json()["datasource"]["version"] == 3
    stale = double.call("PUT", "/api/datasources/uid/prom", dict(PROM_DS, version=1))
    assert stale.status_code == 409
    unconditional = double.call("PUT", "/api/datasources/uid/prom", PROM_DS)
    assert unconditional.json()["datasource"]["version"] == 1


def test_first_datasource_of_an_org_becomes_default(double: RunningDouble) -> None:
    first = double.call("POST", "/api/datasources", PROM_DS).json()["datasource"]
    second = double.call("POST", "/api/datasources", dict(PROM_DS, name="loki", type="loki"))
    assert first["isDefault"] is True
    assert second.json()["datasource"]["isDefault"] is False


def test_invalid_datasource_uid_is_refused_like_grafana_12(double: RunningDouble) -> None:
    reply = double.call("POST", "/api/datasources", dict(PROM_DS, uid="no spaces allowed"))
    assert reply.status_code == 400
    assert reply.json()["messageId"] == "datasource.uidInvalid"


# -- folders and dashboards ------------------------------------------------------------------------


def test_stale_dashboard_version_fails_with_412(double: RunningDouble) -> None:
    board = {"title": "Host", "uid": "host"}
    assert double.call("POST", "/api/dashboards/db", {"dashboard": board}).status_code == 200
    stale = double.call("POST", "/api/dashboards/db", {"dashboard": board})
    assert stale.status_code == 412
    assert stale.json() == {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
    forced = double.call("POST", "/api/dashboards/db", {"dashboard": board, "overwrite": True})
    assert forced.status_code == 200


def test_dashboard_version_increments_on_each_save(double: RunningDouble) -> None:
    versions = []
    for _save in range(3):
        current = double.call("GET", "/api/dashboards/uid/host")
        version = current.json()["dashboard"]["version"] if current.status_code == 200 else 0
        board = {"title": "Host", "uid": "host", "version": version}
        versions.append(double.call("POST", "/api/dashboards/db", {"dashboard": board}).json()["version"])
    assert versions == [1, 2, 3]
    meta = double.call("GET", "/api/dashboards/uid/host").json()["meta"]
    assert meta["version"] == 3
    assert meta["folderTitle"] == "General"


def test_dashboard_in_nested_folder_reports_folder_uid(double: RunningDouble) -> None:
    double.call("POST", "/api/folders", {"uid": "cohort", "title": "Cohort"})
    child = double.call("POST", "/api/folders", {"uid": "week1", "title": "Week 1", "parentUid": "cohort"}).json()
    assert child["parentUid"] == "cohort"
    assert [p["uid"] for p in child["parents"]] == ["cohort"]
    saved = double.call(
        "POST", "/api/dashboards/db", {"dashboard": {"title": "Logs", "uid": "logs"}, "folderUid": "week1"}
    )
    assert saved.json()["folderUid"] == "week1"
    meta = double.call("GET", "/api/dashboards/uid/logs").json()["meta"]
    assert (meta["folderUid"], meta["folderTitle"]) == ("week1", "Week 1")
    hits = double.call("GET", "/api/search?type=dash-db&folderUIDs=week1").json()
    assert [h["uid"] for h in hits] == ["logs"]


def test_folder_rename_keeps_uid_and_stale_version_fails(double: RunningDouble) -> None:
    double.call("POST", "/api/folders", {"uid": "ops", "title": "Ops"})
    renamed = double.call("PUT", "/api/folders/ops", {"title": "Operations", "version": 1})
    assert renamed.json()["uid"] == "ops"
    assert renamed.json()["version"] == 2
    stale = double.call("PUT", "/api/folders/ops", {"title": "Again", "version": 1})
    assert stale.status_code == 412
    assert stale.json()["status"] == "version-mismatch"
    duplicate = double.call("POST", "/api/folders", {"uid": "ops", "title": "Other"})
    assert duplicate.status_code == 412


# -- auth and orgs ---------------------------------------------------------------------------------


def test_bad_credentials_answer_401_with_grafana_message(double: RunningDouble) -> None:
    wrong = double.call("GET", "/api/datasources", auth=("admin", "wrong"))
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "Invalid username or password"
    anonymous = double.call("GET", "/api/datasources", auth=None)
    assert anonymous.status_code == 401
    assert anonymous.json()["message"] == "Unauthorized"
    bad_token = double.call(
        "GET", "/api/datasources", auth=None, headers={"Authorization": "Bearer glsa_nope_00000000"}
    )
    assert bad_token.json()["message"] == "Invalid API key"


def test_org_header_isolates_resources(double: RunningDouble) -> None:
    org_id = double.call("POST", "/api/orgs", {"name": "cohort-a"}).json()["orgId"]
    in_org = {"X-Grafana-Org-Id": str(org_id)}
    assert double.call("POST", "/api/datasources", PROM_DS, headers=in_org).status_code == 200
    assert double.call("GET", "/api/datasources/name/prom", headers=in_org).status_code == 200
    assert double.call("GET", "/api/datasources/name/prom").status_code == 404
    # A user who is not a member of the org named in the header is denied.
    double.call("POST", "/api/admin/users", {"login": "alice", "email": "alice@example.org", "password": "alice-pw"})
    denied = double.call("GET", "/api/datasources", auth=("alice", "alice-pw"), headers=in_org)
    assert denied.status_code == 403


def test_viewer_cannot_create_datasources(double: RunningDouble) -> None:
    double.call("POST", "/api/admin/users", {"login": "bob", "email": "bob@example.org", "password": "bob-pw"})
    reply = double.call("POST", "/api/datasources", PROM_DS, auth=("bob", "bob-pw"))
    assert reply.status_code == 403
    assert "datasources:create" in reply.json()["message"]


def test_service_account_token_is_shown_once_and_bound_to_its_org(double: RunningDouble) -> None:
    account = double.call("POST", "/api/serviceaccounts", {"name": "ci", "role": "Admin"})
    assert account.status_code == 201
    sa_id = account.json()["id"]
    token = double.call("POST", f"/api/serviceaccounts/{sa_id}/tokens", {"name": "t1"}).json()
    assert token["key"].startswith("glsa_")
    listed = double.call("GET", f"/api/serviceaccounts/{sa_id}/tokens").json()
    assert "key" not in listed[0]
    bearer = {"Authorization": f"Bearer {token['key']}"}
    assert double.call("GET", "/api/datasources", auth=None, headers=bearer).status_code == 200
    double.call("POST", "/api/orgs", {"name": "other"})
    mismatch = double.call("GET", "/api/datasources", auth=None, headers={**bearer, "X-Grafana-Org-Id": "2"})
    assert mismatch.status_code == 401
    assert mismatch.json()["messageId"] == "api-key.organization-mismatch"


def test_org_membership_conflict_and_last_admin_protection(double: RunningDouble) -> None:
    double.call("POST", "/api/admin/users", {"login": "carol", "email": "carol@example.org", "password": "carol-pw"})
    again = double.call("POST", "/api/org/users", {"loginOrEmail": "carol", "role": "Viewer"})
    assert again.status_code == 409
    last_admin = double.call("PATCH", "/api/org/users/1", {"role": "Viewer"})
    assert last_admin.status_code == 400


# -- alerting provisioning -------------------------------------------------------------------------


def test_alerting_status_codes_match_grafana(double: RunningDouble) -> None:
    double.call("POST", "/api/folders", {"uid": "alerts", "title": "Alerts"})
    rule = double.call("POST", "/api/v1/provisioning/alert-rules", alert_rule())
    assert rule.status_code == 201
    uid = rule.json()["uid"]
    hook = {"name": "hook", "type": "webhook", "settings": {"url": "http://sink:8080"}}
    point = double.call("POST", "/api/v1/provisioning/contact-points", hook)
    assert point.status_code == 202
    updated = double.call(
        "PUT",
        f"/api/v1/provisioning/contact-points/{point.json()['uid']}",
        dict(hook, settings={"url": "http://sink:9090"}),
    )
    assert (updated.status_code, updated.json()) == (202, {"message": "contactpoint updated"})
    policy = double.call(
        "PUT",
        "/api/v1/provisioning/policies",
        {
            "receiver": "hook",
            "group_by": ["alertname"],
            "routes": [{"receiver": "hook", "object_matchers": [["severity", "=", "critical"]]}],
        },
    )
    assert policy.status_code == 202
    assert double.call("DELETE", f"/api/v1/provisioning/alert-rules/{uid}").status_code == 204
    assert double.call("GET", f"/api/v1/provisioning/alert-rules/{uid}").status_code == 404
    assert double.call("DELETE", "/api/v1/provisioning/policies").status_code == 202
    deleted = double.call("DELETE", f"/api/v1/provisioning/contact-points/{point.json()['uid']}")
    assert deleted.status_code == 202
    assert double.violations() == []


def test_provenance_is_api_unless_disabled_by_header(double: RunningDouble) -> None:
    double.call("POST", "/api/folders", {"uid": "alerts", "title": "Alerts"})
    locked = double.call("POST", "/api/v1/provisioning/alert-rules", alert_rule("Locked"))
    editable = double.call(
        "POST", "/api/v1/provisioning/alert-rules", alert_rule("Editable"), headers={"X-Disable-Provenance": "true"}
    )
    assert locked.json()["provenance"] == "api"
    assert editable.json()["provenance"] == ""


def test_changing_api_provenance_without_it_conflicts(double: RunningDouble) -> None:
    double.call("POST", "/api/folders", {"uid": "alerts", "title": "Alerts"})
    uid = double.call("POST", "/api/v1/provisioning/alert-rules", alert_rule()).json()["uid"]
    reply = double.call(
        "PUT", f"/api/v1/provisioning/alert-rules/{uid}", alert_rule(), headers={"X-Disable-Provenance": "true"}
    )
    assert reply.status_code == 409
    assert reply.json()["messageId"] == "alerting.provenanceMismatch"
    assert double.call("PUT", f"/api/v1/provisioning/alert-rules/{uid}", alert_rule()).status_code == 200


def test_rule_group_put_replaces_the_group(double: RunningDouble) -> None:
    double.call("POST", "/api/folders", {"uid": "alerts", "title": "Alerts"})
    group = {"interval": 30, "rules": [alert_rule("One"), alert_rule("Two")]}
    put = double.call("PUT", "/api/v1/provisioning/folder/alerts/rule-groups/node", group)
    assert put.status_code == 200
    assert [r["title"] for r in put.json()["rules"]] == ["One", "Two"]
    fetched = double.call("GET", "/api/v1/provisioning/folder/alerts/rule-groups/node").json()
    assert fetched["interval"] == 30
    gone = double.call("DELETE", "/api/v1/provisioning/folder/alerts/rule-groups/node")
    assert gone.status_code == 204


# -- persistence, provisioning, proxy --------------------------------------------------------------


def test_state_and_admin_password_survive_restart(guard: SpecGuard, tmp_path: Path) -> None:
    first = start_double(guard, data_dir=tmp_path, environ={"GF_SECURITY_ADMIN_PASSWORD": "one"})
    first.call("POST", "/api/datasources", PROM_DS, auth=("admin", "one"))
    first.stop()
    # Like Grafana, the admin password setting is read only when the database is empty.
    second = start_double(guard, data_dir=tmp_path, environ={"GF_SECURITY_ADMIN_PASSWORD": "two"})
    try:
        assert second.call("GET", "/api/datasources/name/prom", auth=("admin", "one")).ok
        assert second.call("GET", "/api/user", auth=("admin", "two")).status_code == 401
        changed = second.call(
            "PUT", "/api/user/password", {"oldPassword": "one", "newPassword": "three"}, auth=("admin", "one")
        )
        assert changed.status_code == 200
        assert second.call("GET", "/api/user", auth=("admin", "three")).ok
    finally:
        second.stop()


def test_provisioned_datasource_is_read_only(guard: SpecGuard, tmp_path: Path) -> None:
    (tmp_path / "datasources").mkdir()
    (tmp_path / "datasources" / "stack.yaml").write_text(
        "apiVersion: 1\ndatasources:\n"
        "  - name: Prometheus\n    uid: prometheus\n    type: prometheus\n"
        "    url: http://prometheus:9090\n    isDefault: true\n",
        encoding="utf-8",
    )
    running = start_double(guard, provisioning=tmp_path)
    try:
        ds = running.call("GET", "/api/datasources/uid/prometheus").json()
        assert ds["readOnly"] is True
        refused = running.call("DELETE", "/api/datasources/uid/prometheus")
        assert refused.status_code == 403
    finally:
        running.stop()


class _FakePrometheus(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(
            {
                "status": "success",
                "data": {
                    "resultType": "vector",
                    "result": [{"metric": {"__name__": "up", "job": "node"}, "value": [1700000000, "1"]}],
                },
                "seenAuthorization": self.headers.get("Authorization"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def test_proxy_and_ds_query_really_forward_to_the_datasource(double: RunningDouble) -> None:
    upstream = HTTPServer(("127.0.0.1", 0), _FakePrometheus)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{upstream.server_address[1]}"
        double.call(
            "POST",
            "/api/datasources",
            dict(
                PROM_DS,
                uid="prom",
                url=url,
                basicAuth=True,
                basicAuthUser="reader",
                secureJsonData={"basicAuthPassword": "pw"},
            ),
        )
        proxied = double.call("GET", "/api/datasources/proxy/uid/prom/api/v1/query?query=up")
        assert proxied.json()["data"]["result"][0]["metric"]["job"] == "node"
        expected = "Basic " + base64.b64encode(b"reader:pw").decode()
        assert proxied.json()["seenAuthorization"] == expected
        query = {
            "from": "now-5m",
            "to": "now",
            "queries": [{"refId": "A", "datasource": {"uid": "prom"}, "expr": "up", "instant": True}],
        }
        frames = double.call("POST", "/api/ds/query", query).json()["results"]["A"]["frames"]
        assert frames[0]["schema"]["fields"][1]["labels"]["job"] == "node"
        assert frames[0]["data"]["values"][1] == [1.0]
    finally:
        upstream.shutdown()
        upstream.server_close()


class _FakeInfluxDB(BaseHTTPRequestHandler):
    """Answers /api/v2/query with two annotated-CSV tables and records what it was sent."""

    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        _FakeInfluxDB.seen.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                   "body": json.loads(self.rfile.read(length))})
        body = (
            b"#group,false,false,true,false,false\r\n#datatype,string,long,string,dateTime:RFC3339,double\r\n"
            b"#default,_result,,,,\r\n,result,table,service,_time,_value\r\n"
            b",,0,checkout,2026-01-01T00:00:00Z,1.5\r\n,,1,frontend,2026-01-01T00:00:00Z,2\r\n"
            b",,1,frontend,2026-01-01T00:00:02Z,3\r\n\r\n"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def test_ds_query_runs_flux_with_grafanas_macros_and_the_datasource_token(double: RunningDouble) -> None:
    """Grafana's InfluxDB (Flux) backend: macros replaced as pkg/tsdb/influxdb/flux/macros.go does, then
    POST /api/v2/query?org=<organization> with the token (influxdb-client-go); one frame per CSV table."""
    upstream = HTTPServer(("127.0.0.1", 0), _FakeInfluxDB)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    _FakeInfluxDB.seen.clear()
    try:
        double.call("POST", "/api/datasources", {
            "name": "flux", "uid": "flux", "type": "influxdb", "access": "proxy",
            "url": f"http://127.0.0.1:{upstream.server_address[1]}",
            "jsonData": {"version": "Flux", "organization": "data2ai", "defaultBucket": "training"},
            "secureJsonData": {"token": "read-token-1"}})
        query = {"from": "1767225600000", "to": "1767229200000", "queries": [{
            "refId": "A", "datasource": {"uid": "flux", "type": "influxdb"}, "intervalMs": 90000,
            "query": "from(bucket: v.defaultBucket) |> range(start: v.timeRangeStart, stop: v.timeRangeStop)"
                     " |> aggregateWindow(every: v.windowPeriod, fn: mean)"}]}
        answer = double.call("POST", "/api/ds/query", query)
        assert answer.status_code == 200, answer.text
        frames = answer.json()["results"]["A"]["frames"]
    finally:
        upstream.shutdown()
        upstream.server_close()
    (sent,) = _FakeInfluxDB.seen
    assert sent["path"] == "/api/v2/query?org=data2ai"
    assert sent["authorization"] == "Token read-token-1"
    assert sent["body"]["type"] == "flux"
    assert sent["body"]["query"] == (
        'from(bucket: "training") |> range(start: 2026-01-01T00:00:00.000000Z, stop: 2026-01-01T01:00:00.000000Z)'
        " |> aggregateWindow(every: 1m30s, fn: mean)")
    assert [[field["name"] for field in frame["schema"]["fields"]] for frame in frames] == [
        ["service", "_time", "_value"]] * 2
    assert [frame["data"]["values"] for frame in frames] == [
        [["checkout"], [1767225600000], [1.5]],
        [["frontend", "frontend"], [1767225600000, 1767225602000], [2.0, 3.0]]]


# -- health and backend probes ---------------------------------------------------------------------


def _start_cli(extra: list[str], env: dict[str, str], tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable,
        str(DOUBLE_DIR / "grafana_double.py"),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--data-dir",
        str(tmp_path / "data"),
        "--config",
        str(tmp_path / "absent.ini"),
        "--provisioning",
        str(tmp_path / "absent"),
        *extra,
    ]
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 20
    banner = ""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        banner += line
        found = re.search(r"Listening on (http://127\.0\.0\.1:\d+)", line)
        if found:
            return process, found.group(1)
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"double did not start:\n{banner}")


def test_health_fails_with_503_while_the_database_port_is_closed(tmp_path: Path) -> None:
    env = {"GF_DATABASE_TYPE": "postgres", "GF_DATABASE_HOST": f"127.0.0.1:{free_port()}"}
    process, url = _start_cli([], env, tmp_path)
    try:
        reply = requests.get(url + "/api/health", timeout=10)
        assert reply.status_code == 503
        assert reply.json()["database"] == "failing"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_health_is_ok_with_skip_backend_check(tmp_path: Path) -> None:
    env = {"GF_DATABASE_TYPE": "postgres", "GF_DATABASE_HOST": f"127.0.0.1:{free_port()}"}
    process, url = _start_cli(["--skip-backend-check"], env, tmp_path)
    try:
        reply = requests.get(url + "/api/health", timeout=10)
        assert reply.status_code == 200
        assert reply.json()["database"] == "ok"
        assert requests.get(url + "/api/datasources", auth=ADMIN, timeout=10).status_code == 200
        assert "grafana_build_info" in requests.get(url + "/metrics", timeout=10).text
    finally:
        process.terminate()
        process.wait(timeout=10)


def _run_cli(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    command = [sys.executable, str(DOUBLE_DIR / "grafana_double.py"), "cli", *args]
    return subprocess.run(
        command, input=stdin, env={**os.environ, **env}, capture_output=True, text=True, timeout=30, check=False
    )


RESET = ["admin", "reset-admin-password", "--password-from-stdin"]


def _server_ini(tmp_path: Path, port: str) -> Path:
    """A grafana.ini like the role's: the server's database (PostgreSQL) is configured only in this file."""
    ini = tmp_path / "grafana.ini"
    ini.write_text(f"[server]\nhttp_port = {port}\n\n[database]\ntype = postgres\nhost = db:5432\nname = grafana\n")
    return ini


def _start_double_with_ini(tmp_path: Path) -> tuple[subprocess.Popen[str], str, Path]:
    port = str(free_port())
    ini = _server_ini(tmp_path, port)
    process, url = _start_cli(["--skip-backend-check", "--config", str(ini), "--port", port], {}, tmp_path)
    return process, url, ini


def _image_env(tmp_path: Path) -> dict[str, str]:
    """What the grafana-double image (like grafana/grafana) sets: GF_PATHS_*; the CLI reads none of GF_PATHS_CONFIG."""
    return {"GF_PATHS_CONFIG": str(tmp_path / "grafana.ini"), "GF_PATHS_DATA": str(tmp_path / "data")}


def test_cli_without_config_leaves_the_servers_admin_password_alone(tmp_path: Path) -> None:
    process, url, _ini = _start_double_with_ini(tmp_path)
    try:
        done = _run_cli(["--homepath", str(tmp_path / "home"), *RESET], _image_env(tmp_path), stdin="rotated-pw\n")
        # Like Grafana: it succeeds, on the SQLite database defaults.ini names, not on the server's PostgreSQL.
        assert done.returncode == 0, done.stderr
        assert "Admin password changed successfully" in done.stdout
        assert requests.get(url + "/api/user", auth=("admin", "rotated-pw"), timeout=10).status_code == 401
        assert requests.get(url + "/api/user", auth=ADMIN, timeout=10).ok
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_with_config_resets_the_admin_password_of_the_running_server(tmp_path: Path) -> None:
    process, url, ini = _start_double_with_ini(tmp_path)
    try:
        done = _run_cli(
            ["--homepath", str(tmp_path / "home"), "--config", str(ini), *RESET], _image_env(tmp_path),
            stdin="rotated-pw\n",
        )
        assert done.returncode == 0, done.stderr
        assert "Admin password changed successfully" in done.stdout
        assert requests.get(url + "/api/user", auth=("admin", "rotated-pw"), timeout=10).ok
        assert requests.get(url + "/api/user", auth=ADMIN, timeout=10).status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_global_flags_after_the_subcommand_are_refused(tmp_path: Path) -> None:
    done = _run_cli([*RESET, "--config", str(tmp_path / "grafana.ini")], _image_env(tmp_path), stdin="pw-12345\n")
    assert done.returncode == 1
    assert "--config" in done.stderr


def test_cli_reads_custom_ini_and_gf_variables_without_config(tmp_path: Path) -> None:
    """Without --config: defaults, <homepath>/conf/custom.ini, then GF_<SECTION>_<KEY> (here: the server's database)."""
    process, url, _ini = _start_double_with_ini(tmp_path)
    try:
        port = url.rsplit(":", 1)[1]
        (tmp_path / "home" / "conf").mkdir(parents=True)
        (tmp_path / "home" / "conf" / "custom.ini").write_text(f"[server]\nhttp_port = {port}\n")
        env = {**_image_env(tmp_path), "GF_DATABASE_TYPE": "postgres", "GF_DATABASE_HOST": "db:5432"}
        done = _run_cli(["--homepath", str(tmp_path / "home"), *RESET], env, stdin="rotated-pw\n")
        assert done.returncode == 0, done.stderr
        assert requests.get(url + "/api/user", auth=("admin", "rotated-pw"), timeout=10).ok
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_edits_the_state_file_when_no_double_runs(guard: SpecGuard, tmp_path: Path) -> None:
    start_double(guard, data_dir=tmp_path, environ={"GF_PATHS_DATA": str(tmp_path)}).stop()
    done = _run_cli(
        ["admin", "reset-admin-password", "offline-pw"],
        {"GF_SERVER_HTTP_PORT": str(free_port()), "GF_PATHS_DATA": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    restarted = start_double(guard, data_dir=tmp_path)
    try:
        assert restarted.call("GET", "/api/user", auth=("admin", "offline-pw")).ok
    finally:
        restarted.stop()


def test_scram_client_matches_rfc7677_example() -> None:
    client = ScramClient("pencil", nonce="rOprNGfwEbeRWgbNEkqO", username="user")
    assert client.first_message() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    final = client.final_message(server_first)
    assert final.endswith(b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    client.verify_server(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")


def _database_settings(tmp_path: Path, password_file_content: str):
    (tmp_path / "database_password").write_text(password_file_content)
    ini = tmp_path / "grafana.ini"
    ini.write_text("[database]\ntype = postgres\nhost = postgresql:5432\nname = grafana\nuser = grafana\n"
                   f"password = $__file{{{tmp_path / 'database_password'}}}\nssl_mode = disable\n")
    return load_settings(ini, {})


def test_the_database_password_goes_through_grafanas_connection_string_like_lib_pq(tmp_path: Path) -> None:
    # Grafana appends " password=<value>" unquoted (pkg/services/sqlstore/database_config.go); lib/pq ends an
    # unquoted value at a space and reads a backslash as an escape, a quoted value runs to the next unescaped quote.
    assert postgres_target(_database_settings(tmp_path, "plainAbc123")).password == "plainAbc123"
    awkward = "".join(chr(code) for code in range(33, 127)) + " a space"
    quoted = "'" + awkward.replace("\\", "\\\\").replace("'", "\\'") + "'"
    target = postgres_target(_database_settings(tmp_path, quoted))
    assert (target.user, target.database, target.host, target.port) == ("grafana", "grafana", "postgresql", 5432)
    assert target.password == awkward and target.error == ""
    assert 'missing "=" after "words"' in postgres_target(_database_settings(tmp_path, "two words")).error
    assert parse_libpq_dsn("password=a\\b") == {"password": "ab"}
    unterminated = postgres_target(_database_settings(tmp_path, "'open"))
    assert "unterminated quoted string" in unterminated.error


def _fake_redis(reply: bytes) -> tuple[socket.socket, int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer() -> None:
        conn, _peer = listener.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(reply)

    threading.Thread(target=answer, daemon=True).start()
    return listener, int(listener.getsockname()[1])


def test_redis_probe_requires_pong() -> None:
    listener, port = _fake_redis(b"+PONG\r\n")
    with listener:
        assert probe_redis(RedisTarget("127.0.0.1", port, "", "", 0)) == "ok"
    listener, port = _fake_redis(b"HTTP/1.1 400 Bad Request\r\n")
    with listener, pytest.raises(Exception, match="not \\+PONG"):
        probe_redis(RedisTarget("127.0.0.1", port, "", "", 0))


def test_datasource_module_keeps_secrets_out_of_the_dto() -> None:
    record = {
        "id": 1,
        "uid": "x",
        "org_id": 1,
        "name": "n",
        "type": "loki",
        "access": "proxy",
        "url": "",
        "user": "",
        "database": "",
        "basic_auth": False,
        "basic_auth_user": "",
        "with_credentials": False,
        "is_default": True,
        "json_data": {},
        "secure": {"password": "p", "empty": ""},
        "version": 1,
        "read_only": False,
    }
    dto = api_datasources.dto(record)
    assert dto["secureJsonFields"] == {"password": True}
    assert "p" not in json.dumps(dto["secureJsonFields"]).replace("password", "")
