# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The users and organizations grafana_cohort reads in one list each, so a run looks nobody up one by one."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import GrafanaAPIError, GrafanaClient
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_batch import OrgClients
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_objects import (
    DashboardCopy,
    Folder,
    Organization,
    Team,
)
from ansible_collections.data2ai.grafana_stack.plugins.modules.grafana_datasource import Datasource
from fake_transport import FakeTransport, InFlight
from test_grafana_resource import PROM, FakeModule, datasource_params

PROM_STORED = dict(PROM, name="Prometheus", type="prometheus")

USERS = [{"id": 2, "login": "alice", "name": "Alice", "email": "alice@example.org", "isAdmin": False},
         {"id": 3, "login": "bob", "name": "Bob", "email": "b@x.org", "isAdmin": True}]


def client(fake: FakeTransport) -> GrafanaClient:
    return GrafanaClient({"url": "http://grafana.test", "url_password": "pw"}, sleep=lambda s: None, transport=fake)


def test_a_listed_user_is_found_without_a_request_and_a_user_the_whole_list_lacks_does_not_exist() -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/users", 200, USERS)
    grafana = client(fake)
    assert grafana.read_user_list() == 2
    assert fake.sent[0].query == {"perpage": "1000", "page": "1"}
    # Grafana compares logins without case; the list's isAdmin is the profile's isGrafanaAdmin.
    assert grafana.find_user("ALICE", "") == {"id": 2, "login": "alice", "name": "Alice", "email": "alice@example.org",
                                              "isGrafanaAdmin": False, "isDisabled": False}
    assert grafana.find_user("bob", "")["isGrafanaAdmin"] is True
    assert grafana.find_user("carol", "") is None  # the list is the whole of it (fewer than a page)
    assert grafana.find_user("b@x.org", "", by_email=True)["login"] == "bob"
    assert grafana.user_with_email("ALICE@example.org", "")["id"] == 2
    assert grafana.user_with_email("carol@example.org", "") is None
    assert len(fake.sent) == 1


def test_a_user_made_after_the_list_is_looked_up_once_then_known_and_a_deleted_one_is_gone() -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/users", 200, USERS)
    carol = {"id": 9, "login": "carol", "name": "Carol", "email": "carol@example.org", "isGrafanaAdmin": False}
    fake.on("GET", "/api/users/lookup", 200, carol)
    grafana = client(fake)
    grafana.read_user_list()
    grafana.user_made("Carol", "carol@example.org")
    assert grafana.find_user("carol", "")["id"] == 9
    assert grafana.find_user("carol", "")["id"] == 9
    assert [sent.path for sent in fake.sent[1:]] == ["/api/users/lookup"]
    grafana.user_made("dave", "dave@example.org")  # its email is not in the list, but it exists now
    assert grafana.user_with_email("dave@example.org", "") is None
    assert [sent.path for sent in fake.sent[2:]] == ["/api/users/lookup"]
    grafana.user_deleted("bob")
    assert grafana.find_user("bob", "") is None


@pytest.mark.parametrize(("version", "stored"), [("13.0.0", "carol"), ("10.4.2", "Carol")])
def test_a_user_made_is_known_from_the_answer_of_its_creation_as_grafana_stores_it(version: str, stored: str) -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/users", 200, USERS)
    fake.on("GET", "/api/health", 200, {"database": "ok", "version": version})
    grafana = client(fake)
    grafana.read_user_list()
    grafana.server_major()
    grafana.user_made("Carol", None, {"id": 9, "message": "User created", "uid": "c9"}, name="Carol C")
    # Grafana 11 and later store logins and emails in lower case; the email is the login when none is given.
    assert grafana.find_user("carol", "") == {"id": 9, "login": stored, "name": "Carol C", "email": stored,
                                              "isGrafanaAdmin": False, "isDisabled": False}
    assert grafana.user_by_login("CAROL", "org member")["id"] == 9
    assert grafana.user_with_email("carol", "")["id"] == 9
    assert [sent.path for sent in fake.sent] == ["/api/users", "/api/health"]


