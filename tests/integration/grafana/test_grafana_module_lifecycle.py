# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""check -> apply -> check -> apply, then an update, then the same for state=absent, for every module.

Each step is its own ansible-playbook run against the Grafana TEST DOUBLE, and what a step did is
verified through the API, not only through the module's ``changed``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from grafana_harness import Ansible, GrafanaDouble

Observe = Callable[[GrafanaDouble], Any]


@dataclass
class Case:
    """One module: its options for present, update and absent, and how to observe its object."""

    module: str
    present: dict[str, Any]
    absent: dict[str, Any]
    observe: Observe  # the object as the API shows it, None when it does not exist
    update: dict[str, Any] = field(default_factory=dict)  # options changed by the update step
    setup: Callable[[GrafanaDouble], None] = lambda double: None
    singleton: bool = False  # always exists (the policy tree); "absent" is Grafana's default


def pick(obj: dict[str, Any] | None, *keys: str) -> dict[str, Any] | None:
    return None if obj is None else {k: obj.get(k) for k in keys}


# -- how each object is observed through the API ------------------------------------------------


def observe_datasource(double: GrafanaDouble) -> Any:
    return pick(double.get("/api/datasources/uid/prometheus"), "name", "type", "url", "access", "jsonData")


def observe_folder(double: GrafanaDouble) -> Any:
    return pick(double.get("/api/folders/labs"), "uid", "title", "parentUid")


def observe_dashboard(double: GrafanaDouble) -> Any:
    found = double.get("/api/dashboards/uid/node")
    if found is None:
        return None
    return {"title": found["dashboard"]["title"], "panels": found["dashboard"].get("panels"),
            "folderUid": found["meta"].get("folderUid")}


def observe_organization(double: GrafanaDouble) -> Any:
    org = double.get("/api/orgs/name/cohort-a")
    if org is None:
        return None
    members = double.get(f"/api/orgs/{org['id']}/users")
    return {"name": org["name"], "users": sorted((m["login"], m["role"]) for m in members)}


def observe_user(double: GrafanaDouble) -> Any:
    return pick(double.get("/api/users/lookup?loginOrEmail=carol"), "login", "name", "email", "isGrafanaAdmin")


def find_team(double: GrafanaDouble, name: str) -> dict[str, Any] | None:
    found = double.get(f"/api/teams/search?name={name}") or {}
    return next((t for t in found.get("teams") or [] if t["name"] == name), None)


def observe_team(double: GrafanaDouble) -> Any:
    team = find_team(double, "students")
    if team is None:
        return None
    members = double.get(f"/api/teams/{team['id']}/members")
    return {"name": team["name"], "email": team.get("email"), "members": sorted(m["login"] for m in members)}


def observe_service_account(double: GrafanaDouble) -> Any:
    found = double.get("/api/serviceaccounts/search?query=provisioner") or {}
    account = next((a for a in found.get("serviceAccounts") or [] if a["name"] == "provisioner"), None)
    if account is None:
        return None
    tokens = double.get(f"/api/serviceaccounts/{account['id']}/tokens")
    return {"role": account["role"], "disabled": account.get("isDisabled"),
            "tokens": sorted(t["name"] for t in tokens)}


def observe_rule_group(double: GrafanaDouble) -> Any:
    group = double.get("/api/v1/provisioning/folder/labs/rule-groups/availability")
    if not group or not group.get("rules"):
        return None
    return {"interval": group["interval"],
            "rules": sorted((r["uid"], r["title"], r["for"], tuple(sorted(r.get("labels", {}).items())))
                            for r in group["rules"])}


def observe_contact_point(double: GrafanaDouble) -> Any:
    points = double.get("/api/v1/provisioning/contact-points") or []
    point = next((p for p in points if p.get("uid") == "ops-webhook"), None)
    return pick(point, "name", "type", "settings", "disableResolveMessage")


