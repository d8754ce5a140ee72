# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""grafana_dashboard compares only what the user owns: the JSON model and the folder (by uid)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grafana_harness import Ansible, GrafanaDouble

MODEL: dict[str, Any] = {
    "uid": "stack-health",
    "title": "Stack health",
    "schemaVersion": 39,
    "tags": ["stack"],
    "templating": {"list": [{"name": "job", "type": "query", "query": "label_values(up, job)"}]},
    "panels": [{"id": 1, "type": "stat", "title": "Targets up", "gridPos": {"x": 0, "y": 0, "w": 6, "h": 4}}],
}


def stored(grafana: GrafanaDouble, uid: str = "stack-health") -> dict[str, Any]:
    found = grafana.get(f"/api/dashboards/uid/{uid}")
    assert found is not None
    return found


def test_dashboard_unchanged_when_only_id_version_or_metadata_differ(ansible: Ansible, grafana: GrafanaDouble) -> None:
    grafana.create_folder("stack", "Stack")
    assert ansible.run("grafana_dashboard", dashboard=MODEL, folder_uid="stack").changed

    # Someone saves the same content again: Grafana bumps the version, and the server's id stays.
    again = grafana.call("POST", "/api/dashboards/db",
                         {"dashboard": stored(grafana)["dashboard"], "folderUid": "stack", "overwrite": True})
    assert again.status == 200, again
    current = stored(grafana)
    assert current["dashboard"]["version"] >= 2

    # The JSON as exported from the UI: another id and version, plus the server's meta envelope.
    exported = {"dashboard": dict(MODEL, id=current["dashboard"]["id"] + 100, version=1),
                "meta": dict(current["meta"], updated="2000-01-01T00:00:00Z", version=1)}
    for check in (True, False):
        result = ansible.run("grafana_dashboard", check=check, dashboard=exported, folder_uid="stack")
        assert not result.failed, result.output
        assert not result.changed, result.diff
    assert stored(grafana)["dashboard"]["version"] == current["dashboard"]["version"]


def test_dashboard_moved_to_another_folder_is_changed(ansible: Ansible, grafana: GrafanaDouble) -> None:
    grafana.create_folder("stack", "Stack")
    grafana.create_folder("labs", "Labs")
    assert ansible.run("grafana_dashboard", dashboard=MODEL, folder_uid="stack").changed

    result = ansible.run("grafana_dashboard", check=True, dashboard=MODEL, folder_uid="labs")
    assert result.changed
    assert (result.diff["before"]["folder_uid"], result.diff["after"]["folder_uid"]) == ("stack", "labs")
    assert stored(grafana)["meta"]["folderUid"] == "stack"

    result = ansible.run("grafana_dashboard", dashboard=MODEL, folder_uid="labs")
    assert result.changed
    assert stored(grafana)["meta"]["folderUid"] == "labs"
    assert not ansible.run("grafana_dashboard", dashboard=MODEL, folder_uid="labs").changed

    # Back to the top level (General) is a move as well.
    assert ansible.run("grafana_dashboard", dashboard=MODEL).changed
    assert not stored(grafana)["meta"].get("folderUid")
    assert not ansible.run("grafana_dashboard", dashboard=MODEL).changed


def test_dashboard_edited_in_the_ui_is_changed_back(ansible: Ansible, grafana: GrafanaDouble) -> None:
    assert ansible.run("grafana_dashboard", dashboard=MODEL).changed
    edited = dict(stored(grafana)["dashboard"], title="Edited in the UI")
    assert grafana.call("POST", "/api/dashboards/db", {"dashboard": edited, "overwrite": False}).status == 200

    result = ansible.run("grafana_dashboard", dashboard=MODEL)
    assert result.changed
    assert result.diff["before"]["model"]["title"] == "Edited in the UI"
    assert stored(grafana)["dashboard"]["title"] == "Stack health"


def test_dashboard_src_is_read_on_the_controller_by_the_action_plugin(
        ansible: Ansible, grafana: GrafanaDouble, tmp_path: Path) -> None:
    src = tmp_path / "stack-health.json"
    src.write_text(json.dumps(MODEL))
    result = ansible.run("grafana_dashboard", src=str(src))
    assert not result.failed, result.output
    assert result.changed
    assert stored(grafana)["dashboard"]["panels"] == MODEL["panels"]
    assert not ansible.run("grafana_dashboard", src=str(src)).changed
    # The same dashboard given inline is the same dashboard.
    assert not ansible.run("grafana_dashboard", dashboard=json.dumps(MODEL)).changed


def test_dashboard_without_uid_is_refused(ansible: Ansible, grafana: GrafanaDouble) -> None:
    result = ansible.run("grafana_dashboard", dashboard={"title": "No uid"})
    assert result.failed
    assert "uid" in result.msg
    assert grafana.get("/api/search?query=No%20uid") in ([], None)


def _legacy_and_apis_paths(grafana: GrafanaDouble) -> tuple[list[str], list[str]]:
    served = [f"{r['method']} {r['path']}" for r in grafana.served()]
    legacy = [p for p in served if p.split(" ")[1].startswith(("/api/dashboards", "/api/folders"))
              and not p.endswith("/permissions")]
    return legacy, [p for p in served if p.split(" ")[1].startswith("/apis/")]


def test_dashboards_and_folders_use_the_api_family_the_server_reports(ansible: Ansible, grafana: GrafanaDouble) -> None:
    """Grafana 13: /apis (namespace default for org 1); Grafana 12: the legacy routes only."""
    tasks = [
        ansible.task("grafana_folder", {"uid": "stack", "title": "Stack"}),
        ansible.task("grafana_folder", {"uid": "stack", "title": "Stack renamed"}),
        ansible.task("grafana_dashboard", {"dashboard": MODEL, "folder_uid": "stack"}),
        ansible.task("grafana_dashboard", {"dashboard": dict(MODEL, title="Changed")}),
        ansible.task("grafana_dashboard", {"uid": "stack-health", "state": "absent"}),
        ansible.task("grafana_folder", {"uid": "stack", "state": "absent"}),
    ]
    results = ansible.play(tasks)
    assert [r.changed for r in results] == [True] * 6, [r.msg for r in results]
    legacy, apis = _legacy_and_apis_paths(grafana)
    if grafana.version().startswith("13."):
        assert legacy == []
        assert "POST /apis/folder.grafana.app/v1/namespaces/default/folders" in apis
        assert "PUT /apis/dashboard.grafana.app/v1/namespaces/default/dashboards/stack-health" in apis
        assert "DELETE /apis/folder.grafana.app/v1/namespaces/default/folders/stack" in apis
    else:
        assert apis == []
        assert "POST /api/dashboards/db" in legacy