def test_a_user_made_before_the_server_version_is_known_is_looked_up() -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/users", 200, USERS)
    fake.on("GET", "/api/users/lookup", 200, {"id": 9, "login": "carol", "name": "", "email": "carol"})
    grafana = client(fake)
    grafana.read_user_list()
    grafana.user_made("Carol", None, {"id": 9, "message": "User created"})
    assert grafana.find_user("carol", "")["id"] == 9
    assert [sent.path for sent in fake.sent] == ["/api/users", "/api/users/lookup"]


def test_a_team_the_client_read_or_made_is_not_searched_again_in_its_organization_and_a_deleted_one_is() -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/teams/search", 200, {"totalCount": 1, "teams": [{"id": 4, "name": "red"}]})
    grafana = client(fake)
    grafana.org_id = 7
    grafana.remember_team("blue", 5)
    assert grafana.team_by_name("blue", "folder")["id"] == 5
    assert grafana.team_by_name("red", "folder")["id"] == 4
    assert grafana.team_by_name("red", "folder")["id"] == 4
    assert [sent.path for sent in fake.sent] == ["/api/teams/search"]
    other = copy.copy(grafana)
    other.org_id = 8  # the same name in another organization is another team
    assert other.team_by_name("red", "folder")["id"] == 4
    grafana.remember_team("red", None)
    with pytest.raises(GrafanaAPIError):
        fake.on("GET", "/api/teams/search", 200, {"totalCount": 0, "teams": []})
        grafana.team_by_name("red", "folder")
    assert [(sent.path, sent.header("X-Grafana-Org-Id")) for sent in fake.sent] == [
        ("/api/teams/search", "7"), ("/api/teams/search", "8"), ("/api/teams/search", "7")]


def test_a_partial_list_answers_for_the_users_it_holds_and_looks_up_the_others() -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/users", 200, [dict(USERS[0], id=1000 + n, login=f"u{n}") for n in range(1000)])
    fake.on("GET", "/api/users/lookup", 404, {"message": "user not found"})
    grafana = client(fake)
    assert grafana.read_user_list() == 1000
    assert grafana.find_user("u7", "")["id"] == 1007
    assert grafana.find_user("carol", "") is None
    assert [sent.path for sent in fake.sent] == ["/api/users", "/api/users/lookup"]


def test_without_a_server_admin_the_list_holds_nobody_and_every_user_is_looked_up() -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/users", 403, {"message": "Permission denied"})
    fake.on("GET", "/api/users/lookup", 200, USERS[0])
    grafana = client(fake)
    assert grafana.read_user_list() == 0
    assert grafana.find_user("alice", "")["id"] == 2
    assert [sent.path for sent in fake.sent] == ["/api/users", "/api/users/lookup"]


def test_an_organization_of_the_list_or_made_by_the_client_is_not_resolved_by_name_and_another_one_is() -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/orgs", 200, [{"id": 1, "name": "Main Org."}, {"id": 7, "name": "c42-alice"}])
    fake.on("GET", "/api/orgs/name/c42-bob", 200, {"id": 8, "name": "c42-bob"})
    fake.on("GET", "/api/folders", 200, [])
    grafana = client(fake)
    assert grafana.read_org_ids() == 2
    assert grafana.known_org("c42-alice") == (True, 7)
    assert grafana.known_org("c42-bob") == (True, None)  # the whole list lacks it: it does not exist (yet)
    grafana.remember_org("c42-carol", 9)
    clients = OrgClients(grafana)
    for org in ("c42-alice", "c42-carol", "c42-bob"):
        clients.get(org).request("GET", "/api/folders", "folders")
    assert [(sent.path, sent.header("X-Grafana-Org-Id")) for sent in fake.sent] == [
        ("/api/orgs", None), ("/api/folders", "7"), ("/api/folders", "9"), ("/api/orgs/name/c42-bob", None),
        ("/api/folders", "8")]
    grafana.remember_org("c42-alice", None)
    assert grafana.known_org("c42-alice") == (True, None)


def in_batch(params: dict[str, object]) -> FakeModule:
    """A module as grafana_cohort's batch gives each object: it does not read an object again for its result."""
    module = FakeModule(params)
    module.reread_results = False  # type: ignore[attr-defined]
    return module


