"""The cohort role against the Grafana TEST DOUBLE, run as plain processes (no containers).

Each test writes a cohort inventory directory (hosts.yml + group_vars, the way instructors pass
``-i inventories/<cohort>``) whose hosts run locally and reach a double at ``grafana_api_url``, then runs a
playbook that includes ``data2ai.grafana_stack.cohort``. The doubles check every request and response against
Grafana's OpenAPI spec; any violation they record fails the test.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml
from stack_testlib import ROOT, recap_changed, venv_bin

sys.path.insert(0, str(Path(__file__).resolve().parent / "grafana"))
from grafana_harness import GrafanaDouble, org_id, running_grafana_doubles

STARTER = "dashboards/starter.json"  # the cohort role's own small starter dashboard (fast)
PLAYBOOK = """\
- name: Cohort under test
  hosts: all
  gather_facts: false
  tasks:
    - name: Provision the cohort
      ansible.builtin.include_role:
        name: data2ai.grafana_stack.cohort
"""
STUDENTS: list[dict[str, Any]] = [
    {"name": "Alice Martin", "login": "alice", "email": "alice@example.org", "role": "Editor", "team": "team-a"},
    {"name": "Bob Durand", "login": "bob", "email": "bob@example.org", "role": "Viewer", "team": "team-a"},
    {"name": "Chloe Petit", "login": "chloe", "email": "chloe@example.org", "role": "Admin", "team": "team-b",
     "password": "Given-by-vault-42"},
]
GIVEN_PASSWORD = "Given-by-vault-42"

# --------------------------------------------------------------------------
# Two Grafana TEST DOUBLES (two lab VMs' Grafana), reset before each test
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def doubles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[GrafanaDouble]]:
    workdir = tmp_path_factory.mktemp("cohort-grafana-doubles")
    with running_grafana_doubles(workdir / "a", workdir / "b", options=("--no-persist",)) as started:
        yield started


@pytest.fixture(autouse=True)
def grafana(doubles: list[GrafanaDouble]) -> Iterator[GrafanaDouble]:
    """The first double (lab VM A), both reset; any spec violation recorded during the test fails it."""
    for double in doubles:
        double.reset()
    yield doubles[0]
    for double in doubles:
        double.assert_no_violations()


# --------------------------------------------------------------------------
# The cohort inventory and the runs
# --------------------------------------------------------------------------


class Cohort:
    """A cohort inventory directory in tmp and ansible-playbook runs against it."""

    def __init__(self, path: Path, doubles: list[GrafanaDouble]) -> None:
        self.path = path
        self.doubles = doubles
        self.outputs: list[str] = []
        self.secrets = {GIVEN_PASSWORD}
        (path / "group_vars").mkdir(parents=True)
        (path.parent / "cohort.yml").write_text(PLAYBOOK)

    @property
    def credentials(self) -> Path:
        return self.path.parent / "credentials" / self.path.name / "students"

    def write(self, students: list[dict[str, Any]], hosts: int = 1, admin_password: str | None = "admin",
              **settings: Any) -> None:
        lab = {
            f"lab-{chr(ord('a') + i)}": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                         "grafana_api_url": self.doubles[i].url}
            for i in range(hosts)
        }
        (self.path / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"lab_vms": {"hosts": lab}}}}))
        admin = {"grafana_admin_user": "admin"}
        if admin_password is not None:
            admin["grafana_admin_password"] = admin_password
        group_vars = {**admin, "cohort_name": "c42", "students": students, **settings}
        (self.path / "group_vars" / "all.yml").write_text(yaml.safe_dump(group_vars, sort_keys=False))

    def start(self, *extra: str, callback: str = "default", playbook: Path | None = None) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        env.update({"no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost",
                    "ANSIBLE_STDOUT_CALLBACK": callback, "ANSIBLE_NOCOLOR": "1",
                    "ANSIBLE_LOCAL_TEMP": str(self.path.parent / "ansible-tmp")})
        return subprocess.Popen(
            [venv_bin("ansible-playbook"), "-i", str(self.path), str(playbook or self.path.parent / "cohort.yml"),
             *extra],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def run(self, *extra: str, timeout: float = 300, playbook: Path | None = None) -> subprocess.CompletedProcess:
        process = self.start(*extra, playbook=playbook)
        stdout, stderr = process.communicate(timeout=timeout)
        self.outputs.append(stdout + stderr)
        self.secrets.update(self.passwords().values())  # before a prune removes a file
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def converge(self, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
        result = self.run("-v", "--diff", *extra, timeout=timeout)
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
        return result

    @property
    def record(self) -> Path:
        """The one record of the students whose password comes from the inventory (hidden: no login starts with .)"""
        return self.credentials / ".passwords-from-inventory.txt"

    def recorded(self) -> list[str]:
        lines = self.record.read_text().splitlines() if self.record.exists() else []
        return [line for line in lines if line and not line.startswith("#")]

    def provisioned(self) -> set[str]:
        """The students the controller records as provisioned: a password file or a line of the record."""
        files = {p.stem for p in self.credentials.glob("*.txt") if not p.name.startswith(".")}
        return files | set(self.recorded())

    def passwords(self) -> dict[str, str]:
        found = {p.stem: p.read_text().strip() for p in self.credentials.glob("*.txt") if not p.name.startswith(".")}
        return {login: pw for login, pw in found.items() if pw}

    def assert_no_password_printed(self) -> None:
        assert len(self.secrets) > 1, "no generated password to look for"
        for output in self.outputs:
            for secret in self.secrets:
                assert secret not in output, "a student password was printed"


@pytest.fixture
def cohort(tmp_path: Path, doubles: list[GrafanaDouble]) -> Cohort:
    return Cohort(tmp_path / "cohort-c42", doubles)


# --------------------------------------------------------------------------
# What the double holds
# --------------------------------------------------------------------------


def user(double: GrafanaDouble, login: str) -> dict[str, Any] | None:
    return double.get(f"/api/users/lookup?loginOrEmail={login}")


def members(double: GrafanaDouble, org: int) -> dict[str, str]:
    return {m["login"]: m["role"] for m in double.get(f"/api/orgs/{org}/users")}


def search(double: GrafanaDouble, org: int, kind: str) -> dict[str, dict[str, Any]]:
    return {hit["uid"]: hit for hit in double.get(f"/api/search?type={kind}", org_id=org)}


def snapshot(double: GrafanaDouble) -> dict[str, Any]:
    """Everything the role manages, with the versions Grafana bumps on every write."""
    state: dict[str, Any] = {"users": sorted((u["login"], u["email"], u["name"]) for u in double.get("/api/users"))}
    for org in double.get("/api/orgs"):
        oid = org["id"]
        teams = double.get("/api/teams/search", org_id=oid)["teams"]
        state[org["name"]] = {
            "members": members(double, oid),
            "teams": {t["name"]: sorted(m["login"] for m in double.get(f"/api/teams/{t['id']}/members", org_id=oid))
                      for t in teams},
            "folders": {uid: (double.get(f"/api/folders/{uid}", org_id=oid)["version"], hit.get("folderUid"))
                        for uid, hit in search(double, oid, "dash-folder").items()},
            "dashboards": {uid: double.get(f"/api/dashboards/uid/{uid}", org_id=oid)["dashboard"]["version"]
                           for uid in search(double, oid, "dash-db")},
            "datasources": sorted(d["uid"] for d in double.get("/api/datasources", org_id=oid)),
        }
    return state


def flat(output: str) -> str:
    """The output with its line breaks and indentation as single spaces (the callback folds long messages)."""
    return " ".join(output.split())


def signs_in(double: GrafanaDouble, login: str, password: str) -> bool:
    return double.call("GET", "/api/user", auth=(login, password)).status == 200


def assert_credential_files_are_private(cohort: Cohort, logins: list[str]) -> None:
    assert stat.S_IMODE(cohort.credentials.stat().st_mode) == 0o700
    for login in logins:
        assert stat.S_IMODE((cohort.credentials / f"{login}.txt").stat().st_mode) == 0o600, login
    assert stat.S_IMODE(cohort.record.stat().st_mode) == 0o600


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


def test_single_org_cohort_reruns_unchanged_and_prunes_a_removed_student_only_with_prune_on(
        cohort: Cohort, grafana: GrafanaDouble) -> None:
    # The default starter dashboards: the grafana role's dashboards.
    cohort.write(STUDENTS)
    cohort.converge()

    org = org_id(grafana, "c42")
    assert org is not None
    assert members(grafana, org) == {"admin": "Admin", "alice": "Editor", "bob": "Viewer", "chloe": "Admin"}
    teams = {t["name"]: t["id"] for t in grafana.get("/api/teams/search", org_id=org)["teams"]}
    assert set(teams) == {"team-a", "team-b"}
    team_a = {m["login"] for m in grafana.get(f"/api/teams/{teams['team-a']}/members", org_id=org)}
    assert {"alice", "bob"} <= team_a and "chloe" not in team_a
    folders = search(grafana, org, "dash-folder")
    assert {"cohort-c42-t-team-a", "cohort-c42-t-team-b"} <= set(folders)
    assert grafana.get("/api/folders/cohort-c42-u-alice", org_id=org)["parentUid"] == "cohort-c42-t-team-a"
    assert grafana.get("/api/folders/cohort-c42-u-chloe", org_id=org)["parentUid"] == "cohort-c42-t-team-b"
    starters = sorted((ROOT / "roles" / "grafana" / "files" / "dashboards").glob("*.json")) or [STARTER]
    dashboards = search(grafana, org, "dash-db")
    for login in ("alice", "bob", "chloe"):
        own = [d for d in dashboards.values() if d.get("folderUid") == f"cohort-c42-u-{login}"]
        assert len(own) == len(starters), login

    passwords = cohort.passwords()
    assert set(passwords) == {"alice", "bob"}  # chloe's password comes from the inventory: she is in the record
    assert cohort.recorded() == ["chloe"] and not (cohort.credentials / "chloe.txt").exists()
    assert_credential_files_are_private(cohort, ["alice", "bob"])
    assert signs_in(grafana, "alice", passwords["alice"]) and signs_in(grafana, "chloe", GIVEN_PASSWORD)

    # Alice (Editor) edits her copy; the re-run leaves it, and everything else, alone.
    uid = next(u for u, d in dashboards.items() if d.get("folderUid") == "cohort-c42-u-alice")
    mine = grafana.get(f"/api/dashboards/uid/{uid}", org_id=org)["dashboard"]
    saved = {"dashboard": dict(mine, title="Alice's own"), "folderUid": "cohort-c42-u-alice", "overwrite": False}
    edit = grafana.call("POST", "/api/dashboards/db", saved, org_id=org, auth=("alice", passwords["alice"]))
    assert edit.status == 200, edit

    # Bob is a Viewer: he saves a dashboard in his own folder (Edit on it), not in a teammate's folder (View,
    # through the team's folder) nor in another team's student's folder (which he cannot even read).
    bob = ("bob", passwords["bob"])
    for folder, status in (("cohort-c42-u-bob", 200), ("cohort-c42-u-alice", 403), ("cohort-c42-u-chloe", 403)):
        board = {"dashboard": {"title": f"Bob in {folder}"}, "folderUid": folder}
        reply = grafana.call("POST", "/api/dashboards/db", board, org_id=org, auth=bob)
        assert reply.status == status, (folder, reply)
    assert grafana.call("GET", f"/api/dashboards/uid/{uid}", org_id=org, auth=bob).status == 200
    chloes = next(u for u, d in dashboards.items() if d.get("folderUid") == "cohort-c42-u-chloe")
    assert grafana.call("GET", f"/api/dashboards/uid/{chloes}", org_id=org, auth=bob).status == 403
    acl = grafana.get("/api/folders/cohort-c42-u-bob/permissions", org_id=org)
    assert sorted((e["userLogin"] or e.get("role"), e["permissionName"]) for e in acl) == [
        ("Editor", "Edit"), ("bob", "Edit")]
    before = snapshot(grafana)
    second = cohort.converge()
    assert recap_changed(second.stdout) == 0, second.stdout[-4000:]
    assert snapshot(grafana) == before
    assert grafana.get(f"/api/dashboards/uid/{uid}", org_id=org)["dashboard"]["title"] == "Alice's own"

    # Bob leaves the inventory: without cohort_prune his user and folder stay, and the run says so. Only the
    # credentials handout on the controller changes (its two files, one task): it no longer lists him.
    cohort.write([STUDENTS[0], STUDENTS[2]])
    kept = cohort.converge()
    assert recap_changed(kept.stdout) == 1, kept.stdout[-4000:]
    assert ",bob," not in (cohort.credentials / "c42-handout.csv").read_text()
    assert snapshot(grafana) == before
    assert "no longer in cohort_students: bob" in flat(kept.stdout)
    assert (cohort.credentials / "bob.txt").exists()

    # With cohort_prune, confirmed by naming him, his user and folder go, and the controller forgets him; the others
    # are untouched.
    cohort.write([STUDENTS[0], STUDENTS[2]], cohort_prune=True, cohort_prune_confirm=["bob"])
    pruned = cohort.converge()
    assert "Removing from Grafana the users and folders of the students no longer in cohort_students: bob." \
        in flat(pruned.stdout)
    assert user(grafana, "bob") is None
    assert grafana.get("/api/folders/cohort-c42-u-bob", org_id=org) is None
    assert not (cohort.credentials / "bob.txt").exists()
    for login in ("alice", "chloe"):
        assert user(grafana, login) is not None
        assert grafana.get(f"/api/folders/cohort-c42-u-{login}", org_id=org) is not None
    assert set(members(grafana, org)) == {"admin", "alice", "chloe"}
    assert grafana.get(f"/api/dashboards/uid/{uid}", org_id=org)["dashboard"]["title"] == "Alice's own"
    cohort.assert_no_password_printed()


def test_org_per_student_layout_gives_each_student_an_org_on_every_lab_vm_then_rerun_changes_nothing(
        cohort: Cohort, doubles: list[GrafanaDouble]) -> None:
    datasource = {"name": "Prometheus", "uid": "prometheus", "type": "prometheus",
                  "data_source_url": "http://prometheus:9090"}
    cohort.write(STUDENTS, hosts=2, cohort_layout="org_per_student", cohort_starter_dashboards=[STARTER],
                 cohort_datasources=[datasource])
    cohort.converge()

    passwords = cohort.passwords()
    for double in doubles:  # both lab VMs, the same students and the same passwords
        for student in STUDENTS:
            login = student["login"]
            org = org_id(double, f"c42-{login}")
            assert org is not None, login
            assert members(double, org)[login] == "Admin"
            assert list(search(double, org, "dash-folder")) == [f"cohort-c42-u-{login}"]
            assert len(search(double, org, "dash-db")) == 1
            assert [d["uid"] for d in double.get("/api/datasources", org_id=org)] == ["prometheus"]
        assert signs_in(double, "bob", passwords["bob"]) and signs_in(double, "chloe", GIVEN_PASSWORD)
    assert_credential_files_are_private(cohort, ["alice", "bob"])

    before = [snapshot(double) for double in doubles]
    second = cohort.converge()
    assert recap_changed(second.stdout) == 0, second.stdout[-4000:]
    assert [snapshot(double) for double in doubles] == before

    # With cohort_prune (confirmed), a student who left loses their user and their organization (with their
    # folder), and the run says that organizations go too.
    cohort.write(STUDENTS[:2], hosts=2, cohort_layout="org_per_student", cohort_starter_dashboards=[STARTER],
                 cohort_datasources=[datasource], cohort_prune=True)
    pruned = cohort.converge("-e", "cohort_prune_confirm=chloe")
    assert "the users, folders and organizations of the students no longer in cohort_students: chloe" \
        in flat(pruned.stdout)
    for double in doubles:
        assert user(double, "chloe") is None and org_id(double, "c42-chloe") is None
        assert user(double, "alice") is not None and org_id(double, "c42-alice") is not None
    assert cohort.recorded() == []  # chloe's password came from the inventory: the record forgets her
    cohort.assert_no_password_printed()


def test_a_login_whose_case_changed_in_the_roster_is_the_same_student_and_prunes_nothing(
        cohort: Cohort, grafana: GrafanaDouble) -> None:
    capital = dict(STUDENTS[0], login="Alice")
    cohort.write([capital, STUDENTS[1]], cohort_starter_dashboards=[STARTER])
    cohort.converge()
    org = org_id(grafana, "c42")
    assert org is not None
    alice = user(grafana, "alice")
    assert alice is not None
    folder_uid = next(uid for uid in search(grafana, org, "dash-folder") if uid.lower() == "cohort-c42-u-alice")
    work = [uid for uid, hit in search(grafana, org, "dash-db").items() if hit.get("folderUid") == folder_uid]
    assert work

    # "Alice" becomes "alice" with cohort_prune left on in group_vars: nobody left, nothing is removed.
    cohort.write([STUDENTS[0], STUDENTS[1]], cohort_starter_dashboards=[STARTER], cohort_prune=True)
    result = cohort.converge()
    assert "no longer in cohort_students" not in result.stdout
    assert user(grafana, "alice")["id"] == alice["id"]
    assert grafana.get(f"/api/folders/{folder_uid}", org_id=org) is not None
    for uid in work:
        assert grafana.get(f"/api/dashboards/uid/{uid}", org_id=org) is not None
    assert set(members(grafana, org)) == {"admin", "alice", "bob"}

    # When she leaves, confirming "alice" prunes her under both spellings.
    cohort.write([STUDENTS[1]], cohort_starter_dashboards=[STARTER], cohort_prune=True)
    cohort.converge("-e", "cohort_prune_confirm=alice")
    assert user(grafana, "alice") is None
    assert grafana.get(f"/api/folders/{folder_uid}", org_id=org) is None
    assert grafana.get("/api/folders/cohort-c42-u-alice", org_id=org) is None
    assert sorted(cohort.provisioned()) == ["bob"]


def test_a_prune_lists_the_students_and_removes_them_only_when_the_confirmation_names_exactly_them(
        cohort: Cohort, grafana: GrafanaDouble) -> None:
    cohort.write(STUDENTS, cohort_starter_dashboards=[STARTER])
    cohort.converge()
    org = org_id(grafana, "c42")

    for confirm in ([], ["bob"], ["bob", "chloe", "alice"]):
        cohort.write(STUDENTS[:1], cohort_starter_dashboards=[STARTER], cohort_prune=True,
                     cohort_prune_confirm=confirm)
        refused = cohort.run()
        assert refused.returncode != 0, refused.stdout[-4000:]
        given = ", ".join(sorted(confirm)) or "nothing"
        assert ("cohort_prune=true would remove the users and folders of the students no longer in cohort_students: "
                f"bob, chloe; cohort_prune_confirm must name exactly these logins and names {given}. Confirm with "
                "-e cohort_prune_confirm=bob,chloe. Nothing was removed.") in flat(refused.stdout), \
            refused.stdout[-4000:]
        for login in ("bob", "chloe"):
            assert user(grafana, login) is not None, (confirm, login)
            assert grafana.get(f"/api/folders/cohort-c42-u-{login}", org_id=org) is not None
            assert login in cohort.provisioned()

    cohort.write(STUDENTS[:1], cohort_starter_dashboards=[STARTER], cohort_prune=True)
    cohort.converge("-e", "cohort_prune_confirm=Chloe,bob")
    for login in ("bob", "chloe"):
        assert user(grafana, login) is None, login
        assert grafana.get(f"/api/folders/cohort-c42-u-{login}", org_id=org) is None
        assert login not in cohort.provisioned()
    assert user(grafana, "alice") is not None
    assert grafana.get("/api/folders/cohort-c42-u-alice", org_id=org) is not None
    cohort.assert_no_password_printed()


BAD_COHORTS = {
    "missing login": ([STUDENTS[0], {"name": "Bob Durand", "role": "Viewer"}], "student #2 (Bob Durand) has no login"),
    "duplicate login": ([STUDENTS[0], dict(STUDENTS[1], login="Alice")],
                        "student #2 (Bob Durand, login 'Alice'): the login is already used by "
                        "student #1 (Alice Martin, login 'alice')"),
    "unknown role": ([STUDENTS[0], dict(STUDENTS[1], role="Owner")],
                     "student #2 (Bob Durand, login 'bob') has role 'Owner': use Admin, Editor or Viewer"),
}


def test_bad_student_entries_are_refused_with_one_line_before_any_change(
        tmp_path: Path, doubles: list[GrafanaDouble], grafana: GrafanaDouble) -> None:
    cohorts = {case: Cohort(tmp_path / case.replace(" ", "-") / "cohort-c42", doubles) for case in BAD_COHORTS}
    running = {}
    for case, (students, _message) in BAD_COHORTS.items():
        cohorts[case].write(students)
        running[case] = cohorts[case].start(callback="ansible.posix.json")
    for case, process in running.items():
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode != 0, f"{case}: accepted"
        failed = [result for play in json.loads(stdout)["plays"] for task in play["tasks"]
                  for result in task["hosts"].values() if result.get("failed")]
        assert len(failed) == 1, f"{case}: {stdout[-3000:]}{stderr[-2000:]}"
        message = failed[0]["msg"]
        assert message == BAD_COHORTS[case][1], case
        assert "\n" not in message
        assert not cohorts[case].credentials.exists(), f"{case}: credentials written before the check"
    assert [u["login"] for u in grafana.get("/api/users")] == ["admin"]
    assert org_id(grafana, "c42") is None


def test_credentials_land_beside_the_inventories_git_ignored() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", "inventories/credentials/cohort-example/students/a.txt"],
                             cwd=ROOT, check=False)
    assert ignored.returncode == 0


def test_check_mode_on_an_empty_grafana_double_reports_the_folders_and_their_permissions_and_creates_nothing(
        cohort: Cohort, grafana: GrafanaDouble) -> None:
    # Users, the org and the teams do not exist yet: the folder permissions naming them are warnings, not failures.
    cohort.write(STUDENTS, cohort_starter_dashboards=[STARTER])
    result = cohort.run("--check", "--diff")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "check mode assumes it will be created" in result.stdout + result.stderr
    assert "cohort-c42-u-bob (Edit)" in result.stdout
    assert [u["login"] for u in grafana.get("/api/users")] == ["admin"]
    assert org_id(grafana, "c42") is None


# --------------------------------------------------------------------------
# Mistakes that stop the run before any change, with one line naming the cause (issue 19)
# --------------------------------------------------------------------------

ZOE = {"name": "Zoe Blanc", "login": "zoe", "email": "zoe@example.org", "role": "Viewer", "team": "team-b"}
CLOSED_PORT_URL = "http://127.0.0.1:9"  # the discard port: nothing listens on loopback here

STOPPED_COHORTS: dict[str, tuple[dict[str, Any], list[str]]] = {
    # 1. Every student used to fail with "user 'zoe': HTTP 401 ..." although the admin's password was wrong.
    "wrong admin password": ({"admin_password": "not-the-password"}, [
        "Grafana at {url} refused the admin login 'admin' (HTTP 401 Invalid username or password): set "
        "cohort_grafana_user and cohort_grafana_password to a Grafana server admin's login (by default the grafana "
        "role's grafana_admin_user and grafana_admin_password)"]),
    # 2. Grafana's 412 named 'zoe', who does not exist; the email belongs to zoe-old.
    "email of another user": ({}, [
        "student #4 (Zoe Blanc, login 'zoe'): the email zoe@example.org belongs to the existing Grafana user "
        "'zoe-old'; change the student's email in the inventory, or that user's in Grafana; no student was created"]),
    # 3. The argument-spec task failed with "'grafana_admin_password' is undefined" and "Origin: <unknown>".
    "no admin password": ({"admin_password": None}, [
        "no Grafana admin password: set cohort_grafana_password, or the grafana role's grafana_admin_password "
        "(from vault) that it defaults to"]),
    # 4. Each student's task retried the connection (about 18 s for 4 students).
    "grafana unreachable": ({"cohort_grafana_url": CLOSED_PORT_URL}, [
        f"Grafana is not reachable at {CLOSED_PORT_URL} (Request failed: <urlopen error [Errno 111] Connection "
        "refused>): check cohort_grafana_url (by default the grafana role's grafana_api_url) and that Grafana runs"]),
}


def test_admin_login_reachability_and_taken_emails_are_checked_once_before_any_change(
        tmp_path: Path, doubles: list[GrafanaDouble], grafana: GrafanaDouble) -> None:
    grafana.create_user("zoe-old")  # zoe-old@example.org
    taken = grafana.call("PUT", f"/api/users/{user(grafana, 'zoe-old')['id']}",
                         {"login": "zoe-old", "email": "zoe@example.org", "name": "Zoe (old account)"})
    assert taken.status == 200, taken
    cohorts = {case: Cohort(tmp_path / case.replace(" ", "-") / "cohort-c42", doubles) for case in STOPPED_COHORTS}
    running = {}
    for case, (settings, _lines) in STOPPED_COHORTS.items():
        cohorts[case].write([*STUDENTS, ZOE], **settings)
        running[case] = cohorts[case].start(callback="ansible.posix.json")
    for case, process in running.items():
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode != 0, f"{case}: accepted"
        report = json.loads(stdout)
        failed = [(task["task"]["name"], result) for play in report["plays"] for task in play["tasks"]
                  for result in task["hosts"].values() if result.get("failed")]
        assert len(failed) == 1, f"{case}: {stdout[-3000:]}{stderr[-2000:]}"  # once, not once per student
        url = grafana.url if case != "grafana unreachable" else CLOSED_PORT_URL
        expected = [line.format(url=url) for line in STOPPED_COHORTS[case][1]]
        assert failed[0][1]["msg"] == "; ".join(expected), case
        assert failed[0][0].endswith("Stop unless Grafana takes the admin login and no student's email is another "
                                     "user's")
        assert not cohorts[case].credentials.exists(), f"{case}: credentials written before the check"
        assert "not-the-password" not in stdout + stderr
    assert sorted(u["login"] for u in grafana.get("/api/users")) == ["admin", "zoe-old"]
    assert org_id(grafana, "c42") is None


# --------------------------------------------------------------------------
# A no-op run of 30 students does no work per student for nothing (issue 19)
# --------------------------------------------------------------------------


def thirty_students() -> list[dict[str, Any]]:
    """30 students; every third one with a password from the inventory (vault)."""
    students = []
    for i in range(30):
        student: dict[str, Any] = {"name": f"Student {i:02d}", "login": f"s{i:02d}", "email": f"s{i:02d}@example.org",
                                   "role": "Editor"}
        if i % 3 == 0:
            student["password"] = f"Vault-given-{i:02d}-pw"
        students.append(student)
    return students


def task_results(report: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The results of the role's task ``name`` (the callback prefixes it with the role's name)."""
    return [result for play in report["plays"] for task in play["tasks"]
            if task["task"]["name"].rsplit(" : ", 1)[-1] == name for result in task["hosts"].values()]