def observe_policy(double: GrafanaDouble) -> Any:
    tree = double.get("/api/v1/provisioning/policies")
    if tree is None or (not tree.get("routes") and tree.get("receiver") == "grafana-default-email"):
        return None  # Grafana's default tree: nothing of ours is there
    return pick(tree, "receiver", "group_by", "group_wait", "routes")


# -- set-ups made straight through the API --------------------------------------------------------


def two_users(double: GrafanaDouble) -> None:
    double.create_user("alice")
    double.create_user("bob")


def labs_folder(double: GrafanaDouble) -> None:
    double.create_folder("labs", "Labs")


def webhook_contact_point(double: GrafanaDouble) -> None:
    body = {"uid": "sink", "name": "sink", "type": "webhook", "settings": {"url": "http://sink:8080/"}}
    reply = double.call("POST", "/api/v1/provisioning/contact-points", body, headers={"X-Disable-Provenance": "true"})
    assert reply.status == 202, reply


def rule(uid: str, title: str, expr: str) -> dict[str, Any]:
    return {
        "uid": uid, "title": title, "condition": "B", "for": "5m",
        "labels": {"severity": "critical"},
        "annotations": {"summary": f"{title} fired"},
        "data": [
            {"refId": "A", "datasourceUid": "prometheus", "relativeTimeRange": {"from": 600, "to": 0},
             "model": {"refId": "A", "expr": expr, "instant": True}},
            {"refId": "B", "datasourceUid": "__expr__", "relativeTimeRange": {"from": 0, "to": 0},
             "model": {"refId": "B", "type": "threshold", "expression": "A",
                       "conditions": [{"evaluator": {"type": "gt", "params": [0]}}]}},
        ],
    }


CASES = [
    Case(
        module="grafana_datasource",
        present={"name": "Prometheus", "uid": "prometheus", "type": "prometheus", "access": "proxy",
                 "data_source_url": "http://prometheus:9090", "json_data": {"httpMethod": "POST"}},
        update={"json_data": {"httpMethod": "GET", "timeInterval": "15s"}},
        absent={"name": "Prometheus", "uid": "prometheus", "state": "absent"},
        observe=observe_datasource,
    ),
    Case(
        module="grafana_folder",
        present={"uid": "labs", "title": "Labs"},
        update={"title": "Labs (renamed)"},
        absent={"uid": "labs", "state": "absent"},
        observe=observe_folder,
    ),
    Case(
        module="grafana_dashboard",
        present={"dashboard": {"uid": "node", "title": "Node", "schemaVersion": 39,
                               "panels": [{"id": 1, "type": "timeseries", "title": "CPU"}]},
                 "folder_uid": "labs"},
        update={"dashboard": {"uid": "node", "title": "Node", "schemaVersion": 39,
                              "panels": [{"id": 1, "type": "timeseries", "title": "CPU busy"}]}},
        absent={"uid": "node", "state": "absent"},
        observe=observe_dashboard,
        setup=labs_folder,
    ),
    Case(
        module="grafana_organization",
        present={"name": "cohort-a", "users": [{"login": "alice", "role": "Editor"}, {"login": "bob"}]},
        update={"users": [{"login": "alice", "role": "Admin"}], "enforce_users": True},
        absent={"name": "cohort-a", "state": "absent"},
        observe=observe_organization,
        setup=two_users,
    ),
    Case(
        module="grafana_user",
        present={"login": "carol", "name": "Carol", "email": "carol@example.org", "password": "initial-pw-1"},
        update={"email": "carol@example.net", "is_admin": True},
        absent={"login": "carol", "state": "absent"},
        observe=observe_user,
    ),
    Case(
        module="grafana_team",
        present={"name": "students", "members": ["alice", "bob@example.org"], "enforce_members": True},
        update={"members": ["alice"], "email": "students@example.org"},
        absent={"name": "students", "state": "absent"},
        observe=observe_team,
        setup=two_users,
    ),
    Case(
        module="grafana_service_account",
        present={"name": "provisioner", "role": "Editor", "tokens": [{"name": "ci"}]},
        update={"role": "Admin", "tokens": [{"name": "ci"}, {"name": "backup", "seconds_to_live": 3600}]},
        absent={"name": "provisioner", "state": "absent"},
        observe=observe_service_account,
    ),
    Case(
        module="grafana_alert_rule_group",
        present={"folder_uid": "labs", "name": "availability", "interval": "1m",
                 "rules": [rule("target-down", "Target down", "up == 0")]},
        update={"rules": [rule("target-down", "Target down", "up == 0"),
                          rule("disk-full", "Disk full", "node_filesystem_avail_bytes == 0")]},
        absent={"folder_uid": "labs", "name": "availability", "state": "absent"},
        observe=observe_rule_group,
        setup=labs_folder,
    ),
    Case(
        module="grafana_contact_point",
        present={"name": "ops-webhook", "uid": "ops-webhook", "type": "webhook",
                 "settings": {"url": "http://alert-sink:8080/hook", "httpMethod": "POST"}},
        update={"settings": {"url": "http://alert-sink:8080/other", "httpMethod": "POST"},
                "disable_resolve_message": True},
        absent={"name": "ops-webhook", "uid": "ops-webhook", "state": "absent"},
        observe=observe_contact_point,
    ),
    Case(
        module="grafana_notification_policy",
        present={"receiver": "sink", "group_by": ["grafana_folder", "alertname"], "group_wait": "30s",
                 "routes": [{"receiver": "sink", "object_matchers": [["severity", "=", "critical"]],
                             "continue": False}]},
        update={"group_wait": "45s"},
        absent={"state": "absent"},
        observe=observe_policy,
        setup=webhook_contact_point,
        singleton=True,
    ),
]