def org_params(name: str, users: list[dict[str, str]], **options: object) -> dict[str, object]:
    params: dict[str, object] = {"url": "http://grafana.test", "url_username": "admin", "url_password": "pw",
                                 "token": None, "state": "present", "name": name, "users": users,
                                 "enforce_users": False}
    params.update(options)
    return params


def test_an_organization_the_client_makes_holds_only_its_creator_so_nothing_in_it_is_read_before_it_is_made(
) -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/users", 200, [{"id": 1, "login": "admin", "email": "admin@localhost", "isAdmin": True},
                                       *USERS])
    fake.on("GET", "/api/orgs", 200, [{"id": 1, "name": "Main Org."}])
    fake.on("POST", "/api/orgs", 200, {"orgId": 5, "message": "Organization created"})
    fake.on("POST", "/api/orgs/5/users", 200, {"userId": 2, "message": "User added to organization"})
    fake.on("POST", "/api/datasources", 200, {"datasource": {"id": 1, "uid": "prom"}})
    fake.on("GET", "/api/datasources/uid/prom", 200, {"id": 1, "uid": "prom", "name": "Prometheus"})
    grafana = client(fake)
    grafana.read_user_list()
    grafana.read_org_ids()
    params = org_params("c42-alice", [{"login": "alice", "role": "Admin"}])
    assert Organization(in_batch(params), grafana).run()["changed"]
    # The creator (the admin, by its stored login) is the one member Grafana gives the new organization.
    assert not fake.requests("GET", "/api/orgs/5/users")
    assert [sent.body for sent in fake.requests("POST", "/api/orgs/5/users")] == [
        {"loginOrEmail": "alice@example.org", "role": "Admin"}]

    in_org = OrgClients(grafana).get("c42-alice")
    datasource = datasource_params(name="Prometheus", uid="prom", type="prometheus")
    assert Datasource(in_batch(datasource), in_org).run()["changed"]
    assert not fake.requests("GET", "/api/datasources/uid/prom")
    assert not fake.requests("GET", "/api/datasources/name/Prometheus")
    assert fake.requests("POST", "/api/datasources")[0].header("X-Grafana-Org-Id") == "5"
    # Once made, the object is read as usual.
    fake.on("GET", "/api/datasources/uid/prom", 200, dict(PROM_STORED, uid="prom"))
    assert not Datasource(in_batch(datasource), in_org).run()["changed"]
    assert len(fake.requests("GET", "/api/datasources/uid/prom")) == 1

    # An organization the client did not make is read, and so is one it made, deleted and then only found.
    assert not Datasource(in_batch(datasource), client(fake)).run()["changed"]
    grafana.remember_org("c42-alice", None)
    grafana.remember_org("c42-alice", 5)
    other = datasource_params(name="Loki", uid="loki", type="loki")
    fake.on("GET", "/api/datasources/uid/loki", 200, dict(PROM_STORED, uid="loki", name="Loki", type="loki"))
    assert not Datasource(in_batch(other), OrgClients(grafana).get("c42-alice")).run()["changed"]
    assert [len(fake.requests("GET", f"/api/datasources/uid/{uid}")) for uid in ("prom", "loki")] == [2, 1]


def test_a_token_or_an_unlisted_caller_reads_the_new_organizations_members() -> None:
    fake = FakeTransport()
    fake.on("POST", "/api/orgs", 200, {"orgId": 6, "message": "Organization created"})
    fake.on("GET", "/api/orgs/6/users", 200, [{"userId": 1, "login": "admin", "role": "Admin"}])
    grafana = client(fake)  # no user list read: the caller's stored login is not known
    assert Organization(in_batch(org_params("c42-carol", [], enforce_users=True)), grafana).run()["changed"]
    assert len(fake.requests("GET", "/api/orgs/6/users")) == 1
    assert not fake.requests("DELETE")  # the caller stays a member