def test_noop_run_of_30_students_copies_nothing_per_student_and_reads_the_dashboards_in_the_one_cohort_task(
        cohort: Cohort, grafana: GrafanaDouble) -> None:
    students = thirty_students()
    given = sorted(s["login"] for s in students if "password" in s)
    cohort.secrets.update(s["password"] for s in students if "password" in s)
    # An earlier version of the role kept an empty <login>.txt per student with an inventory password.
    cohort.credentials.mkdir(parents=True)
    for login in given:
        (cohort.credentials / f"{login}.txt").write_text("")
    cohort.write(students, cohort_layout="org_per_student", cohort_starter_dashboards=[STARTER])
    cohort.converge(timeout=1200)  # 120 objects, one module run each: minutes on a busy machine
    assert cohort.recorded() == given  # the markers moved into the one record
    assert not any((cohort.credentials / f"{login}.txt").exists() for login in given)
    assert len(cohort.passwords()) == 20
    before = snapshot(grafana)
    record = cohort.record.stat().st_mtime_ns
    requests_before = len(grafana.served())

    process = cohort.start(callback="ansible.posix.json")
    stdout, stderr = process.communicate(timeout=1200)
    cohort.outputs.append(stdout + stderr)
    served = grafana.served()[requests_before:]
    searched = [r for r in served if r["path"] == "/api/search"]
    assert process.returncode == 0, stdout[-4000:] + stderr[-2000:]
    report = json.loads(stdout)
    assert sum(h["changed"] for h in report["stats"].values()) == 0
    assert snapshot(grafana) == before

    # No per-student copy: the record is one file, written only when it changes; nothing to migrate.
    for name in ("Create the cohort's credentials directory and record the students whose password comes from the "
                 "inventory",
                 "Remove the per-student files that the record replaced"):
        (result,) = task_results(report, name)
        assert result.get("skipped") or result.get("results") == [], (name, result)
    copies = [task["task"]["name"] for play in report["plays"] for task in play["tasks"]
              for result in task["hosts"].values()
              if result.get("action") in ("copy", "ansible.builtin.copy") and result.get("results")]
    assert copies == []
    assert cohort.record.stat().st_mtime_ns == record

    # The starter copies of the 30 organizations are checked by the one cohort task, beside the other objects: one
    # search per organization lists its folder and its copy, so neither is read again by its uid; no task per
    # organization, no task of their own.
    tasks = [task["task"]["name"].rsplit(" : ", 1)[-1] for play in report["plays"] for task in play["tasks"]]
    assert tasks.count("Create, update or remove the cohort's objects in Grafana") == 1
    # The handout's two files already hold the handout: the one task that writes them on the controller, in
    # Ansible's own process (controller_files), finds nothing to change.
    (result,) = task_results(report, "Write the cohort's credentials handout on the controller, as Markdown and as CSV")
    assert result.get("changed") is False and not result.get("skipped"), result
    assert not [name for name in tasks if "dashboards that exist" in name], tasks
    assert len(searched) == 30, searched
    copies_read = [r for r in served if r["method"] == "GET" and "/dashboards/" in r["path"]]
    assert copies_read == []
    assert not [r for r in served if r["method"] == "GET" and re.fullmatch(r"/api/folders/[^/]+", r["path"])]
    # The users are read in one list, not looked up per student; so are the organizations' ids.
    assert not [r for r in served if r["path"] in ("/api/users/lookup", "/api/users/search")]
    assert [r["path"] for r in served].count("/api/orgs") == 1
    cohort.assert_no_password_printed()


