# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""grafana_content, the module run end to end (argument spec, jobs, batch, output) against a small stateful
Grafana 12 behind the fake transport: datasources, folders and dashboards made, left alone, updated, in check mode,
with failures of one line, a dashboard skipped when its folder failed, and the secrets nowhere in the output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.module_utils.testing import patch_module_args
from ansible.playbook.task import Task
from ansible.plugins.action import ActionBase
from ansible_collections.data2ai.grafana_stack.plugins.action.grafana_content import ActionModule as ContentAction
from ansible_collections.data2ai.grafana_stack.plugins.module_utils import grafana_batch
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import GrafanaClient
from ansible_collections.data2ai.grafana_stack.plugins.modules import grafana_content
from fake_transport import FakeTransport, Sent
from test_grafana_session import LOGGED_IN

TOKEN = "s3cret-influx-read-token"
WRITES = ("POST", "PUT", "PATCH", "DELETE")

DATASOURCES = [
    {"name": "Prometheus", "uid": "prometheus", "type": "prometheus", "data_source_url": "http://prometheus:9090",
     "access": "proxy", "is_default": True, "json_data": {"httpMethod": "POST"}},
    {"name": "InfluxDB", "uid": "influxdb", "type": "influxdb", "data_source_url": "http://influxdb:8086",
     "json_data": {"version": "Flux"}, "secure_json_data": {"token": TOKEN}},
]
FOLDERS = [{"uid": "stack", "title": "Stack"}, {"uid": "training", "title": "Training"}]
DASHBOARDS = [
    {"dashboard": {"uid": "host", "title": "Host", "panels": []}, "folder_uid": "stack"},
    {"dashboard": {"dashboard": {"uid": "logs", "title": "Logs", "panels": []}, "meta": {}}, "folder_uid": "training"},
]


class Grafana12:
    """Datasources, folders and dashboards as Grafana 12's legacy API keeps them, one organization."""

    def __init__(self) -> None:
        self.datasources: dict[str, dict[str, Any]] = {}
        self.folders: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.refuse: dict[tuple[str, str], tuple[int, str]] = {}  # (method, name or uid) -> (status, message)
        self.fake = FakeTransport()
        on = self.fake.on
        on("GET", "/api/health", 200, {"database": "ok", "version": "12.1.0"})
        on("POST", "/login", LOGGED_IN)
        on("GET", "/logout", 200, {})
        on("GET", "/api/search", 200, [])
        on("GET", "/api/datasources/uid/*", lambda s: self.found(self.datasources.get(last(s))))
        on("GET", "/api/datasources/name/*", lambda s: self.found(
            next((d for d in self.datasources.values() if d["name"] == last(s)), None)))
        on("POST", "/api/datasources", lambda s: self.refused(s, s.body["name"]) or self.save_datasource(s.body))
        on("PUT", "/api/datasources/uid/*", lambda s: self.refused(s, s.body["name"]) or self.save_datasource(s.body))
        on("GET", "/api/folders/*", lambda s: self.found(self.folders.get(last(s))))
        on("POST", "/api/folders", lambda s: self.refused(s, s.body["uid"]) or self.save_folder(s.body))
        on("PUT", "/api/folders/*", lambda s: self.save_folder(dict(self.folders[last(s)], title=s.body["title"])))
        on("GET", "/api/dashboards/uid/*", lambda s: self.found(self.dashboards.get(last(s))))
        on("POST", "/api/dashboards/db", self.save_dashboard)

    @staticmethod
    def found(document: Optional[dict[str, Any]]) -> tuple[int, Any]:
        return (200, document) if document is not None else (404, {"message": "Not found"})

    def refused(self, sent: Sent, name: str) -> Optional[tuple[int, Any]]:
        if (sent.method, name) in self.refuse:
            status, message = self.refuse[(sent.method, name)]
            return status, {"message": message}
        return None

    def save_datasource(self, body: dict[str, Any]) -> tuple[int, Any]:
        old = self.datasources.get(body["uid"], {})
        stored = {k: v for k, v in body.items() if k not in ("secureJsonData", "version")}
        secrets = dict(old.get("secureJsonFields") or {}, **{k: True for k in body.get("secureJsonData") or {}})
        stored.update(id=old.get("id", len(self.datasources) + 1), version=old.get("version", 0) + 1,
                      secureJsonFields=secrets)
        stored.setdefault("jsonData", {})
        self.datasources[body["uid"]] = stored
        return 200, {"datasource": stored, "id": stored["id"], "message": "Datasource added"}

    def save_folder(self, body: dict[str, Any]) -> tuple[int, Any]:
        old = self.folders.get(body["uid"], {})
        stored = dict(body, version=old.get("version", 0) + 1, parentUid=body.get("parentUid", ""))
        self.folders[body["uid"]] = stored
        return 200, stored

    def save_dashboard(self, sent: Sent) -> tuple[int, Any]:
        model = sent.body["dashboard"]
        old = self.dashboards.get(model["uid"], {}).get("dashboard", {})
        stored = dict(model, id=old.get("id", len(self.dashboards) + 1), version=old.get("version", 0) + 1)
        self.dashboards[model["uid"]] = {"dashboard": stored, "meta": {"folderUid": sent.body["folderUid"]}}
        return 200, {"uid": model["uid"], "status": "success", "version": stored["version"]}

    def writes(self) -> list[tuple[str, str]]:
        return [(s.method, s.path) for s in self.fake.sent if s.method in WRITES and s.path != "/login"]