def test_a_member_the_update_changes_uses_the_list_read_with_the_organization() -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/orgs", 200, [{"id": 7, "name": "c42-dave"}])
    fake.on("GET", "/api/orgs/7/users", 200, [{"userId": 1, "login": "admin", "role": "Admin"},
                                              {"userId": 2, "login": "alice", "role": "Viewer"}])
    fake.on("PATCH", "/api/orgs/7/users/2", 200, {"message": "Organization user updated"})
    grafana = client(fake)
    grafana.read_org_ids()
    params = org_params("c42-dave", [{"login": "alice", "role": "Editor"}])
    assert Organization(in_batch(params), grafana).run()["changed"]
    assert len(fake.requests("GET", "/api/orgs/7/users")) == 1
    assert [sent.body for sent in fake.requests("PATCH")] == [{"role": "Editor"}]


def test_a_batch_adds_a_new_organizations_members_several_at_a_time_and_a_single_module_one_by_one() -> None:
    users = [{"id": 10 + n, "login": f"s{n:02d}", "email": f"s{n:02d}@example.org", "isAdmin": False}
             for n in range(12)]

    def add_member(sent: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
        user = next(u for u in users if u["email"] == sent.body["loginOrEmail"])
        return 200, {"userId": user["id"], "message": "User added to organization"}, {}

    members = [{"login": u["login"], "role": "Editor"} for u in users]
    for concurrency, most in ((8, 8), (None, 1)):
        fake = FakeTransport()
        fake.on("GET", "/api/users", 200, [{"id": 1, "login": "admin", "isAdmin": True}, *users])
        fake.on("POST", "/api/orgs", 200, {"orgId": 5, "message": "Organization created"})
        in_flight = InFlight()
        fake.on("POST", "/api/orgs/5/users", in_flight.slowly(add_member))
        grafana = client(fake)
        grafana.read_user_list()
        module = in_batch(org_params("cohort", members))
        if concurrency:
            module.concurrency = concurrency  # type: ignore[attr-defined]
        assert Organization(module, grafana).run()["changed"]
        assert len(fake.requests("POST", "/api/orgs/5/users")) == 12
        assert in_flight.most == most


def test_a_refused_member_is_the_first_in_login_order_once_every_member_was_tried() -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/users", 200, [{"id": 1, "login": "admin", "isAdmin": True}, *USERS])
    fake.on("POST", "/api/orgs", 200, {"orgId": 5, "message": "Organization created"})
    fake.on("POST", "/api/orgs/5/users", lambda sent: (409, {"message": "User is already member of this organization"},
                                                       {}))
    grafana = client(fake)
    grafana.read_user_list()
    module = in_batch(org_params("cohort", [{"login": "bob", "role": "Viewer"}, {"login": "alice", "role": "Viewer"}]))
    module.concurrency = 4  # type: ignore[attr-defined]
    with pytest.raises(GrafanaAPIError, match="organization 'cohort' user 'alice': HTTP 409"):
        Organization(module, grafana).run()
    assert len(fake.requests("POST", "/api/orgs/5/users")) == 2


def test_a_batch_adds_and_removes_a_teams_members_several_at_a_time() -> None:
    users = [{"id": 10 + n, "login": f"s{n:02d}", "email": f"s{n:02d}@example.org", "isAdmin": False}
             for n in range(6)]
    in_flight = InFlight()
    fake = FakeTransport()
    fake.on("GET", "/api/users", 200, [{"id": 1, "login": "admin", "isAdmin": True}, *users])
    fake.on("GET", "/api/teams/search", 200, {"totalCount": 1, "teams": [{"id": 3, "name": "red", "email": ""}]})
    fake.on("GET", "/api/teams/3/members", 200, [{"userId": 90, "login": "old1"}, {"userId": 91, "login": "old2"},
                                                 {"userId": 92, "login": "old3"}])
    fake.on("POST", "/api/teams/3/members", in_flight.slowly((200, {"message": "Member added to Team"}, {})))
    fake.on("DELETE", "/api/teams/3/members/*", in_flight.slowly((200, {"message": "Team member removed"}, {})))
    grafana = client(fake)
    grafana.read_user_list()
    grafana.org_id = 2
    module = in_batch({"url": "http://grafana.test", "url_username": "admin", "url_password": "pw", "token": None,
                       "state": "present", "name": "red", "email": None, "members": [u["login"] for u in users],
                       "enforce_members": True})
    module.concurrency = 8  # type: ignore[attr-defined]
    assert Team(module, grafana).run()["changed"]
    assert sorted(sent.body["userId"] for sent in fake.requests("POST", "/api/teams/3/members")) == list(range(10, 16))
    assert sorted(sent.path for sent in fake.requests("DELETE")) == [f"/api/teams/3/members/{n}" for n in (90, 91, 92)]
    assert in_flight.most == 6


SEARCH = [{"uid": "team-red", "title": "Red", "type": "dash-folder"},
          {"uid": "s01", "title": "s01", "type": "dash-folder", "folderUid": "team-red"},
          {"uid": "s01-starter", "title": "Starter", "type": "dash-db", "folderUid": "s01"}]


def folder_params(uid: str, title: str, parent: str = "", **options: object) -> dict[str, object]:
    params: dict[str, object] = {"url": "http://grafana.test", "url_username": "admin", "url_password": "pw",
                                 "token": None, "state": "present", "uid": uid, "title": title, "description": None,
                                 "parent_uid": parent or None, "permissions": None, "force_delete_rules": False}
    params.update(options)
    return params


def copy_params(uid: str, folder: str, overwrite: bool = False) -> dict[str, object]:
    return {"url": "http://grafana.test", "url_username": "admin", "url_password": "pw", "token": None,
            "state": "present", "uid": uid, "folder_uid": folder, "dashboard": {"title": "Starter", "panels": []},
            "src": None, "commit_message": "m", "overwrite": overwrite}


def test_folders_and_copies_an_org_search_lists_as_wanted_are_not_read_one_by_one() -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/search", 200, SEARCH)
    fake.on("GET", "/api/health", 200, {"version": "12.3.0"})
    grafana = client(fake)
    grafana.org_id = 4
    grafana.server_major()
    results = [Folder(in_batch(folder_params("team-red", "Red")), grafana).run(),
               Folder(in_batch(folder_params("s01", "s01", "team-red")), grafana).run(),
               DashboardCopy(in_batch(copy_params("s01-starter", "s01")), grafana).run()]
    assert [r["changed"] for r in results] == [False, False, False]
    assert [(sent.path, sent.query, sent.header("X-Grafana-Org-Id")) for sent in fake.sent[1:]] == [
        ("/api/search", {"limit": "5000", "page": "1"}, "4")]


def test_what_the_search_lacks_or_lists_otherwise_is_read_by_its_uid() -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/search", 200, SEARCH)
    fake.on("GET", "/api/health", 200, {"version": "12.3.0"})
    fake.on("GET", "/api/folders/team-red", 200, {"uid": "team-red", "title": "Red", "description": "x"})
    fake.on("GET", "/api/folders/s02", 200, {"uid": "s02", "title": "s02", "parentUid": "team-red"})
    starter = {"uid": "s01-starter", "title": "Starter", "panels": []}
    fake.on("GET", "/api/dashboards/uid/s01-starter", 200, {"dashboard": starter, "meta": {"folderUid": "s01"}})
    other = {"uid": "s02-starter", "title": "S"}
    fake.on("GET", "/api/dashboards/uid/s02-starter", 200, {"dashboard": other, "meta": {"folderUid": "s02"}})
    grafana = client(fake)
    grafana.org_id = 4
    grafana.server_major()
    Folder(in_batch(folder_params("team-red", "Red", description="x")), grafana).run()  # description managed
    Folder(in_batch(folder_params("s02", "s02", "team-red")), grafana).run()  # not listed (an index behind)
    DashboardCopy(in_batch(copy_params("s01-starter", "s01", overwrite=True)), grafana).run()  # overwrite: compared
    DashboardCopy(in_batch(copy_params("s02-starter", "s02")), grafana).run()  # not listed
    assert [sent.path for sent in fake.sent[1:]] == ["/api/folders/team-red", "/api/search", "/api/folders/s02",
                                                     "/api/dashboards/uid/s01-starter",
                                                     "/api/dashboards/uid/s02-starter"]
