"""The Grafana TEST DOUBLE as Grafana 13: /apis dashboards and folders, legacy routes, no numeric-id datasources."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

DOUBLE_DIR = Path(__file__).resolve().parents[1] / "doubles" / "grafana"
sys.path.insert(0, str(DOUBLE_DIR))

from grafana_double_lib.app import App  # noqa: E402
from grafana_double_lib.backends import BackendMonitor  # noqa: E402
from grafana_double_lib.server import DoubleHTTPServer  # noqa: E402
from grafana_double_lib.settings import load_settings  # noqa: E402
from grafana_double_lib.spec_guard import SpecGuard, default_spec_path  # noqa: E402
from grafana_double_lib.state import Store  # noqa: E402

ADMIN = ("admin", "admin")
DASHBOARDS = "/apis/dashboard.grafana.app/v1/namespaces/{ns}/dashboards"
FOLDERS = "/apis/folder.grafana.app/v1/namespaces/{ns}/folders"


class Double:
    def __init__(self, version: str) -> None:
        settings = load_settings(None, {})
        self.app = App(settings, Store(None), SpecGuard(default_spec_path()), BackendMonitor(settings, skip=True),
                       version=version)
        self.server = DoubleHTTPServer(("127.0.0.1", 0), self.app)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def call(self, method: str, path: str, body: Any = None, auth: Any = ADMIN) -> requests.Response:
        return requests.request(method, self.url + path, json=body, auth=auth, timeout=10)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def grafana13() -> Iterator[Double]:
    double = Double("13.0.1")
    yield double
    double.stop()


def folder(name: str, title: str, parent: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if parent:
        meta["annotations"] = {"grafana.app/folder": parent}
    return {"apiVersion": "folder.grafana.app/v1", "kind": "Folder", "metadata": meta, "spec": {"title": title}}


def dashboard(name: str, title: str, folder_uid: str = "", version: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "annotations": {"grafana.app/folder": folder_uid} if folder_uid else {}}
    if version:
        meta["resourceVersion"] = version
    return {"apiVersion": "dashboard.grafana.app/v1", "kind": "Dashboard", "metadata": meta,
            "spec": {"title": title, "panels": []}}


def test_health_reports_the_version_the_double_runs_as(grafana13: Double) -> None:
    assert grafana13.call("GET", "/api/health").json()["version"] == "13.0.1"
    twelve = Double("12.3.0")
    try:
        assert twelve.call("GET", "/api/health").json()["version"] == "12.3.0"
        assert twelve.call("GET", FOLDERS.format(ns="default")).status_code == 404
    finally:
        twelve.stop()


def test_grafana13_refuses_numeric_id_datasource_routes(grafana13: Double) -> None:
    datasource = {"name": "p", "type": "prometheus", "access": "proxy", "url": "http://p:9090", "uid": "p"}
    created = grafana13.call("POST", "/api/datasources", datasource)
    assert created.status_code == 200
    assert grafana13.call("GET", f"/api/datasources/{created.json()['id']}").status_code == 404
    assert grafana13.call("GET", "/api/datasources/uid/p").status_code == 200


def test_dashboard_create_get_conflict_update_and_delete(grafana13: Double) -> None:
    path = DASHBOARDS.format(ns="default")
    assert grafana13.call("POST", FOLDERS.format(ns="default"), folder("ops", "Ops")).status_code == 201
    made = grafana13.call("POST", path, dashboard("d1", "One", "ops"))
    assert made.status_code == 201, made.text
    assert made.json()["metadata"]["annotations"]["grafana.app/folder"] == "ops"
    assert grafana13.call("POST", path, dashboard("d1", "One")).json()["reason"] == "AlreadyExists"
    version = made.json()["metadata"]["resourceVersion"]
    assert grafana13.call("PUT", path + "/d1", dashboard("d1", "Two", "ops", version)).status_code == 200
    stale = grafana13.call("PUT", path + "/d1", dashboard("d1", "Three", "ops", version))
    assert (stale.status_code, stale.json()["reason"]) == (409, "Conflict")
    assert grafana13.call("PUT", path + "/d1", dashboard("d1", "Four")).status_code == 200  # unconditional
    legacy = grafana13.call("GET", "/api/dashboards/uid/d1").json()
    assert (legacy["dashboard"]["title"], legacy["meta"]["folderUid"]) == ("Four", "")
    assert [i["metadata"]["name"] for i in grafana13.call("GET", path).json()["items"]] == ["d1"]
    assert grafana13.call("DELETE", path + "/d1").json()["status"] == "Success"
    assert grafana13.call("GET", path + "/d1").json()["code"] == 404
    assert grafana13.app.violation_list() == []


def test_folder_nested_moved_by_annotation_and_listed_in_pages(grafana13: Double) -> None:
    path = FOLDERS.format(ns="default")
    for name in ("a", "b"):
        assert grafana13.call("POST", path, folder(name, name.upper())).status_code == 201
    child = grafana13.call("POST", path, folder("c", "C", parent="a")).json()
    moved = grafana13.call("PUT", path + "/c", dict(folder("c", "C", parent="b"),
                                                    metadata={"name": "c", "annotations": {"grafana.app/folder": "b"},
                                                              "resourceVersion": child["metadata"]["resourceVersion"]}))
    assert moved.status_code == 200, moved.text
    assert grafana13.call("GET", "/api/folders/c").json()["parentUid"] == "b"
    first = grafana13.call("GET", path + "?limit=2").json()
    rest = grafana13.call("GET", path + "?limit=2&continue=" + first["metadata"]["continue"]).json()
    assert [i["metadata"]["name"] for i in first["items"] + rest["items"]] == ["a", "b", "c"]
    assert grafana13.app.violation_list() == []


def test_apis_bodies_are_checked_against_the_contract(grafana13: Double) -> None:
    bad = grafana13.call("POST", FOLDERS.format(ns="default"), {"metadata": {"name": "x"}, "spec": {"title": 5}})
    assert bad.status_code == 400
    assert grafana13.app.violation_list()[0]["kind"] == "request"


def test_namespace_is_the_org(grafana13: Double) -> None:
    assert grafana13.call("GET", FOLDERS.format(ns="org-1")).status_code == 400
    org = grafana13.call("POST", "/api/orgs", {"name": "second"}).json()["orgId"]
    assert grafana13.call("POST", FOLDERS.format(ns=f"org-{org}"), folder("f2", "F2")).status_code == 201
    assert grafana13.call("GET", "/api/folders/f2").status_code == 404  # org 1
    assert grafana13.call("GET", FOLDERS.format(ns=f"org-{org}") + "/f2").status_code == 200


def test_folder_permissions_apply_to_apis_dashboards(grafana13: Double) -> None:
    grafana13.call("POST", "/api/admin/users", {"login": "vic", "password": "vic-pw-1", "email": "v@x"})
    user_id = grafana13.call("GET", "/api/users/lookup?loginOrEmail=vic").json()["id"]
    grafana13.call("POST", "/api/org/users", {"loginOrEmail": "vic", "role": "Viewer"})
    for name in ("mine", "theirs"):
        grafana13.call("POST", FOLDERS.format(ns="default"), folder(name, name))
    grafana13.call("POST", "/api/folders/mine/permissions", {"items": [{"userId": user_id, "permission": 2}]})
    path = DASHBOARDS.format(ns="default")
    assert grafana13.call("POST", path, dashboard("ok", "Ok", "mine"), auth=("vic", "vic-pw-1")).status_code == 201
    denied = grafana13.call("POST", path, dashboard("no", "No", "theirs"), auth=("vic", "vic-pw-1"))
    assert (denied.status_code, denied.json()["kind"]) == (403, "Status")
    assert grafana13.app.violation_list() == []


def test_frontend_settings_serve_the_build_info_of_the_version_the_double_runs_as(grafana13: Double) -> None:
    # pkg/api/dtos/frontend_settings.go FrontendSettingsBuildInfoDTO; signed-in only, as in pkg/api/api.go.
    build = grafana13.call("GET", "/api/frontend/settings").json()["buildInfo"]
    assert (build["version"], build["edition"], build["hideVersion"]) == ("13.0.1", "Open Source", False)
    assert build["versionString"] == f"Grafana v13.0.1 ({build['commit']})"
    assert grafana13.call("GET", "/api/frontend/settings", auth=None).status_code == 401
    assert grafana13.app.violation_list() == []


def test_folder_create_accepts_null_uid_and_parent_as_grafana_does(grafana13: Double) -> None:
    # Spec defect 5 (spec_guard.py): Go decodes null into a string as "", so Grafana creates a top-level folder
    # with a generated uid; community.grafana's grafana_folder sends these nulls.
    created = grafana13.call("POST", "/api/folders", {"title": "Top", "uid": None, "parentUid": None})
    assert created.status_code == 200, created.text
    assert created.json()["uid"] and "parentUid" not in created.json()
    assert grafana13.call("POST", "/api/folders", {"title": None}).status_code == 400
    assert [v["errors"] for v in grafana13.app.violation_list()] == [
        ["InvalidRequestBody: title: None for not nullable; title: None is not of type 'string'"]]