def last(sent: Sent) -> str:
    return sent.path.rsplit("/", 1)[1]


@pytest.fixture
def grafana(monkeypatch: pytest.MonkeyPatch) -> Grafana12:
    double = Grafana12()
    monkeypatch.setattr(grafana_batch, "GrafanaClient",
                        lambda params: GrafanaClient(params, sleep=lambda s: None, transport=double.fake))
    return double


def run(capsys: pytest.CaptureFixture[str], check: bool = False, diff: bool = False, **options: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"url": "http://grafana.test", "url_username": "admin", "url_password": "pw",
                            "datasources": DATASOURCES, "folders": FOLDERS, "dashboards": DASHBOARDS,
                            "_ansible_check_mode": check, "_ansible_diff": diff}
    args.update(options)
    with patch_module_args(args), pytest.raises(SystemExit):
        grafana_content.main()
    out = capsys.readouterr().out
    assert TOKEN not in out
    return json.loads(out)


def actions(result: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(r["kind"], r["name"]): r["action"] for r in result["results"]}


def test_everything_is_created_in_one_run_with_one_login_then_a_second_run_writes_nothing(
        grafana: Grafana12, capsys: pytest.CaptureFixture[str]) -> None:
    first = run(capsys)
    assert first["changed"] and not first.get("failed")
    assert actions(first) == {("datasource", "prometheus"): "created", ("datasource", "influxdb"): "created",
                              ("folder", "stack"): "created", ("folder", "training"): "created",
                              ("dashboard", "host"): "created", ("dashboard", "logs"): "created"}
    assert first["changes"][0] == "datasource 'prometheus' created" and len(first["changes"]) == 6
    assert grafana.datasources["influxdb"]["secureJsonFields"] == {"token": True}
    assert grafana.dashboards["logs"]["meta"]["folderUid"] == "training"
    assert [s.path for s in grafana.fake.sent].count("/login") == 1
    assert grafana.fake.sent[-1].path == "/logout"
    # A dashboard is saved only after its folder exists.
    paths = [s.path for s in grafana.fake.sent if s.method == "POST"]
    assert paths.index("/api/dashboards/db") > max(i for i, p in enumerate(paths) if p == "/api/folders")

    written = len(grafana.writes())
    second = run(capsys)
    assert not second["changed"] and second["failures"] == [] and second["changes"] == []
    assert set(actions(second).values()) == {"unchanged"}
    assert len(grafana.writes()) == written


def test_a_differing_object_is_updated_and_the_others_are_left_alone(
        grafana: Grafana12, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys)
    grafana.folders["stack"]["title"] = "Old title"
    grafana.datasources["prometheus"]["url"] = "http://elsewhere:9090"
    before = len(grafana.fake.sent)
    result = run(capsys, diff=True)
    assert result["changed"]
    assert {k: v for k, v in actions(result).items() if v != "unchanged"} == {
        ("folder", "stack"): "updated", ("datasource", "prometheus"): "updated"}
    assert sorted((s.method, s.path) for s in grafana.fake.sent[before:] if s.method in ("PUT", "POST")
                  and s.path != "/login") == [("PUT", "/api/datasources/uid/prometheus"), ("PUT", "/api/folders/stack")]
    headers = {d["before_header"] for d in result["diff"]}
    assert headers == {"datasource 'prometheus'", "folder 'stack'"}
    assert grafana.folders["stack"]["title"] == "Stack"


def test_check_mode_reports_what_would_change_and_writes_nothing_nor_signs_in(
        grafana: Grafana12, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, check=True, diff=True)
    assert result["changed"] and set(actions(result).values()) == {"created"}
    assert grafana.writes() == [] and "/login" not in [s.path for s in grafana.fake.sent]
    assert grafana.datasources == {} and grafana.folders == {} and grafana.dashboards == {}
    influxdb = next(d for d in result["diff"] if d["after_header"] == "datasource 'influxdb'")
    assert influxdb["after"]["secure_json_data"] == {"token": "********"}


