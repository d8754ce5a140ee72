"""Folder permissions of the Grafana TEST DOUBLE: the legacy ACL API and what it grants or refuses.

The double runs in a thread (see ``test_grafana_double.py``); every request and response is checked against
Grafana's OpenAPI spec, and each test ends by asserting the double recorded no violation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_grafana_double import RunningDouble, SpecGuard, default_spec_path, start_double

PASSWORD = "secret-pw-1"


@pytest.fixture(scope="module")
def spec_guard() -> SpecGuard:
    return SpecGuard(default_spec_path())


@pytest.fixture
def double(spec_guard: SpecGuard) -> Iterator[RunningDouble]:
    running = start_double(spec_guard)
    yield running
    assert running.violations() == []
    running.stop()


def add_user(double: RunningDouble, login: str, role: str = "Viewer") -> int:
    """A user of org 1 with the given role (the double auto-assigns Viewer)."""
    body = {"login": login, "email": f"{login}@example.org", "name": login, "password": PASSWORD}
    created = double.call("POST", "/api/admin/users", body)
    assert created.status_code == 200, created.text
    user_id = created.json()["id"]
    if role != "Viewer":
        assert double.call("PATCH", f"/api/org/users/{user_id}", {"role": role}).status_code == 200
    return user_id


def add_folder(double: RunningDouble, uid: str, parent_uid: str = "") -> None:
    body = {"uid": uid, "title": uid.title(), **({"parentUid": parent_uid} if parent_uid else {})}
    assert double.call("POST", "/api/folders", body).status_code == 200


def acl(double: RunningDouble, uid: str) -> list[tuple[str, str]]:
    reply = double.call("GET", f"/api/folders/{uid}/permissions")
    assert reply.status_code == 200, reply.text
    return sorted((e.get("userLogin") or e.get("team") or e.get("role"), e["permissionName"]) for e in reply.json())


def save(double: RunningDouble, login: str, folder_uid: str, uid: str = "board") -> int:
    body = {"dashboard": {"uid": uid, "title": f"{uid} of {login}"}, "folderUid": folder_uid, "overwrite": True}
    return double.call("POST", "/api/dashboards/db", body, auth=(login, PASSWORD)).status_code


def test_new_top_level_folder_has_the_role_defaults_and_a_nested_one_inherits(double: RunningDouble) -> None:
    add_folder(double, "labs")
    add_folder(double, "week-1", parent_uid="labs")
    assert acl(double, "labs") == [("Editor", "Edit"), ("Viewer", "View")]
    assert acl(double, "week-1") == []
    entry = double.call("GET", "/api/folders/labs/permissions").json()[0]
    assert entry["isFolder"] is True and entry["inherited"] is False and entry["uid"] == "labs"


def test_post_replaces_the_whole_acl_with_users_teams_and_roles(double: RunningDouble) -> None:
    bob = add_user(double, "bob")
    team = double.call("POST", "/api/teams", {"name": "team-a"}).json()["teamId"]
    add_folder(double, "labs")
    items = [{"userId": bob, "permission": 2}, {"teamId": team, "permission": 1}, {"role": "Editor", "permission": 2}]
    reply = double.call("POST", "/api/folders/labs/permissions", {"items": items})
    assert reply.status_code == 200 and reply.json() == {"message": "Folder permissions updated"}
    assert acl(double, "labs") == [("Editor", "Edit"), ("bob", "Edit"), ("team-a", "View")]
    assert double.call("POST", "/api/folders/labs/permissions", {"items": []}).status_code == 200
    assert acl(double, "labs") == []


@pytest.mark.parametrize(("item", "status"), [
    ({"userId": 1, "teamId": 1, "permission": 1}, 400),
    ({"userId": 1, "role": "Viewer", "permission": 1}, 400),
    ({"role": "Viewer", "permission": 3}, 400),
    ({"permission": 1}, 400),
    ({"userId": 999, "permission": 1}, 500),
])
def test_bad_permission_items_are_refused(double: RunningDouble, item: dict[str, Any], status: int) -> None:
    add_folder(double, "labs")
    assert double.call("POST", "/api/folders/labs/permissions", {"items": [item]}).status_code == status
    assert acl(double, "labs") == [("Editor", "Edit"), ("Viewer", "View")]


def test_permission_item_of_the_wrong_type_is_a_spec_violation(double: RunningDouble) -> None:
    add_folder(double, "labs")
    reply = double.call("POST", "/api/folders/labs/permissions", {"items": [{"role": "Viewer", "permission": "View"}]})
    assert reply.status_code == 400 and "violates Grafana OpenAPI spec" in reply.json()["message"]
    double.call("POST", "/__double__/reset", auth=None)  # the violation was the point


def test_viewer_saves_only_where_they_or_their_team_hold_edit(double: RunningDouble) -> None:
    bob = add_user(double, "bob")
    carol = add_user(double, "carol")
    team = double.call("POST", "/api/teams", {"name": "team-c"}).json()["teamId"]
    assert double.call("POST", f"/api/teams/{team}/members", {"userId": carol}).status_code == 200
    for uid in ("bob-folder", "carol-folder", "other"):
        add_folder(double, uid)
    double.call("POST", "/api/folders/bob-folder/permissions", {"items": [{"userId": bob, "permission": 2}]})
    double.call("POST", "/api/folders/carol-folder/permissions", {"items": [{"teamId": team, "permission": 4}]})

    assert save(double, "bob", "bob-folder", "b1") == 200
    assert save(double, "carol", "carol-folder", "c1") == 200
    assert save(double, "bob", "carol-folder", "b2") == 403
    assert save(double, "bob", "other", "b3") == 403  # Viewer -> View only, by default
    assert save(double, "bob", "", "b4") == 403  # the General folder follows the org role
    forbidden = double.call("POST", "/api/dashboards/db", {"dashboard": {"title": "x"}, "folderUid": "other"},
                            auth=("bob", PASSWORD))
    assert forbidden.json()["message"] == "Access denied to save dashboard"
    # Moving a dashboard out of a folder needs Edit there too.
    assert save(double, "carol", "bob-folder", "c1") == 403
    assert double.call("DELETE", "/api/dashboards/uid/c1", auth=("bob", PASSWORD)).status_code == 403
    assert double.call("DELETE", "/api/dashboards/uid/b1", auth=("bob", PASSWORD)).status_code == 200


def test_nested_folder_inherits_the_parents_permissions(double: RunningDouble) -> None:
    bob = add_user(double, "bob")
    add_folder(double, "team-a")
    add_folder(double, "bob-own", parent_uid="team-a")
    assert save(double, "bob", "bob-own") == 403
    double.call("POST", "/api/folders/team-a/permissions", {"items": [{"userId": bob, "permission": 2}]})
    assert save(double, "bob", "bob-own") == 200


def test_viewer_reads_only_dashboards_of_folders_they_may_view(double: RunningDouble) -> None:
    add_user(double, "bob")
    add_folder(double, "open")
    add_folder(double, "closed")
    for folder in ("open", "closed"):
        board = {"dashboard": {"uid": f"d-{folder}", "title": folder}, "folderUid": folder}
        assert double.call("POST", "/api/dashboards/db", board).status_code == 200
    double.call("POST", "/api/folders/closed/permissions", {"items": [{"role": "Editor", "permission": 2}]})
    bob = ("bob", PASSWORD)
    assert double.call("GET", "/api/dashboards/uid/d-open", auth=bob).status_code == 200
    assert double.call("GET", "/api/dashboards/uid/d-closed", auth=bob).status_code == 403
    assert {h["uid"] for h in double.call("GET", "/api/search", auth=bob).json()} == {"open", "d-open"}
    assert double.call("GET", "/api/dashboards/uid/d-closed").status_code == 200  # the org Admin


def test_editor_follows_the_acl_and_org_admin_always_has_admin(double: RunningDouble) -> None:
    add_user(double, "eve", role="Editor")
    add_user(double, "olga", role="Admin")
    add_folder(double, "labs")
    assert save(double, "eve", "labs", "e1") == 200  # Editor -> Edit, by default
    assert save(double, "eve", "", "e2") == 200
    assert double.call("GET", "/api/folders/labs/permissions", auth=("eve", PASSWORD)).status_code == 403
    double.call("POST", "/api/folders/labs/permissions", {"items": []})
    assert save(double, "eve", "labs", "e3") == 403
    assert save(double, "olga", "labs", "o1") == 200
    assert double.call("GET", "/api/folders/labs/permissions", auth=("olga", PASSWORD)).json() == []


def test_folder_admin_may_manage_the_folders_permissions(double: RunningDouble) -> None:
    bob = add_user(double, "bob")
    add_folder(double, "labs")
    denied = double.call("GET", "/api/folders/labs/permissions", auth=("bob", PASSWORD))
    assert denied.status_code == 403 and denied.json()["title"] == "Access denied"
    double.call("POST", "/api/folders/labs/permissions", {"items": [{"userId": bob, "permission": 4}]})
    assert double.call("GET", "/api/folders/labs/permissions", auth=("bob", PASSWORD)).status_code == 200
    assert double.call("GET", "/api/folders/nope/permissions").status_code == 404


def test_acl_entries_of_a_deleted_user_disappear(double: RunningDouble) -> None:
    bob = add_user(double, "bob")
    add_folder(double, "labs")
    double.call("POST", "/api/folders/labs/permissions", {"items": [{"userId": bob, "permission": 2}]})
    assert double.call("DELETE", f"/api/admin/users/{bob}").status_code == 200
    assert acl(double, "labs") == []


# -- teams: Grafana makes the user who creates a team (basic auth or a session, not a service account) its member
# with the Admin permission (pkg/services/team/teamapi/team.go, createTeam).


def members(double: RunningDouble, team_id: int, **kwargs: object) -> list[tuple[str, int]]:
    answer = double.call("GET", f"/api/teams/{team_id}/members", **kwargs)  # type: ignore[arg-type]
    assert answer.status_code == 200, answer.text
    return [(m["login"], m["permission"]) for m in answer.json()]


def test_the_user_who_creates_a_team_is_its_member_with_the_admin_permission(double: RunningDouble) -> None:
    team = double.call("POST", "/api/teams", {"name": "red"}).json()["teamId"]
    assert members(double, team) == [("admin", 4)]
    carol = double.call("POST", "/api/admin/users", {"login": "carol", "password": "secret-pw-1"}).json()["id"]
    assert double.call("POST", f"/api/teams/{team}/members", {"userId": carol}).status_code == 200
    assert sorted(members(double, team)) == [("admin", 4), ("carol", 0)]
    assert double.call("DELETE", f"/api/teams/{team}/members/1").status_code == 200
    assert members(double, team) == [("carol", 0)]


def test_a_team_a_service_account_creates_has_no_member(double: RunningDouble) -> None:
    account = double.call("POST", "/api/serviceaccounts", {"name": "ci", "role": "Admin"}).json()
    key = double.call("POST", f"/api/serviceaccounts/{account['id']}/tokens", {"name": "t"}).json()["key"]
    bearer = {"Authorization": f"Bearer {key}"}
    team = double.call("POST", "/api/teams", {"name": "blue"}, auth=None, headers=bearer).json()["teamId"]
    assert members(double, team) == []