def expect_noop(ansible: Ansible, grafana: GrafanaDouble, case: Case, args: dict[str, Any], seen: Any) -> None:
    """A second check and a second apply both report no change and leave the object alone."""
    for check in (True, False):
        result = ansible.run(case.module, check=check, **args)
        assert not result.failed, result.output
        assert not result.changed, f"{'check' if check else 'apply'} changed again: {result.diff}"
        assert case.observe(grafana) == seen


@pytest.mark.parametrize("case", CASES, ids=[c.module for c in CASES])
def test_module_check_apply_check_apply_then_absent_the_same_way(
        ansible: Ansible, grafana: GrafanaDouble, case: Case) -> None:
    case.setup(grafana)
    assert case.observe(grafana) is None

    # present: check mode predicts the change and makes none
    result = ansible.run(case.module, check=True, **case.present)
    assert not result.failed, result.output
    assert result.changed
    assert result.diff["after"] and result.diff["before"] != result.diff["after"]
    assert case.singleton or result.diff["before"] == {}
    assert case.observe(grafana) is None

    result = ansible.run(case.module, **case.present)
    assert not result.failed, result.output
    assert result.changed
    created = case.observe(grafana)
    assert created is not None
    expect_noop(ansible, grafana, case, case.present, created)

    # update: check mode reports it and leaves the stored object as it was
    updated_args = dict(case.present, **case.update)
    result = ansible.run(case.module, check=True, **updated_args)
    assert not result.failed, result.output
    assert result.changed
    assert result.diff["before"] != result.diff["after"]
    assert case.observe(grafana) == created
    result = ansible.run(case.module, **updated_args)
    assert not result.failed, result.output
    assert result.changed
    updated = case.observe(grafana)
    assert updated not in (None, created)
    expect_noop(ansible, grafana, case, updated_args, updated)

    # absent: check mode reports the removal and removes nothing
    result = ansible.run(case.module, check=True, **case.absent)
    assert not result.failed, result.output
    assert result.changed
    assert result.diff["after"] == {}
    assert case.observe(grafana) == updated
    result = ansible.run(case.module, **case.absent)
    assert not result.failed, result.output
    assert result.changed
    assert case.observe(grafana) is None
    for check in (True, False):
        result = ansible.run(case.module, check=check, **case.absent)
        assert not result.failed, result.output
        assert not result.changed
