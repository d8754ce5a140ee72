"""grafana_cohort's planning and its batch run, against a fake Grafana answering at GrafanaClient.request (the
transport below it is not used): order by dependency, changed only on difference, check mode, one line per failed
object with the objects that need it skipped, bounded concurrency, removals in order."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import (
    GrafanaAPIError,
    GrafanaClient,
    grafana_argument_spec,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_batch import Batch, failure_lines
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_cohort_plan import (
    argument_spec,
    build_jobs,
)

ADMIN = "admin"


class FakeGrafana:
    """The few routes users, organizations and folders (Grafana 12, legacy API) use, as a server admin sees them."""

    def __init__(self) -> None:
        admin = {"id": 1, "login": ADMIN, "email": "admin@localhost", "name": ADMIN, "isGrafanaAdmin": True}
        self.users: dict[str, dict[str, Any]] = {ADMIN: admin}
        self.orgs: dict[str, dict[str, Any]] = {}
        self.folders: dict[tuple[int, str], dict[str, Any]] = {}
        self.writes: list[tuple[str, str]] = []
        self.refuse: dict[tuple[str, str], tuple[int, str]] = {}  # (method, path or login) -> (status, message)
        self.delay = 0.0
        self.active = self.peak = 0
        self.lock = threading.RLock()
        self.next_id = 100

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def request(self, client: GrafanaClient, method: str, path: str, obj: str, body: Any = None,
                query: dict[str, Any] | None = None, use_org: bool = True, disable_provenance: bool = False,
                missing_ok: bool = False) -> Any:
        del disable_provenance
        org_id = client.resolve_org() if use_org else None
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            time.sleep(self.delay)
            with self.lock:
                key = (method, (body or {}).get("login", path) if isinstance(body, dict) else path)
                if key in self.refuse:
                    status, message = self.refuse[key]
                    raise GrafanaAPIError(obj, status, message)
                if method != "GET":
                    self.writes.append((method, path))
                found = self.route(method, path, body, query or {}, org_id)
        finally:
            with self.lock:
                self.active -= 1
        if found is None and method == "GET":
            if missing_ok:
                return None
            raise GrafanaAPIError(obj, 404, "not found")
        return found

    def route(self, method: str, path: str, body: Any, query: dict[str, Any], org_id: int | None) -> Any:
        parts = path.strip("/").split("/")[1:]
        by_id = {u["id"]: u for u in self.users.values()}
        orgs_by_id = {o["id"]: o for o in self.orgs.values()}
        if path == "/api/health":
            return {"version": "12.3.0"}
        if path == "/api/users/lookup":
            wanted = query["loginOrEmail"].lower()
            return next((dict(u) for u in self.users.values() if wanted in (u["login"], u["email"])), None)
        if path == "/api/users/search":
            return {"users": []}
        if (method, path) == ("POST", "/api/admin/users"):
            user = {"id": self.new_id(), "login": body["login"], "email": body.get("email") or body["login"],
                    "name": body.get("name", ""), "isGrafanaAdmin": False}
            self.users[body["login"]] = user
            return {"id": user["id"]}
        if parts[:2] == ["admin", "users"] and parts[3:] == ["password"] and method == "PUT":
            by_id[int(parts[2])]["password"] = body["password"]
            return {}
        if parts[:2] == ["admin", "users"] and method == "DELETE":
            del self.users[by_id[int(parts[2])]["login"]]
            return {}
        if parts[:2] == ["orgs", "name"]:
            org = self.orgs.get(parts[2])
            return {"id": org["id"], "name": org["name"]} if org else None
        if (method, path) == ("POST", "/api/orgs"):
            org = {"id": self.new_id(), "name": body["name"], "members": {ADMIN: "Admin"}}
            self.orgs[body["name"]] = org
            return {"orgId": org["id"]}
        if parts[0] == "orgs" and len(parts) == 2 and method == "DELETE":
            del self.orgs[orgs_by_id[int(parts[1])]["name"]]
            return {}
        if parts[0] == "orgs" and parts[2:3] == ["users"]:
            org = orgs_by_id[int(parts[1])]
            if method == "GET":
                return [{"login": login, "role": role, "userId": self.users[login]["id"]}
                        for login, role in org["members"].items()]
            if method == "POST":
                user = next(u for u in self.users.values() if body["loginOrEmail"] in (u["login"], u["email"]))
                org["members"][user["login"]] = body["role"]
                return {"userId": user["id"]}
            if method == "PATCH":
                org["members"][by_id[int(parts[3])]["login"]] = body["role"]
                return {}
        if path == "/api/search":  # every folder of the request org (no dashboard here), as Grafana lists them
            return [{"uid": f["uid"], "title": f["title"], "type": "dash-folder", "folderUid": f["parentUid"]}
                    for (folder_org, _uid), f in self.folders.items() if folder_org == org_id]
        if parts[0] == "folders":
            if method == "POST" and len(parts) == 1:
                self.folders[(org_id, body["uid"])] = {"uid": body["uid"], "title": body["title"],
                                                       "parentUid": body.get("parentUid", ""), "acl": []}
                return {"uid": body["uid"]}
            folder = self.folders.get((org_id, parts[1]))
            if folder is None:
                return None
            if parts[2:] == ["permissions"]:
                if method == "POST":
                    folder["acl"] = body["items"]
                    return {}
                return [{"userId": e.get("userId", 0), "userLogin": by_id[e["userId"]]["login"] if e.get("userId")
                         else "", "teamId": 0, "role": e.get("role", ""), "permission": e["permission"]}
                        for e in folder["acl"]]
            if method == "DELETE":
                del self.folders[(org_id, parts[1])]
                return {}
            return {k: v for k, v in folder.items() if k != "acl"}
        raise AssertionError(f"unexpected request {method} {path}")


@pytest.fixture
def grafana(monkeypatch: pytest.MonkeyPatch) -> FakeGrafana:
    fake = FakeGrafana()

    def request(client: GrafanaClient, *args: Any, **kwargs: Any) -> Any:
        return fake.request(client, *args, **kwargs)

    monkeypatch.setattr(GrafanaClient, "request", request)
    return fake


def params(**options: Any) -> dict[str, Any]:
    spec = grafana_argument_spec()
    spec.update(argument_spec())
    result = ArgumentSpecValidator(spec).validate(dict(url="http://grafana.invalid", url_password="pw", retries=0,
                                                       **options))
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def students(*logins: str) -> dict[str, Any]:
    return dict(
        users=[{"login": login, "name": login.title(), "password": f"pw-{login}"} for login in logins],
        organizations=[{"name": f"c-{login}", "users": [{"login": login, "role": "Admin"}]} for login in logins],
        folders=[{"org_name": f"c-{login}", "uid": f"u-{login}", "title": login.title(),
                  "permissions": [{"user": login, "permission": "Edit"}, {"role": "Editor", "permission": "Edit"}]}
                 for login in logins])


def run(options: dict[str, Any], check_mode: bool = False, concurrency: int = 8) -> tuple[list[dict], Batch]:
    p = params(concurrency=concurrency, **options)
    client = GrafanaClient(p)
    batch = Batch(client, check_mode, p["concurrency"])
    return batch.run(build_jobs(p)), batch


def test_jobs_wait_for_the_objects_they_need() -> None:
    jobs = {job.key: job for job in build_jobs(params(
        users=[{"login": "Alice"}],
        organizations=[{"name": "c", "users": [{"login": "alice"}]}],
        teams=[{"org_name": "c", "name": "t", "members": ["ALICE"]}],
        folders=[{"org_name": "c", "uid": "top", "title": "Top", "permissions": [{"team": "t", "permission": "View"}]},
                 {"org_name": "c", "uid": "sub", "title": "Sub", "parent_uid": "top",
                  "permissions": [{"user": "alice", "permission": "Edit"}]}],
        dashboard_models={"m": {"title": "M"}},
        dashboards=[{"org_name": "c", "uid": "d", "folder_uid": "sub", "model": "m"}],
        remove_folders=[{"org_name": "c", "uid": "old"}], remove_organizations=["c-old"],
        remove_users=["bob", "Bob"]))}
    user, org = ("user", "", "Alice"), ("organization", "", "c")
    assert jobs[org].needs == [user]  # logins compared without case
    assert jobs[("team", "c", "t")].needs == [user, org]
    assert jobs[("folder", "c", "top")].needs == [("team", "c", "t"), org]
    assert jobs[("folder", "c", "sub")].needs == [("folder", "c", "top"), user, org]
    assert jobs[("dashboard", "c", "d")].needs == [("folder", "c", "sub"), org]
    assert jobs[("dashboard", "c", "d")].params["dashboard"] == {"title": "M"}
    # Removals after everything else, one after the other; a login in two cases is removed once.
    removals = [job for job in jobs.values() if job.params["state"] == "absent"]
    assert [job.key for job in removals] == [("folder", "c", "old"), ("organization", "", "c-old"),
                                             ("user", "", "bob")]
    assert len(removals[0].after) == 6 and removals[1].after == [removals[0].key]
    assert [job.needs for job in removals] == [[], [], []]


def test_a_model_that_is_not_given_or_an_object_listed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="its model 'm' is not in dashboard_models"):
        build_jobs(params(dashboards=[{"org_name": "c", "uid": "d", "model": "m"}]))
    with pytest.raises(ValueError, match="folder 'f' in organization 'c' is listed twice"):
        build_jobs(params(folders=[{"org_name": "c", "uid": "f", "title": "F"}],
                          remove_folders=[{"org_name": "c", "uid": "f"}]))


def test_a_cohort_is_created_then_a_rerun_writes_nothing(grafana: FakeGrafana) -> None:
    results = run(students("alice", "bob"))[0]
    assert [(r["kind"], r["name"], r["action"]) for r in results] == [
        ("user", "alice", "created"), ("user", "bob", "created"), ("organization", "c-alice", "created"),
        ("organization", "c-bob", "created"), ("folder", "u-alice", "created"), ("folder", "u-bob", "created")]
    assert grafana.orgs["c-bob"]["members"] == {ADMIN: "Admin", "bob": "Admin"}
    folder = grafana.folders[(grafana.orgs["c-bob"]["id"], "u-bob")]
    assert folder["acl"] == [{"permission": 2, "userId": grafana.users["bob"]["id"]},
                             {"permission": 2, "role": "Editor"}]
    grafana.writes.clear()
    again = run(students("alice", "bob"))[0]
    assert {r["action"] for r in again} == {"unchanged"}
    assert grafana.writes == []

    grafana.orgs["c-bob"]["members"]["bob"] = "Viewer"  # changed in Grafana: put back, only that
    fixed = run(students("alice", "bob"))[0]
    assert [(r["name"], r["action"]) for r in fixed if r["action"] != "unchanged"] == [("c-bob", "updated")]
    assert grafana.writes == [("PATCH", f"/api/orgs/{grafana.orgs['c-bob']['id']}/users/{grafana.users['bob']['id']}")]


def test_check_mode_reports_what_would_be_done_and_writes_nothing(grafana: FakeGrafana) -> None:
    results, batch = run(students("alice"), check_mode=True)
    assert [r["action"] for r in results] == ["created", "created", "created"]
    assert results[2]["diff"]["after"]["permissions"][0] == {"user": "alice", "permission": "Edit"}
    assert grafana.writes == [] and grafana.users.keys() == {ADMIN}
    assert any("check mode assumes it will be created" in w for w in batch.warnings)


def test_a_failed_object_is_one_line_the_objects_needing_it_are_skipped_the_others_applied(
        grafana: FakeGrafana) -> None:
    grafana.refuse[("POST", "bob")] = (412, "User with email 'bob' or username 'bob' already exists")
    results = run(students("alice", "bob", "chloe"))[0]
    actions = {(r["kind"], r["name"]): r["action"] for r in results}
    assert actions == {("user", "alice"): "created", ("user", "bob"): "failed", ("user", "chloe"): "created",
                       ("organization", "c-alice"): "created", ("organization", "c-bob"): "skipped",
                       ("organization", "c-chloe"): "created", ("folder", "u-alice"): "created",
                       ("folder", "u-bob"): "skipped", ("folder", "u-chloe"): "created"}
    assert failure_lines(results) == ["user 'bob': HTTP 412 User with email 'bob' or username 'bob' already exists"]
    skipped = {r["name"]: r["msg"] for r in results if r["action"] == "skipped"}
    assert skipped["c-bob"] == "organization 'c-bob': skipped, it needs user 'bob', which failed"
    assert skipped["u-bob"] == "folder 'u-bob' in organization 'c-bob': skipped, it needs user 'bob', which failed"
    assert set(grafana.orgs) == {"c-alice", "c-chloe"}


def test_objects_run_at_most_concurrency_at_a_time(grafana: FakeGrafana) -> None:
    grafana.delay = 0.02
    logins = [f"s{i:02d}" for i in range(12)]
    results = run({"users": [{"login": login, "password": "pw"} for login in logins]}, concurrency=3)[0]
    assert {r["action"] for r in results} == {"created"}
    assert grafana.peak == 3


def test_removals_go_folders_then_organizations_then_users(grafana: FakeGrafana) -> None:
    run(students("bob"))
    grafana.writes.clear()
    removals = {"remove_folders": [{"org_name": "c-bob", "uid": "u-bob"}], "remove_organizations": ["c-bob"],
                "remove_users": ["BOB", "gone"]}
    results = run(removals)[0]
    assert [(r["name"], r["action"]) for r in results] == [("u-bob", "deleted"), ("c-bob", "deleted"),
                                                           ("BOB", "deleted"), ("gone", "unchanged")]
    assert [method + " " + path.split("/")[2] for method, path in grafana.writes] == [
        "DELETE folders", "DELETE orgs", "DELETE admin"]


def test_a_password_with_password_update_always_is_set_again_on_every_run_the_others_only_on_create(
        grafana: FakeGrafana) -> None:
    run(students("alice", "bob"))
    grafana.writes.clear()
    users = [{"login": "alice", "password": "new-alice", "password_update": "always"},
             {"login": "bob", "password": "new-bob"}]
    for _run in range(2):  # a second reset sets it again: that is what it is for
        results = run({"users": users})[0]
        assert [(r["name"], r["action"]) for r in results] == [("alice", "updated"), ("bob", "unchanged")]
        assert results[0]["diff"]["after"]["password"] == "********"
    alice = grafana.users["alice"]["id"]
    assert grafana.writes == [("PUT", f"/api/admin/users/{alice}/password")] * 2
    assert grafana.users["alice"]["password"] == "new-alice" and "password" not in grafana.users["bob"]
    checked = run({"users": users}, check_mode=True)[0]
    assert checked[0]["action"] == "updated" and len(grafana.writes) == 2


def test_dashboards_to_remove_go_first_of_the_removals() -> None:
    jobs = build_jobs(params(remove_dashboards=[{"org_name": "c", "uid": "d1"}, {"org_name": "c", "uid": "d2"}],
                             remove_folders=[{"org_name": "c", "uid": "sub"}]))
    assert [(job.key, job.params["state"]) for job in jobs] == [
        (("dashboard", "c", "d1"), "absent"), (("dashboard", "c", "d2"), "absent"), (("folder", "c", "sub"), "absent")]
    assert jobs[1].after == [jobs[0].key] and jobs[2].after == [jobs[1].key]
