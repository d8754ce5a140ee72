# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Alerting provisioning: explicit provenance, rules matched without uids, durations by value."""

from __future__ import annotations

from typing import Any

from grafana_harness import Ansible, GrafanaDouble

POINT = {"name": "ops", "uid": "ops", "type": "webhook", "settings": {"url": "http://sink:8080/hook"}}


def stored_point(grafana: GrafanaDouble) -> dict[str, Any]:
    return grafana.get("/api/v1/provisioning/contact-points?name=ops")[0]


def test_contact_point_provenance_is_an_explicit_choice(ansible: Ansible, grafana: GrafanaDouble) -> None:
    # Default: X-Disable-Provenance is sent, the contact point stays editable in the UI.
    assert ansible.run("grafana_contact_point", **POINT).changed
    assert not stored_point(grafana).get("provenance")
    assert ansible.run("grafana_contact_point", state="absent", **POINT).changed

    # disable_provenance=false: stored with provenance "api", locked in the UI.
    assert ansible.run("grafana_contact_point", disable_provenance=False, **POINT).changed
    assert stored_point(grafana)["provenance"] == "api"
    moved = dict(POINT, settings={"url": "http://sink:8080/other"})
    assert ansible.run("grafana_contact_point", disable_provenance=False, **moved).changed

    # Grafana refuses a change with another provenance: one line, with Grafana's reason.
    result = ansible.run("grafana_contact_point", **POINT)
    assert result.failed
    assert "\n" not in result.msg
    assert result.msg.startswith("contact point 'ops': HTTP 409 ")
    assert "provenance" in result.msg


def group_rule(title: str, duration: str) -> dict[str, Any]:
    return {
        "title": title, "condition": "A", "for": duration,
        "data": [{"refId": "A", "datasourceUid": "__expr__", "relativeTimeRange": {"from": 0, "to": 0},
                  "model": {"refId": "A", "type": "math", "expression": "1 == 1"}}],
    }


def test_rule_group_rules_without_uid_are_matched_by_title(ansible: Ansible, grafana: GrafanaDouble) -> None:
    grafana.create_folder("labs", "Labs")
    group = {"folder_uid": "labs", "name": "always", "interval": "60"}
    rules = [group_rule("Always firing", "5m")]
    assert ansible.run("grafana_alert_rule_group", rules=rules, **group).changed
    stored = grafana.get("/api/v1/provisioning/folder/labs/rule-groups/always")
    uid = stored["rules"][0]["uid"]
    assert uid and stored["interval"] == 60

    # The same rule with the duration spelled in seconds and the interval as a duration: no change.
    same = {"folder_uid": "labs", "name": "always", "interval": "1m"}
    for check in (True, False):
        result = ansible.run("grafana_alert_rule_group", check=check, rules=[group_rule("Always firing", "300s")],
                             **same)
        assert not result.changed, result.diff

    # A changed rule keeps its generated uid.
    assert ansible.run("grafana_alert_rule_group", rules=[group_rule("Always firing", "10m")], **same).changed
    stored = grafana.get("/api/v1/provisioning/folder/labs/rule-groups/always")
    assert [r["uid"] for r in stored["rules"]] == [uid]
    assert stored["rules"][0]["for"] == "10m"


def test_rule_group_in_a_locked_provenance_is_refused_in_one_line(ansible: Ansible, grafana: GrafanaDouble) -> None:
    grafana.create_folder("labs", "Labs")
    group = {"folder_uid": "labs", "name": "locked", "rules": [group_rule("Locked", "1m")]}
    assert ansible.run("grafana_alert_rule_group", disable_provenance=False, **group).changed
    assert grafana.get("/api/v1/provisioning/folder/labs/rule-groups/locked")["rules"][0]["provenance"] == "api"
    result = ansible.run("grafana_alert_rule_group", state="absent", **group)
    assert result.failed
    assert result.msg.startswith("alert rule group 'labs/locked': HTTP 409 ")
    assert grafana.get("/api/v1/provisioning/folder/labs/rule-groups/locked")["rules"]
    assert ansible.run("grafana_alert_rule_group", state="absent", disable_provenance=False, **group).changed


def test_check_mode_in_an_org_not_created_yet_predicts_a_creation(ansible: Ansible, grafana: GrafanaDouble) -> None:
    result = ansible.run("grafana_contact_point", check=True, org_name="cohort-new", **POINT)
    assert not result.failed, result.output
    assert result.changed
    assert any("cohort-new" in w for w in result.data.get("warnings", []))
    result = ansible.run("grafana_contact_point", check=True, org_name="cohort-new", state="absent", **POINT)
    assert not result.failed and not result.changed