# --------------------------------------------------------------------------
# playbooks/progress.yml: the students' exercises (roles/cohort/tasks/progress.yml). One student saves a dashboard
# in their own folder with their own login, as in Grafana's UI; the starter copies the role made in both students'
# folders already hold rate( queries, and must not count for anyone.
# --------------------------------------------------------------------------

PROGRESS = ROOT / "playbooks" / "progress.yml"
PROGRESS_STUDENTS = [
    {"name": "Alice Martin", "login": "alice", "email": "alice@example.org", "role": "Editor", "team": "team-a"},
    {"name": "Bob Durand", "login": "bob", "email": "bob@example.org", "role": "Editor", "team": "team-a"},
]
PROGRESS_EXERCISES: list[dict[str, Any]] = [
    {"id": "rate-panel", "title": "A dashboard in your folder with a panel whose query uses rate(",
     "dashboard": {"panel_query_contains": "rate("}},
    {"id": "instance-variable", "title": "A dashboard variable named instance",
     "dashboard": {"variable_name": "instance"}},
    {"id": "alert-rule", "title": "An alert rule in your folder", "alert_rule": {}},
]


def alices_dashboard() -> dict[str, Any]:
    return {"uid": "alice-own", "title": "Alice's requests", "schemaVersion": 41,
            "templating": {"list": [{"name": "job", "type": "custom", "query": "node"}]},
            "panels": [{"id": 1, "type": "timeseries", "title": "Requests",
                        "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
                        "targets": [{"refId": "A", "expr": "sum(rate(prometheus_http_requests_total[5m]))"}]}]}


