"""The cohort role's filters: its checks against Grafana before any change, its record of inventory passwords, and
the starter-dashboard copies still to make."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ansible_collections.data2ai.grafana_stack.plugins.filter.cohort import (
    RECORD_HEADER,
    cohort_empty_files,
    cohort_grafana_problems,
    cohort_missing_copies,
    cohort_record,
    cohort_record_logins,
)

URL = "http://127.0.0.1:3000"
ZOE = {"name": "Zoe Blanc", "login": "zoe", "email": "Zoe@Example.org"}
USERS = [{"login": "admin", "email": "admin@localhost"}, {"login": "zoe-old", "email": "zoe@example.org"}]


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
