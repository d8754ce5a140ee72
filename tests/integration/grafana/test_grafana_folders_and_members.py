# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Folders by uid (rename, nesting, moves) and the members of organizations and teams."""

from __future__ import annotations

from grafana_harness import Ansible, GrafanaDouble


def test_folder_rename_keeps_its_uid_and_its_dashboards(ansible: Ansible, grafana: GrafanaDouble) -> None:
    assert ansible.run("grafana_folder", uid="labs", title="Labs").changed
    dashboard = {"uid": "lab-1", "title": "Lab 1", "panels": []}
    assert ansible.run("grafana_dashboard", dashboard=dashboard, folder_uid="labs").changed

    result = ansible.run("grafana_folder", uid="labs", title="Exercises")
    assert result.changed
    assert (result.diff["before"]["title"], result.diff["after"]["title"]) == ("Labs", "Exercises")
    assert grafana.get("/api/folders/labs")["title"] == "Exercises"
    assert grafana.get("/api/dashboards/uid/lab-1")["meta"]["folderUid"] == "labs"
    assert not ansible.run("grafana_folder", uid="labs", title="Exercises").changed
    assert not ansible.run("grafana_dashboard", dashboard=dashboard, folder_uid="labs").changed


def test_folder_description_empty_or_set_is_idempotent(ansible: Ansible, grafana: GrafanaDouble) -> None:
    assert ansible.run("grafana_folder", uid="labs", title="Labs", description="").changed
    assert not ansible.run("grafana_folder", uid="labs", title="Labs", description="").changed
    assert ansible.run("grafana_folder", uid="labs", title="Labs", description="Exercises of week 1").changed
    assert grafana.get("/api/folders/labs")["description"] == "Exercises of week 1"
    assert not ansible.run("grafana_folder", uid="labs", title="Labs", description="Exercises of week 1").changed
    # Unset: not compared.
    assert not ansible.run("grafana_folder", uid="labs", title="Labs").changed


def test_nested_folder_is_created_under_its_parent_and_moved(ansible: Ansible, grafana: GrafanaDouble) -> None:
    for uid in ("course", "archive"):
        assert ansible.run("grafana_folder", uid=uid, title=uid.title()).changed
    assert ansible.run("grafana_folder", uid="week-1", title="Week 1", parent_uid="course").changed
    assert grafana.get("/api/folders/week-1")["parentUid"] == "course"
    assert not ansible.run("grafana_folder", uid="week-1", title="Week 1", parent_uid="course").changed
    # Unset parent_uid: the folder is not moved.
    assert not ansible.run("grafana_folder", uid="week-1", title="Week 1").changed

    result = ansible.run("grafana_folder", check=True, uid="week-1", title="Week 1", parent_uid="archive")
    assert result.changed
    assert grafana.get("/api/folders/week-1")["parentUid"] == "course"
    assert ansible.run("grafana_folder", uid="week-1", title="Week 1", parent_uid="archive").changed
    assert grafana.get("/api/folders/week-1")["parentUid"] == "archive"
    assert not ansible.run("grafana_folder", uid="week-1", title="Week 1", parent_uid="archive").changed

    assert ansible.run("grafana_folder", uid="week-1", title="Week 1", parent_uid="").changed
    assert not grafana.get("/api/folders/week-1").get("parentUid")


def org_members(grafana: GrafanaDouble, name: str) -> dict[str, str]:
    org = grafana.get(f"/api/orgs/name/{name}")
    return {m["login"]: m["role"] for m in grafana.get(f"/api/orgs/{org['id']}/users")}


def test_organization_members_listed_or_enforced(ansible: Ansible, grafana: GrafanaDouble) -> None:
    for login in ("alice", "bob", "carol"):
        grafana.create_user(login)
    users = [{"login": "alice", "role": "Admin"}, {"login": "bob", "role": "Editor"}]
    assert ansible.run("grafana_organization", name="cohort-m", users=users).changed
    assert org_members(grafana, "cohort-m") == {"admin": "Admin", "alice": "Admin", "bob": "Editor"}

    # Someone adds carol by hand: without enforce_users she stays.
    org_id = grafana.get("/api/orgs/name/cohort-m")["id"]
    assert grafana.call("POST", f"/api/orgs/{org_id}/users", {"loginOrEmail": "carol", "role": "Viewer"}).status == 200
    assert not ansible.run("grafana_organization", name="cohort-m", users=users).changed

    # With enforce_users she is removed; the connecting admin is kept.
    result = ansible.run("grafana_organization", name="cohort-m", users=users, enforce_users=True)
    assert result.changed
    assert {u["login"] for u in result.diff["before"]["users"]} - {u["login"] for u in result.diff["after"]["users"]} \
        == {"carol"}
    assert org_members(grafana, "cohort-m") == {"admin": "Admin", "alice": "Admin", "bob": "Editor"}
    assert not ansible.run("grafana_organization", name="cohort-m", users=users, enforce_users=True).changed


def test_organization_unknown_user_fails_in_one_line(ansible: Ansible, grafana: GrafanaDouble) -> None:
    result = ansible.run("grafana_organization", name="cohort-u", users=[{"login": "nobody"}])
    assert result.failed
    assert "\n" not in result.msg
    assert result.msg.startswith("organization 'cohort-u' user 'nobody': HTTP 404 ")


def team_members(grafana: GrafanaDouble, name: str, org_id: int | None = None) -> list[str]:
    team = grafana.get(f"/api/teams/search?name={name}", org_id=org_id)["teams"][0]
    return sorted(m["login"] for m in grafana.get(f"/api/teams/{team['id']}/members", org_id=org_id))


def test_team_members_kept_unless_enforced_in_a_cohort_org(ansible: Ansible, grafana: GrafanaDouble) -> None:
    org_id = grafana.create_org("cohort-t")
    for login in ("alice", "bob"):
        grafana.create_user(login)
        grafana.call("POST", f"/api/orgs/{org_id}/users", {"loginOrEmail": login, "role": "Viewer"})

    assert ansible.run("grafana_team", org_name="cohort-t", name="students", members=["alice"]).changed
    creator_kept = team_members(grafana, "students", org_id)
    assert "alice" in creator_kept
    assert not ansible.run("grafana_team", org_name="cohort-t", name="students", members=["alice"]).changed

    result = ansible.run("grafana_team", org_name="cohort-t", name="students", members=["bob"], enforce_members=True)
    assert result.changed
    assert result.diff["after"]["members"] == ["bob"]
    assert team_members(grafana, "students", org_id) == ["bob"]
    assert not ansible.run("grafana_team", org_name="cohort-t", name="students", members=["bob"],
                           enforce_members=True).changed
    # The team lives in the cohort org only.
    assert grafana.get("/api/teams/search?name=students", org_id=1)["teams"] == []
