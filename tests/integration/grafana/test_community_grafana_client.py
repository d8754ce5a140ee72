# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""community.grafana's modules against the Grafana TEST DOUBLE: a client that no one here wrote.

community.grafana (installed with the ansible package) sends what Grafana accepts, for instance ``"parentUid":
null`` when it creates a top-level folder, and ``grafana_dashboard`` reads ``/api/frontend/settings`` first to learn
Grafana's version. Each module creates its object, then a second run with the same arguments changes nothing; the
double records no spec violation (the autouse fixture fails the test otherwise).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from grafana_harness import ADMIN, Ansible, GrafanaDouble

DASHBOARD = {"uid": "community-1", "title": "Community client", "panels": [], "schemaVersion": 39}


def community_tasks(grafana: GrafanaDouble, dashboard_file: Path) -> list[dict[str, Any]]:
    """The four modules, as a playbook that someone using community.grafana would write."""
    connection = {"url": grafana.url, "url_username": ADMIN[0], "url_password": ADMIN[1]}
    return [
        {"name": "community.grafana.grafana_organization",
         "community.grafana.grafana_organization": {**connection, "name": "Community Org"}},
        {"name": "community.grafana.grafana_user",
         "community.grafana.grafana_user": {**connection, "login": "carol", "name": "Carol Client",
                                            "email": "carol@example.org", "password": "Carol-pw-123"}},
        {"name": "community.grafana.grafana_folder",
         "community.grafana.grafana_folder": {**connection, "title": "Community folder", "uid": "community-f",
                                              "org_id": 1}},
        {"name": "community.grafana.grafana_dashboard",
         "community.grafana.grafana_dashboard": {**connection, "path": str(dashboard_file),
                                                 "folder": "Community folder", "org_id": 1,
                                                 "overwrite": True}},
    ]


def test_community_grafana_modules_create_then_change_nothing(
        ansible: Ansible, grafana: GrafanaDouble, tmp_path: Path) -> None:
    if importlib.util.find_spec("ansible_collections.community.grafana") is None:
        pytest.fail("community.grafana is missing: install the ansible package (requirements.txt) in the venv",
                    pytrace=False)
    dashboard_file = tmp_path / "community-dashboard.json"
    dashboard_file.write_text(json.dumps(DASHBOARD))
    tasks = community_tasks(grafana, dashboard_file)

    first = ansible.play(tasks)
    for task, result in zip(tasks, first):
        assert not result.failed and result.changed, (task["name"], result.data)
    org = grafana.get("/api/orgs/name/Community%20Org")
    assert org is not None
    assert grafana.get("/api/users/lookup?loginOrEmail=carol")["email"] == "carol@example.org"
    folder = grafana.get("/api/folders/community-f")
    assert folder["title"] == "Community folder" and not folder.get("parentUid")
    assert grafana.get("/api/dashboards/uid/community-1")["meta"]["folderUid"] == "community-f"

    settings = [hit for hit in grafana.served() if hit["path"] == "/api/frontend/settings"]
    assert settings and all(hit["status"] == 200 for hit in settings), settings
    assert grafana.get("/api/frontend/settings")["buildInfo"]["version"] == grafana.version()

    second = ansible.play(tasks)
    for task, result in zip(tasks, second):
        assert not result.failed and not result.changed, (task["name"], result.data)
