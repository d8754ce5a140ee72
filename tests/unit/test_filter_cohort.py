"""The cohort role's filters: its checks against Grafana before any change, its record of inventory passwords, and
the starter-dashboard copies still to make."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ansible_collections.data2ai.grafana_stack.plugins.filter.cohort import (
    RECORD_HEADER,
    cohort_empty_files,
    cohort_grafana_problems,
    cohort_grafana_state,
    cohort_missing_copies,
    cohort_problems,
    cohort_record,
    cohort_record_logins,
    cohort_roster,
    copy_uid,
)

URL = "http://127.0.0.1:3000"
ZOE = {"name": "Zoe Blanc", "login": "zoe", "email": "Zoe@Example.org"}
USERS = [{"login": "admin", "email": "admin@localhost"}, {"login": "zoe-old", "email": "zoe@example.org"}]


def test_each_student_problem_is_one_line_naming_the_student_and_the_first_holder_of_a_login_or_email() -> None:
    students = [{"name": "Alice", "login": "alice", "email": "A@x.org"},
                {"name": "Bob", "login": "ALICE", "email": "a@X.org", "role": "Boss"},
                "carol",
                {"login": "d e"},
                {"name": "Eve"},
                {"login": "frank", "role": "Editor"}]
    assert cohort_problems(students, "c42") == [
        "student #2 (Bob, login 'ALICE'): the login is already used by student #1 (Alice, login 'alice')",
        "student #2 (Bob, login 'ALICE') has role 'Boss': use Admin, Editor or Viewer",
        "student #2 (Bob, login 'ALICE'): the email is already used by student #1 (Alice, login 'alice')",
        "student #3 is not a mapping of name, login, email, role and team",
        "student #4 (login 'd e'): the login may hold only letters, digits, '.', '_', '@' and '-'",
        "student #5 (Eve) has no login"]
    assert cohort_problems(students[5:], "c42") == []
    assert cohort_problems([{"login": "g"}], "c42", "Owner") == [
        "student #1 (login 'g') has role 'Owner': use Admin, Editor or Viewer"]


def test_the_cohort_name_the_student_list_and_the_prune_confirmation_must_have_their_shape() -> None:
    assert cohort_problems({"login": "a"}, "bad name!", "Viewer", {"bob": True}) == [
        "cohort_prune_confirm: give the logins to prune, a list or one string of logins separated by commas",
        "cohort_name 'bad name!': use letters, digits, '-' and '_'",
        "cohort_students: give a list of students (name, login, email, role, team)"]
    assert cohort_problems("alice", 42, "Viewer", 7)[1:] == [
        "cohort_name '42': use letters, digits, '-' and '_'",
        "cohort_students: give a list of students (name, login, email, role, team)"]
    assert cohort_problems([], "c-1_", "Viewer", "bob,carol") == cohort_problems([], "c", "Viewer", None) == []


def test_a_refused_admin_login_is_one_line_naming_the_variables_to_set() -> None:
    result = {"status": 401, "json": {"message": "Invalid username or password"}, "msg": "Status code was 401"}
    (line,) = cohort_grafana_problems(result, [ZOE], URL, "admin")
    assert line.startswith(f"Grafana at {URL} refused the admin login 'admin' (HTTP 401 Invalid username or password)")
    assert "cohort_grafana_user and cohort_grafana_password" in line
    assert "grafana_admin_user and grafana_admin_password" in line
    (line,) = cohort_grafana_problems({"status": 403, "json": {"message": "Permission denied"}}, [], URL, "bob")
    assert "'bob' is not a Grafana server admin (HTTP 403 Permission denied)" in line


def test_no_password_and_an_unreachable_grafana_name_the_variable_to_set() -> None:
    (line,) = cohort_grafana_problems({"skipped": True, "changed": False}, [ZOE], URL, "admin")
    assert "set cohort_grafana_password, or the grafana role's grafana_admin_password" in line
    refused = {"status": -1, "msg": "Status code was -1 and not [200]: Request failed: <urlopen error refused>"}
    assert cohort_grafana_problems(refused, [ZOE], URL, "admin") == [
        f"Grafana is not reachable at {URL} (Request failed: <urlopen error refused>): check cohort_grafana_url "
        "(by default the grafana role's grafana_api_url) and that Grafana runs"]


def test_an_email_held_by_another_login_names_that_user_case_insensitively() -> None:
    students = [{"name": "Alice", "login": "alice", "email": "alice@example.org"}, ZOE]
    problems = cohort_grafana_problems({"status": 200, "json": USERS}, students, URL, "admin")
    assert problems[0] == ("student #2 (Zoe Blanc, login 'zoe'): the email Zoe@Example.org belongs to the existing "
                           "Grafana user 'zoe-old'")
    assert len(problems) == 2 and "no student was created" in problems[1]


def test_the_student_own_user_and_free_emails_are_no_clash() -> None:
    users = [*USERS, {"login": "zoe", "email": "zoe@example.org"}]
    assert cohort_grafana_problems({"status": 200, "json": users[2:]}, [ZOE], URL, "admin") == []
    assert cohort_grafana_problems({"status": 200, "json": USERS}, [dict(ZOE, email="z@x.org")], URL, "admin") == []


def test_a_login_that_is_another_users_email_and_a_missing_email_clash_too() -> None:
    # Grafana gives a user without an email their login as email.
    users = [{"login": "old", "email": "zoe"}]
    (line, _hint) = cohort_grafana_problems({"status": 200, "json": users}, [{"login": "zoe"}], URL, "admin")
    assert "belongs to the existing Grafana user 'old'" in line
    users = [{"login": "zoe@example.org", "email": "other@example.org"}]
    (line, _hint) = cohort_grafana_problems({"status": 200, "json": users}, [ZOE], URL, "admin")
    assert line.endswith("the email Zoe@Example.org is the login of the existing Grafana user 'zoe@example.org'")


def test_the_record_adds_and_removes_logins_sorted_once_each() -> None:
    text = cohort_record("", add=["chloe", "alice", "chloe"])
    assert text == f"{RECORD_HEADER}\nalice\nchloe\n"
    assert cohort_record_logins(text) == ["alice", "chloe"]
    assert cohort_record(text, add=["alice"]) == text  # unchanged: the role does not write it
    assert cohort_record_logins(cohort_record(text, remove=["alice"])) == ["chloe"]
    assert cohort_record_logins("# comment\n\n bob \n") == ["bob"]


def test_empty_files_are_the_markers_of_an_earlier_version(tmp_path: Path) -> None:
    (tmp_path / "chloe.txt").write_text("")
    (tmp_path / "alice.txt").write_text("Generated-pw\n")
    paths = [str(tmp_path / name) for name in ("alice.txt", "chloe.txt", "gone.txt")]
    assert cohort_empty_files(paths) == [str(tmp_path / "chloe.txt")]


ROSTER = [{"login": "alice", "org_name": "c42-alice", "folder_uid": "cohort-c42-u-alice"},
          {"login": "bob", "org_name": "c42-bob", "folder_uid": "cohort-c42-u-bob"}]


def test_copies_found_in_their_own_organization_are_not_made_again() -> None:
    uid = "cohort-d-" + hashlib.sha1(b"c42/alice/starter.json").hexdigest()[:31]  # as the role always derived it
    everything = cohort_missing_copies(ROSTER, ["dashboards/starter.json"], "c42")
    assert len(everything) == 2 and everything[0]["uid"] == uid
    org_ids = {"c42-alice": 2, "c42-bob": 3}
    # Alice's copy exists in her org; the same uid in Bob's org does not count for her.
    hits = [{"orgId": 2, "uid": uid}, {"orgId": 3, "uid": uid}]
    missing = cohort_missing_copies(ROSTER, ["dashboards/starter.json"], "c42", hits=hits, org_ids=org_ids)
    assert [c["login"] for c in missing] == ["bob"]
    assert missing[0] == {"login": "bob", "org_name": "c42-bob", "src": "dashboards/starter.json",
                          "folder_uid": "cohort-c42-u-bob", "uid": everything[1]["uid"]}


# --------------------------------------------------------------------------
# The roster and the one grafana_cohort task's options
# --------------------------------------------------------------------------

STUDENTS = [
    {"name": "Alice Martin", "login": "alice", "email": "alice@example.org", "role": "Editor", "team": "team-a"},
    {"name": "", "login": "bob", "team": "team-a"},
    {"name": "Chloe", "login": "chloe.p@lab", "role": "Admin", "team": "équipe b", "password": "Given-42"},
]


def test_roster_derives_folder_uids_roles_and_organizations_as_the_role_did() -> None:
    single = cohort_roster(STUDENTS, "c42", "single_org", "c42", default_role="Viewer", student_org_role="Admin")
    alice, bob, chloe = single["roster"]
    assert alice == {"login": "alice", "name": "Alice Martin", "email": "alice@example.org", "role": "Editor",
                     "team": "team-a", "team_folder_uid": "cohort-c42-t-team-a", "folder_uid": "cohort-c42-u-alice",
                     "org_name": "c42", "member": {"login": "alice", "role": "Editor"}, "password_given": False}
    member = {"login": "bob", "role": "Viewer"}
    assert (bob["name"], bob["role"], bob["email"], bob["member"]) == ("bob", "Viewer", "", member)
    # Characters a uid may not hold: a hash of the cohort and the login (or team), as Jinja's hash('sha1') gave.
    digest = hashlib.sha1(b"c42/chloe.p@lab").hexdigest()[:31]
    assert chloe["folder_uid"] == f"cohort-u-{digest}"
    assert chloe["team_folder_uid"] == "cohort-t-" + hashlib.sha1("c42/équipe b".encode()).hexdigest()[:31]
    assert chloe["password_given"] and single["removed"] == []

    own = cohort_roster(STUDENTS[:2], "c42", "org_per_student", "c42", student_org_role="Admin",
                        recorded=["Alice", "carol"])["roster"]
    assert [(s["org_name"], s["member"]["role"], s["team"], s["team_folder_uid"]) for s in own] == [
        ("c42-alice", "Admin", "", ""), ("c42-bob", "Admin", "", "")]
    own = cohort_roster(STUDENTS[:2], "c42", "org_per_student", "c42", student_org_role="")["roster"]
    assert [s["member"]["role"] for s in own] == ["Editor", "Viewer"]


def test_roster_lists_the_recorded_students_who_left_compared_without_case() -> None:
    result = cohort_roster(STUDENTS[:2], "c42", "single_org", "c42", recorded=["Alice", "carol", "bob"])
    # "Alice" is alice: she has not left; carol has, with the uid of her folder and her own organization's name.
    assert result["removed"] == [{"login": "carol", "folder_uid": "cohort-c42-u-carol", "org_name": "c42-carol"}]


def test_grafana_state_is_the_cohorts_objects_in_one_set() -> None:
    roster = cohort_roster(STUDENTS, "c42", "single_org", "c42")["roster"]
    copies = cohort_missing_copies(roster[:1], ["/x/starter.json"], "c42")
    datasource = {"name": "Influx", "uid": "influx", "type": "influxdb", "secure_json_data": {"token": "t"},
                  "editable": True}
    state = cohort_grafana_state(roster, {"alice": "pw-a", "bob": "", "chloe.p@lab": "Given-42"}, "single_org",
                                 "c42", folder_permission="View", enforce_members=True, datasources=[datasource],
                                 secrets_update="always", copies=copies,
                                 models={"/x/starter.json": {"title": "S"}, "/x/other.json": {}}, overwrite=False)
    assert state["users"][:2] == [
        {"login": "alice", "name": "Alice Martin", "email": "alice@example.org", "password": "pw-a"},
        {"login": "bob", "name": "bob", "email": None, "password": None}]
    assert state["organizations"] == [{"name": "c42", "users": [s["member"] for s in roster]}]
    assert state["teams"] == [
        {"org_name": "c42", "name": "team-a", "members": ["alice", "bob"], "enforce_members": True},
        {"org_name": "c42", "name": "équipe b", "members": ["chloe.p@lab"], "enforce_members": True}]
    assert state["datasources"] == [{"org_name": "c42", "access": "proxy", "name": "Influx", "uid": "influx",
                                     "type": "influxdb", "secure_json_data": {"token": "t"},
                                     "secure_json_data_update": "always"}]
    team_a, _team_b, alice = state["folders"][:3]
    assert team_a["permissions"] == [{"team": "team-a", "permission": "View"}, {"role": "Editor", "permission": "Edit"}]
    assert alice == {"org_name": "c42", "uid": "cohort-c42-u-alice", "title": "Alice Martin (alice)",
                     "parent_uid": "cohort-c42-t-team-a", "label": "alice: cohort-c42-u-alice (View)",
                     "permissions": [{"user": "alice", "permission": "View"}, {"role": "Editor", "permission": "Edit"}]}
    (dashboard,) = state["dashboards"]
    assert dashboard == {"org_name": "c42", "uid": copy_uid("c42", "alice", "/x/starter.json"),
                         "folder_uid": "cohort-c42-u-alice", "model": "/x/starter.json", "overwrite": False,
                         "commit_message": "Starter dashboard copied for alice",
                         "label": f"alice: starter.json ({dashboard['uid']})"}
    assert state["dashboard_models"] == {"/x/starter.json": {"title": "S"}}  # only the models a copy needs
    assert (state["remove_folders"], state["remove_organizations"], state["remove_users"]) == ([], [], [])


def test_grafana_state_removes_the_students_who_left_only_with_a_confirmed_prune() -> None:
    for layout, folders, orgs in (("single_org", [{"org_name": "c42", "uid": "cohort-c42-u-carol"}], []),
                                  ("org_per_student", [], ["c42-carol"])):
        result = cohort_roster(STUDENTS[:1], "c42", layout, "c42", student_org_role="Admin", recorded=["carol"])
        kept = cohort_grafana_state(result["roster"], {}, layout, "c42", removed=result["removed"])
        assert (kept["remove_folders"], kept["remove_organizations"], kept["remove_users"]) == ([], [], [])
        pruned = cohort_grafana_state(result["roster"], {}, layout, "c42", removed=result["removed"], prune=True)
        assert (pruned["remove_folders"], pruned["remove_organizations"], pruned["remove_users"]) == (
            folders, orgs, ["carol"])
        if layout == "org_per_student":
            assert pruned["organizations"] == [{"name": "c42-alice", "users": [{"login": "alice", "role": "Admin"}]}]
            assert pruned["teams"] == [] and pruned["folders"][0]["parent_uid"] == ""
