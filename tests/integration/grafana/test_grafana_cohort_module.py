# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""grafana_cohort against the Grafana TEST DOUBLE: a desired set of objects in one task, applied, re-run unchanged,
checked, and with one failing object among good ones."""

from __future__ import annotations

from typing import Any

from grafana_harness import Ansible, GrafanaDouble, org_id

STARTER = {"title": "Starter", "panels": [], "schemaVersion": 39}
LOGINS = ("alice", "bob", "chloe")


def cohort(logins: tuple[str, ...] = LOGINS, **extra: Any) -> dict[str, Any]:
    """Each student with a user, an organization, a datasource, a folder only they edit, and a starter copy."""
    args: dict[str, Any] = {
        "users": [{"login": login, "name": login.title(), "email": f"{login}@example.org",
                   "password": f"pw-of-{login}-123"} for login in logins],
        "organizations": [{"name": f"c42-{login}", "users": [{"login": login, "role": "Admin"}]} for login in logins],
        "datasources": [{"org_name": f"c42-{login}", "name": "Prometheus", "uid": "prometheus", "type": "prometheus",
                         "data_source_url": "http://prometheus:9090"} for login in logins],
        "folders": [{"org_name": f"c42-{login}", "uid": f"c42-u-{login}", "title": login.title(),
                     "permissions": [{"user": login, "permission": "Edit"}, {"role": "Editor", "permission": "Edit"}]}
                    for login in logins],
        "dashboard_models": {"starter": STARTER},
        "dashboards": [{"org_name": f"c42-{login}", "uid": f"c42-d-{login}", "folder_uid": f"c42-u-{login}",
                        "model": "starter"} for login in logins],
    }
    args.update(extra)
    return args


def actions(result: Any) -> dict[tuple[str, str, str], str]:
    return {(r["kind"], r["org"], r["name"]): r["action"] for r in result["results"]}


def test_cohort_is_created_in_one_task_then_reruns_unchanged(ansible: Ansible, grafana: GrafanaDouble) -> None:
    first = ansible.run("grafana_cohort", **cohort())
    assert first.changed and not first.failed, first.msg
    assert set(actions(first).values()) == {"created"}
    assert len(first["results"]) == 15 and first["failures"] == []
    for login in LOGINS:
        org = org_id(grafana, f"c42-{login}")
        assert org is not None
        members = {m["login"]: m["role"] for m in grafana.get(f"/api/orgs/{org}/users")}
        assert members[login] == "Admin"
        assert grafana.get(f"/api/folders/c42-u-{login}", org_id=org)["title"] == login.title()
        acl = grafana.get(f"/api/folders/c42-u-{login}/permissions", org_id=org)
        assert sorted((e["userLogin"] or e.get("role"), e["permissionName"]) for e in acl) == [
            ("Editor", "Edit"), (login, "Edit")]
        board = grafana.get(f"/api/dashboards/uid/c42-d-{login}", org_id=org)
        assert board["meta"]["folderUid"] == f"c42-u-{login}"
        assert [d["uid"] for d in grafana.get("/api/datasources", org_id=org)] == ["prometheus"]
        assert grafana.call("GET", "/api/user", auth=(login, f"pw-of-{login}-123")).status == 200
    assert "pw-of-alice-123" not in first.output

    # The student changes their copy: a re-run leaves it (and everything else) alone.
    org = org_id(grafana, "c42-alice")
    mine = grafana.get("/api/dashboards/uid/c42-d-alice", org_id=org)["dashboard"]
    saved = grafana.call("POST", "/api/dashboards/db", {"dashboard": dict(mine, title="Mine"),
                                                        "folderUid": "c42-u-alice", "overwrite": False}, org_id=org)
    assert saved.status == 200, saved
    second = ansible.run("grafana_cohort", **cohort())
    assert not second.changed and not second.failed, second.msg
    assert set(actions(second).values()) == {"unchanged"}
    assert second.data.get("diff") in (None, [], {})
    assert grafana.get("/api/dashboards/uid/c42-d-alice", org_id=org)["dashboard"]["title"] == "Mine"

    # Removals: the organization, then the user.
    removed = ansible.run("grafana_cohort", remove_organizations=["c42-chloe"], remove_users=["chloe"])
    assert removed.changed and not removed.failed, removed.msg
    assert actions(removed) == {("organization", "", "c42-chloe"): "deleted", ("user", "", "chloe"): "deleted"}
    assert org_id(grafana, "c42-chloe") is None
    assert grafana.get("/api/users/lookup?loginOrEmail=chloe") is None


def test_one_failing_object_is_one_line_and_the_others_are_applied(ansible: Ansible, grafana: GrafanaDouble) -> None:
    bad_uid = "c42-u-" + "x" * 40  # longer than Grafana's 40 characters
    args = cohort()
    args["folders"].append({"org_name": "c42-bob", "uid": bad_uid, "title": "Too long"})
    result = ansible.run("grafana_cohort", **args)
    assert result.failed
    assert result.msg == f"folder '{bad_uid}' in organization 'c42-bob': HTTP 400 uid too long, max 40 characters", \
        result.msg
    assert result["failures"] == [result.msg]
    outcome = actions(result)
    assert outcome.pop(("folder", "c42-bob", bad_uid)) == "failed"
    assert set(outcome.values()) == {"created"} and len(outcome) == 15
    for login in LOGINS:
        org = org_id(grafana, f"c42-{login}")
        assert grafana.get(f"/api/dashboards/uid/c42-d-{login}", org_id=org) is not None

    # A folder that fails takes the dashboards in it along, reported as skipped; the task names both.
    args = cohort(("dan",))
    args["folders"][0]["uid"] = bad_uid
    args["dashboards"][0]["folder_uid"] = bad_uid
    result = ansible.run("grafana_cohort", **args)
    assert result.failed
    assert actions(result)[("dashboard", "c42-dan", "c42-d-dan")] == "skipped"
    lines = result.msg.splitlines()
    assert lines[0] == f"folder '{bad_uid}' in organization 'c42-dan': HTTP 400 uid too long, max 40 characters"
    assert lines[1] == (f"1 skipped: dashboard 'c42-d-dan' in organization 'c42-dan': skipped, it needs folder "
                        f"'{bad_uid}', which failed")
    assert grafana.get("/api/users/lookup?loginOrEmail=dan") is not None


def test_check_mode_reports_every_object_and_changes_nothing(ansible: Ansible, grafana: GrafanaDouble) -> None:
    result = ansible.run("grafana_cohort", check=True, **cohort())
    assert result.changed and not result.failed, result.msg
    assert set(actions(result).values()) == {"created"}
    assert len(result["diff"]) == 15
    headers = {d["after_header"] for d in result["diff"]}
    assert "folder 'c42-u-bob' in organization 'c42-bob'" in headers
    assert "check mode assumes it will be created" in result.output
    assert [u["login"] for u in grafana.get("/api/users")] == ["admin"]
    assert org_id(grafana, "c42-alice") is None