def alert_rule(org: int, folder_uid: str) -> dict[str, Any]:
    return {"orgID": org, "title": "Too many requests", "folderUID": folder_uid, "ruleGroup": "mine", "condition": "B",
            "for": "5m", "noDataState": "OK", "execErrState": "Error",
            "data": [{"refId": "A", "datasourceUid": "prom", "relativeTimeRange": {"from": 600, "to": 0},
                      "model": {"expr": "rate(prometheus_http_requests_total[5m])"}},
                     {"refId": "B", "datasourceUid": "__expr__", "model": {"type": "threshold", "expression": "A"}}]}


def progress_reports(cohort: Cohort) -> Path:
    return cohort.path.parent / "reports"


def test_a_student_who_did_an_exercise_is_done_and_one_who_did_not_is_not(
        cohort: Cohort, grafana: GrafanaDouble) -> None:
    cohort.write(PROGRESS_STUDENTS, exercises=PROGRESS_EXERCISES, cohort_progress_dir=str(progress_reports(cohort)))
    cohort.converge()
    org = org_id(grafana, "c42")
    password = cohort.passwords()["alice"]
    saved = grafana.call("POST", "/api/dashboards/db", {"dashboard": alices_dashboard(),
                                                        "folderUid": "cohort-c42-u-alice", "overwrite": False},
                         org_id=org, auth=("alice", password))
    assert saved.status == 200, saved.body
    rule = grafana.call("POST", "/api/v1/provisioning/alert-rules", alert_rule(org, "cohort-c42-u-alice"),
                        org_id=org)
    assert rule.status == 201, rule.body

    result = cohort.run(playbook=PROGRESS)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "alice: 2/3, bob: 0/3" in flat(result.stdout), result.stdout[-3000:]

    document = json.loads((progress_reports(cohort) / "c42-progress.json").read_text())
    by_login = {s["login"]: {r["id"]: r for r in s["exercises"]} for s in document["hosts"]["lab-a"]}
    assert by_login["alice"]["rate-panel"]["done"] is True
    assert "Alice's requests" in by_login["alice"]["rate-panel"]["detail"]
    assert by_login["alice"]["alert-rule"]["done"] is True
    assert by_login["alice"]["instance-variable"]["done"] is False
    assert by_login["alice"]["instance-variable"]["detail"].endswith("no variable named 'instance'")
    # Bob's folder holds the starter copies (rate( queries included), which the role made, not Bob.
    assert {r["done"] for r in by_login["bob"].values()} == {False}
    assert by_login["bob"]["rate-panel"]["detail"] == "no dashboard created or saved by the student here"

    markdown = (progress_reports(cohort) / "c42-progress.md").read_text()
    assert "| alice | 2/3 | yes | no | yes |" in markdown
    assert "| bob | 0/3 | no | no | no |" in markdown
    suites = ElementTree.fromstring((progress_reports(cohort) / "c42-progress.xml").read_text())
    assert (suites.get("tests"), suites.get("failures")) == ("6", "4")
    for name in ("c42-progress.json", "c42-progress.md", "c42-progress.xml"):
        assert stat.S_IMODE((progress_reports(cohort) / name).stat().st_mode) == 0o600, name


def test_an_exercise_list_with_a_typo_is_refused_before_any_report(cohort: Cohort, grafana: GrafanaDouble) -> None:
    typo = [{"id": "rate-panel", "title": "t", "dashboard": {"panel_query_contain": "rate("}}]
    cohort.write(PROGRESS_STUDENTS, exercises=typo, cohort_progress_dir=str(progress_reports(cohort)))
    result = cohort.run(playbook=PROGRESS)
    assert result.returncode != 0
    assert ("exercise 'rate-panel': dashboard has no criterion 'panel_query_contain'" in flat(result.stdout)), \
        result.stdout[-3000:]
    assert not progress_reports(cohort).exists()
