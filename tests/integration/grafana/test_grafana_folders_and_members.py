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


def folder_acl(grafana: GrafanaDouble, uid: str, org_id: int | None = None) -> list[tuple[str, int]]:
    """The folder's ACL as the double holds it: (login, team or role, permission level)."""
    entries = grafana.get(f"/api/folders/{uid}/permissions", org_id=org_id)
    return sorted((e.get("userLogin") or e.get("team") or e["role"], e["permission"]) for e in entries)


def test_folder_permissions_replace_the_acl_idempotently_with_check_and_diff(
        ansible: Ansible, grafana: GrafanaDouble) -> None:
    grafana.create_user("bob")
    team_id = grafana.call("POST", "/api/teams", {"name": "team-a"}).body["teamId"]
    assert ansible.run("grafana_folder", uid="bob-own", title="Bob").changed
    assert folder_acl(grafana, "bob-own") == [("Editor", 2), ("Viewer", 1)]  # Grafana's defaults
    permissions = [{"user": "bob@example.org", "permission": "Edit"}, {"team": "team-a", "permission": "View"},
                   {"role": "Editor", "permission": "Edit"}]

    checked = ansible.run("grafana_folder", check=True, uid="bob-own", title="Bob", permissions=permissions)
    assert checked.changed and not checked.failed
    assert folder_acl(grafana, "bob-own") == [("Editor", 2), ("Viewer", 1)]  # nothing applied

    result = ansible.run("grafana_folder", uid="bob-own", title="Bob", permissions=permissions)
    assert result.changed
    assert result.diff["before"]["permissions"] == [{"role": "Editor", "permission": "Edit"},
                                                    {"role": "Viewer", "permission": "View"}]
    wanted = [{"user": "bob", "permission": "Edit"}, {"team": "team-a", "permission": "View"},
              {"role": "Editor", "permission": "Edit"}]
    assert result.diff["after"]["permissions"] == wanted  # the login, not the email given
    assert result["folder"]["permissions"] == wanted
    assert folder_acl(grafana, "bob-own") == [("Editor", 2), ("bob", 2), ("team-a", 1)]
    raw = grafana.get("/api/folders/bob-own/permissions")
    assert {e["teamId"] for e in raw if e["teamId"]} == {team_id}

    again = ansible.run("grafana_folder", uid="bob-own", title="Bob", permissions=permissions)
    assert not again.changed
    assert again.diff["before"] == again.diff["after"]
    assert not ansible.run("grafana_folder", check=True, uid="bob-own", title="Bob", permissions=permissions).changed
    # Unset: the ACL is left alone; an empty list empties it.
    assert not ansible.run("grafana_folder", uid="bob-own", title="Bob").changed
    assert ansible.run("grafana_folder", uid="bob-own", title="Bob", permissions=[]).changed
    assert folder_acl(grafana, "bob-own") == []


def test_new_folder_is_created_with_its_permissions_and_a_viewer_edits_in_it(
        ansible: Ansible, grafana: GrafanaDouble) -> None:
    grafana.create_user("bob", password="bob-pw-123")  # a Viewer of Main Org.
    permissions = [{"user": "bob", "permission": "Edit"}]
    result = ansible.run("grafana_folder", uid="bob-own", title="Bob", permissions=permissions)
    assert result.changed and result.diff["before"] == {}
    assert folder_acl(grafana, "bob-own") == [("bob", 2)]
    assert not ansible.run("grafana_folder", uid="bob-own", title="Bob", permissions=permissions).changed
    board = {"dashboard": {"title": "Mine"}, "folderUid": "bob-own"}
    assert grafana.call("POST", "/api/dashboards/db", board, auth=("bob", "bob-pw-123")).status == 200


def test_folder_permissions_for_an_unknown_user_or_team_fail_in_one_line(
        ansible: Ansible, grafana: GrafanaDouble) -> None:
    grafana.create_folder("labs", "Labs")
    result = ansible.run("grafana_folder", uid="labs", title="Labs",
                         permissions=[{"user": "nobody", "permission": "View"}])
    assert result.failed and "\n" not in result.msg
    assert result.msg.startswith("folder 'labs' user 'nobody': HTTP 404 ")
    result = ansible.run("grafana_folder", uid="labs", title="Labs",
                         permissions=[{"team": "ghosts", "permission": "View"}])
    assert result.failed
    assert result.msg == "folder 'labs' team 'ghosts': HTTP 404 team not found in the organization"
    # Check mode warns instead: an earlier task of the play may create the user.
    checked = ansible.run("grafana_folder", check=True, uid="labs", title="Labs",
                          permissions=[{"user": "nobody", "permission": "View"}])
    assert checked.changed and not checked.failed
    assert folder_acl(grafana, "labs") == [("Editor", 2), ("Viewer", 1)]


def test_folder_permission_entries_must_name_one_principal(ansible: Ansible, grafana: GrafanaDouble) -> None:
    both = ansible.run("grafana_folder", uid="labs", title="Labs",
                       permissions=[{"user": "admin", "role": "Viewer", "permission": "View"}])
    assert both.failed and "mutually exclusive" in both.msg
    viewers = [{"role": "Viewer", "permission": "View"}, {"role": "Viewer", "permission": "Edit"}]
    twice = ansible.run("grafana_folder", uid="labs", title="Labs", permissions=viewers)
    assert twice.failed and twice.msg == "folder 'labs': permissions name role 'Viewer' more than once"
    assert grafana.get("/api/folders/labs") is None
