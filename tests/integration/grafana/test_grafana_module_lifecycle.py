# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""check -> apply -> check -> apply, then an update, then the same for state=absent, for every module.

Each phase (present, update, absent) is one ansible-playbook run against the Grafana TEST DOUBLE whose four tasks
are its steps in order, the check steps as tasks with ``check_mode: true``: three runs a module, not one a step,
because ansible-playbook's start-up costs several times what a task does. The object is observed through the API
before and after each phase. That a check step made no change is proved by the apply step after it in the same
run: it must still find the state from before the phase (its diff ``before`` is the check step's) and change it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from grafana_harness import Ansible, GrafanaDouble, TaskResult

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


#: the steps of one phase, in order; the check steps run with ``check_mode: true``
STEPS = ("check", "apply", "second check", "second apply")


def run_phase(ansible: Ansible, case: Case, args: dict[str, Any]) -> tuple[TaskResult, TaskResult]:
    """One phase as one ansible-playbook run (with --diff): check, apply, check, apply with the same options.

    Every step must succeed, and the second check and second apply must report no change. Returns the results
    of the first check and the first apply.
    """
    tasks = [dict(ansible.task(case.module, args), name=f"{case.module}: {step}", check_mode=step.endswith("check"))
             for step in STEPS]
    results = ansible.play(tasks)
    assert len(results) == len(STEPS), f"{len(results)} task results for {len(STEPS)} steps:\n{results[0].output}"
    for step, result in zip(STEPS, results):
        assert not result.failed, f"{case.module}: the {step} failed: {result.msg}\n{result.output}"
    check, apply, *again = results
    for step, result in zip(STEPS[2:], again):
        assert not result.changed, f"{case.module}: the {step} changed again: {result.diff}"
    return check, apply


def assert_check_changed_nothing(case: Case, phase: str, check: TaskResult, apply: TaskResult) -> None:
    """The apply step right after a check step still found the state from before the phase, so the check step
    changed nothing.

    The check step's diff ``before`` is the state before the phase and differs from its ``after``. Had the check
    step made its change, the apply step would have read the changed state: its ``before`` would differ from the
    check step's (a create finds the object, an update finds the new values, a removal finds nothing), and it
    would have had nothing left to change.
    """
    assert apply.changed, (f"{case.module}: the apply after the check step of {phase} reported no change: the check "
                           f"step made it (apply diff: {apply.diff})")
    assert apply.diff.get("before") == check.diff["before"], (
        f"{case.module}: the check step of {phase} changed the object: the apply after it found "
        f"{apply.diff.get('before')!r}, not the state from before the check step, {check.diff['before']!r}")


@pytest.mark.parametrize("case", CASES, ids=[c.module for c in CASES])
def test_module_check_apply_check_apply_then_absent_the_same_way(
        ansible: Ansible, grafana: GrafanaDouble, case: Case) -> None:
    case.setup(grafana)
    assert case.observe(grafana) is None

    # present: check mode predicts the creation and makes none; the apply creates the object
    check, apply = run_phase(ansible, case, case.present)
    assert check.changed, f"{case.module}: check mode did not predict the creation"
    assert check.diff["after"] and check.diff["before"] != check.diff["after"]
    # before == {}: a check step that created the object would make the apply's before non-empty
    assert case.singleton or check.diff["before"] == {}, check.diff
    assert_check_changed_nothing(case, "present", check, apply)
    created = case.observe(grafana)
    assert created is not None

    # update: check mode reports it and leaves the stored object as it was; the apply updates it
    updated_args = dict(case.present, **case.update)
    check, apply = run_phase(ansible, case, updated_args)
    assert check.changed, f"{case.module}: check mode did not predict the update"
    assert check.diff["before"] != check.diff["after"]
    assert_check_changed_nothing(case, "the update", check, apply)
    updated = case.observe(grafana)
    assert updated not in (None, created)

    # absent: check mode reports the removal and removes nothing; the apply removes the object
    check, apply = run_phase(ansible, case, case.absent)
    assert check.changed, f"{case.module}: check mode did not predict the removal"
    assert check.diff["after"] == {}
    assert check.diff["before"] != {}, check.diff
    assert_check_changed_nothing(case, "absent", check, apply)
    assert case.observe(grafana) is None