def test_a_failed_datasource_is_one_line_naming_it_and_the_others_still_run(
        grafana: Grafana12, capsys: pytest.CaptureFixture[str]) -> None:
    grafana.refuse[("POST", "Prometheus")] = (400, "invalid URL")
    result = run(capsys)
    assert result["failed"]
    assert result["msg"] == "datasource 'prometheus': HTTP 400 invalid URL"
    assert result["failures"] == [result["msg"]]
    assert actions(result)[("datasource", "prometheus")] == "failed"
    assert {k: v for k, v in actions(result).items() if k != ("datasource", "prometheus")} == {
        ("datasource", "influxdb"): "created", ("folder", "stack"): "created", ("folder", "training"): "created",
        ("dashboard", "host"): "created", ("dashboard", "logs"): "created"}
    assert set(grafana.datasources) == {"influxdb"}


def test_a_dashboard_whose_folder_failed_is_skipped_and_named(
        grafana: Grafana12, capsys: pytest.CaptureFixture[str]) -> None:
    grafana.refuse[("POST", "stack")] = (403, "Access denied")
    result = run(capsys)
    assert result["failed"]
    assert actions(result)[("folder", "stack")] == "failed"
    assert actions(result)[("dashboard", "host")] == "skipped"
    assert actions(result)[("dashboard", "logs")] == "created"
    assert result["msg"].splitlines() == [
        "folder 'stack': HTTP 403 Access denied",
        "1 skipped: dashboard 'host': skipped, it needs folder 'stack', which failed"]
    assert "host" not in grafana.dashboards


def test_the_secrets_are_in_no_result_diff_or_error(grafana: Grafana12, capsys: pytest.CaptureFixture[str]) -> None:
    grafana.refuse[("POST", "InfluxDB")] = (400, f"bad token {TOKEN}")
    result = run(capsys, diff=True)  # run() asserts the token is nowhere in the module's output
    assert result["failed"] and "bad token" in result["msg"]
    invocation = result["invocation"]["module_args"]
    assert invocation["url_password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert invocation["datasources"][1]["secure_json_data"] == {"token": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}


def test_secrets_are_sent_once_unless_the_task_or_the_entry_says_always(
        grafana: Grafana12, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys)
    assert not run(capsys)["changed"]
    again = run(capsys, secure_json_data_update="always")
    assert actions(again)[("datasource", "influxdb")] == "updated"
    assert grafana.fake.requests("PUT", "/api/datasources/uid/influxdb")[-1].body["secureJsonData"] == {"token": TOKEN}
    entries = [DATASOURCES[0], dict(DATASOURCES[1], secure_json_data_update="on_create")]
    assert not run(capsys, datasources=entries, secure_json_data_update="always")["changed"]


def test_an_object_listed_twice_fails_in_one_line_before_any_request(
        grafana: Grafana12, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, folders=[*FOLDERS, {"uid": "stack", "title": "Again"}])
    assert result["failed"] and result["msg"] == "folder 'stack' is listed twice (or both kept and removed)"
    assert grafana.fake.sent == []


# --------------------------------------------------------------------------- the action plugin
def run_action(args: dict[str, Any], files: Path) -> dict[str, Any]:
    """The arguments the action plugin passes to the module, its files searched in ``files``."""
    task = Task()
    task.args = args
    plugin = ContentAction(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    sent: dict[str, Any] = {}

    def execute(module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        sent.update(module_name=module_name, module_args=module_args)
        return {"changed": False}

    with mock.patch.object(ActionBase, "run", return_value={}), \
            mock.patch.object(plugin, "_execute_module", side_effect=execute), \
            mock.patch.object(plugin, "_find_needle", side_effect=lambda where, src: str(files / src)):
        plugin.run(task_vars={})
    assert sent["module_name"] == "data2ai.grafana_stack.grafana_content"
    return sent["module_args"]


def test_the_action_plugin_sends_each_dashboard_file_as_its_model(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(json.dumps({"uid": "host", "title": "Host"}))
    inline = {"dashboard": {"uid": "inline"}, "folder_uid": ""}
    args = run_action({"url": "http://grafana.test", "dashboards": [
        {"file": "host.json", "folder_uid": "stack"}, {"src": "host.json"}, inline]}, tmp_path)
    assert args["dashboards"] == [{"dashboard": {"uid": "host", "title": "Host"}, "folder_uid": "stack"},
                                  {"dashboard": {"uid": "host", "title": "Host"}}, inline]
    assert args["url"] == "http://grafana.test"


def test_the_action_plugin_refuses_a_missing_or_broken_file_or_two_models_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "host.json").write_text("{}")
    for entry, message in (({"file": "missing.json"}, "grafana_content: cannot read missing.json: "),
                           ({"file": "broken.json"}, "grafana_content: broken.json is not valid JSON: "),
                           ({"file": "host.json", "dashboard": {}},
                            "grafana_content: dashboards[1] (host.json): set one of dashboard, src (alias file)")):
        with pytest.raises(AnsibleActionFail) as failure:
            run_action({"dashboards": [entry]}, tmp_path)
        assert str(failure.value.message).startswith(message) and "\n" not in str(failure.value.message)
