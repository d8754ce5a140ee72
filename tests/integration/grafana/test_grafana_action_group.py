# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``grafana`` action group: one ``module_defaults`` entry gives every module its connection."""

from __future__ import annotations

import yaml
from grafana_harness import REPO_ROOT, Ansible, GrafanaDouble

GROUP = "group/data2ai.grafana_stack.grafana"


def test_runtime_action_group_lists_every_grafana_module() -> None:
    runtime = yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text())
    modules = sorted(p.stem for p in (REPO_ROOT / "plugins" / "modules").glob("grafana_*.py"))
    assert sorted(runtime["action_groups"]["grafana"]) == modules


def test_module_defaults_group_supplies_the_connection(ansible: Ansible, grafana: GrafanaDouble) -> None:
    defaults = {GROUP: {"url": grafana.url, "url_username": "admin", "url_password": "admin"}}
    tasks = [
        ansible.task("grafana_folder", {"uid": "labs", "title": "Labs"}, connection=False),
        # grafana_dashboard goes through its action plugin, which must keep the group's defaults.
        ansible.task("grafana_dashboard", {"dashboard": {"uid": "d", "title": "D"}, "folder_uid": "labs"},
                     connection=False),
    ]
    results = ansible.play(tasks, module_defaults=defaults)
    assert all(r.changed and not r.failed for r in results), [r.data for r in results]
    assert grafana.get("/api/dashboards/uid/d")["meta"]["folderUid"] == "labs"
