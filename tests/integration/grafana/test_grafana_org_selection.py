# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The org is chosen per request (X-Grafana-Org-Id), never by switching the user's active org."""

from __future__ import annotations

from typing import Any

from grafana_harness import Ansible, GrafanaDouble

DATASOURCE = {"name": "Loki", "uid": "loki", "type": "loki", "access": "proxy",
              "data_source_url": "http://loki:3100", "json_data": {"maxLines": 1000}}


def test_datasource_is_idempotent_in_a_second_org(ansible: Ansible, grafana: GrafanaDouble) -> None:
    org_id = grafana.create_org("cohort-b")
    assert org_id != 1

    result = ansible.run("grafana_datasource", check=True, org_name="cohort-b", **DATASOURCE)
    assert result.changed
    assert grafana.get("/api/datasources/uid/loki", org_id=org_id) is None

    assert ansible.run("grafana_datasource", org_name="cohort-b", **DATASOURCE).changed
    for check in (True, False):
        by_name = ansible.run("grafana_datasource", check=check, org_name="cohort-b", **DATASOURCE)
        by_id = ansible.run("grafana_datasource", check=check, org_id=org_id, **DATASOURCE)
        assert not by_name.failed and not by_id.failed, by_name.output + by_id.output
        assert not by_name.changed and not by_id.changed

    assert grafana.get("/api/datasources/uid/loki", org_id=org_id)["orgId"] == org_id
    assert grafana.get("/api/datasources/uid/loki", org_id=1) is None
    # The admin's active org was never switched.
    assert grafana.get("/api/user")["orgId"] == 1


def test_org_name_and_org_id_are_mutually_exclusive(ansible: Ansible, grafana: GrafanaDouble) -> None:
    result = ansible.run("grafana_datasource", org_name="cohort-b", org_id=2, **DATASOURCE)
    assert result.failed
    assert "mutually exclusive" in result.msg


def test_unknown_org_name_fails_in_one_line(ansible: Ansible, grafana: GrafanaDouble) -> None:
    result = ansible.run("grafana_folder", org_name="no-such-cohort", uid="labs", title="Labs")
    assert result.failed
    assert "\n" not in result.msg
    assert result.msg.startswith("organization 'no-such-cohort': HTTP 404 ")


def cohort_tasks(ansible: Ansible, org: str) -> list[dict[str, Any]]:
    """Many calls in one org, so two playbooks' requests interleave."""
    tasks = []
    for n in range(4):
        tasks.append(ansible.task("grafana_folder", {"org_name": org, "uid": f"labs-{n}", "title": f"{org} labs {n}"}))
        tasks.append(ansible.task("grafana_datasource", {
            "org_name": org, "name": f"Prometheus {n}", "uid": f"prom-{n}", "type": "prometheus",
            "data_source_url": f"http://{org}-prometheus:9090"}))
        tasks.append(ansible.task("grafana_dashboard", {
            "org_name": org, "folder_uid": f"labs-{n}",
            "dashboard": {"uid": f"lab-{n}", "title": f"{org} lab {n}", "panels": []}}))
    return tasks


def test_two_playbooks_in_parallel_against_two_orgs_do_not_interfere(ansible: Ansible, grafana: GrafanaDouble) -> None:
    orgs = {"cohort-x": grafana.create_org("cohort-x"), "cohort-y": grafana.create_org("cohort-y")}
    processes = {org: ansible.start(cohort_tasks(ansible, org)) for org in orgs}
    results = {org: ansible.results(process) for org, process in processes.items()}

    for org, org_id in orgs.items():
        assert all(r.changed and not r.failed for r in results[org]), [r.data for r in results[org]]
        for n in range(4):
            folder = grafana.get(f"/api/folders/labs-{n}", org_id=org_id)
            assert folder["title"] == f"{org} labs {n}"
            assert grafana.get(f"/api/datasources/uid/prom-{n}", org_id=org_id)["url"] == f"http://{org}-prometheus:9090"
            dashboard = grafana.get(f"/api/dashboards/uid/lab-{n}", org_id=org_id)
            assert dashboard["dashboard"]["title"] == f"{org} lab {n}"
            assert dashboard["meta"]["folderUid"] == f"labs-{n}"
    assert grafana.get("/api/datasources", org_id=1) == []
    assert grafana.get("/api/user")["orgId"] == 1

    # And both are idempotent when run in parallel again.
    processes = {org: ansible.start(cohort_tasks(ansible, org)) for org in orgs}
    for process in processes.values():
        assert not any(r.changed or r.failed for r in ansible.results(process))
