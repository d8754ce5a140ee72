"""cohort_student: what a reset or a remove of one student does (plugins/filter/cohort_student.py), and the cohort's
credentials handout."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from ansible.errors import AnsibleUndefinedVariable
from ansible_collections.data2ai.grafana_stack.plugins.filter.cohort import copy_uid
from ansible_collections.data2ai.grafana_stack.plugins.filter.cohort_student import (
    UNKNOWN_PASSWORD,
    cohort_handout,
    cohort_handout_urls,
    cohort_known_passwords,
    cohort_recorded_logins,
    cohort_student_plan,
    cohort_student_state,
    cohort_student_wipe,
)

STUDENTS = [
    {"name": "Alice Martin", "login": "alice", "email": "alice@example.org", "role": "Editor", "team": "team-a"},
    {"name": "Bob Durand", "login": "bob", "email": "bob@example.org", "team": "team-a", "password": "Vault-pw-1"},
]


def plan(student: object, action: object, layout: str = "single_org", **kwargs: object) -> dict:
    return cohort_student_plan(STUDENTS, student, action, "c42", layout, "c42", **kwargs)


@pytest.mark.parametrize(("student", "action", "line"), [
    ("", "reset", "student: give the login of one student, as in -e student=<login> -e action=reset "
                  "(or action=remove)"),
    (None, "reset", "student: give the login of one student, as in -e student=<login> -e action=reset "
                    "(or action=remove)"),
    ("bob", "", "no action for student bob: give action=reset or action=remove, as in -e student=<login> "
                "-e action=reset (or action=remove)"),
    ("bob", "delete", "action=delete for student bob: give action=reset or action=remove, as in "
                      "-e student=<login> -e action=reset (or action=remove)"),
    ("zoe", "reset", "student zoe is not in cohort_students of cohort c42: a reset needs their entry "
                     "(name, email, role, team); nothing was changed"),
    ("zoe", "remove", "student zoe is neither in cohort_students of cohort c42 nor recorded as provisioned "
                      "under cohort_credentials_dir: nobody to remove; nothing was removed"),
])
def test_a_missing_or_unknown_student_or_action_is_one_line(student: object, action: object, line: str) -> None:
    result = plan(student, action)
    assert result["problem"] == line
    assert "\n" not in result["problem"]
    assert result["roster"] == [] and result["removed"] == [] and not result["confirmed"]


def test_a_reset_takes_the_inventory_spelling_and_the_students_roster_entry() -> None:
    result = plan("ALICE", "reset")
    assert result["problem"] == "" and result["login"] == "alice"
    (entry,) = result["roster"]
    assert entry["folder_uid"] == "cohort-c42-u-alice" and entry["team_folder_uid"] == "cohort-c42-t-team-a"
    assert entry["org_name"] == "c42" and entry["member"] == {"login": "alice", "role": "Editor"}
    assert "Resetting student alice:" in result["message"]
    assert "Vault-pw-1" not in repr(plan("bob", "reset"))  # the plan is printed with -v: no password in it


def test_a_remove_is_refused_in_one_line_unless_the_confirmation_names_exactly_that_student() -> None:
    for confirm in (None, "", "alice", "bob,alice"):
        result = plan("bob", "remove", confirm=confirm)
        assert not result["confirmed"]
        given = confirm or "nothing"
        assert result["refusal"] == (
            "action=remove would remove the user and folder of student bob; student_remove_confirm must name "
            f"exactly this login and names {given}. Confirm with -e student_remove_confirm=bob. Nothing was removed.")
    refused = plan("bob", "remove", layout="org_per_student")
    assert "the user, folder and organization of student bob" in refused["refusal"]


def test_a_confirmed_remove_names_the_folder_and_organization_and_says_when_the_student_is_still_listed() -> None:
    listed = plan("bob", "remove", confirm="BOB")
    assert listed["confirmed"] and listed["refusal"] == ""
    assert listed["removed"] == [{"login": "bob", "folder_uid": "cohort-c42-u-bob", "org_name": "c42-bob"}]
    assert "bob is still in cohort_students" in listed["message"]
    gone = plan("Zoe", "remove", recorded=["alice", "zoe"], confirm="zoe")
    assert gone["confirmed"] and gone["login"] == "zoe" and "still" not in gone["message"]
    assert gone["removed"][0]["folder_uid"] == "cohort-c42-u-zoe"


def test_the_recorded_logins_are_the_password_files_and_the_record(tmp_path: Path) -> None:
    assert cohort_recorded_logins(str(tmp_path / "none")) == []
    (tmp_path / "alice.txt").write_text("pw")
    (tmp_path / "handout.md").write_text("x")
    (tmp_path / ".passwords-from-inventory.txt").write_text("# header\nbob\n")
    assert cohort_recorded_logins(str(tmp_path)) == ["alice", "bob"]


def test_a_wipe_removes_the_dashboards_and_subfolders_of_the_students_folder_but_the_starter_copies() -> None:
    starter = copy_uid("c42", "alice", "starter.json")
    hits = [
        {"uid": starter, "type": "dash-db", "folderUid": "f-alice"},
        {"uid": "mine", "type": "dash-db", "folderUid": "f-alice"},
        {"uid": "sub", "type": "dash-folder", "folderUid": "f-alice"},
        {"uid": "in-sub", "type": "dash-db", "folderUid": "sub"},
        {"uid": "bobs", "type": "dash-db", "folderUid": "f-bob"},
        {"uid": "f-alice", "type": "dash-folder", "folderUid": "team"},
    ]
    assert cohort_student_wipe(hits, "f-alice", "c42", keep=[starter]) == {
        "remove_dashboards": [{"org_name": "c42", "uid": "mine"}],
        "remove_folders": [{"org_name": "c42", "uid": "sub"}]}


def test_the_reset_state_sends_the_password_every_time_and_overwrites_the_starter_copies() -> None:
    reset = plan("alice", "reset")
    copies = [{"login": "alice", "org_name": "c42", "src": "s.json", "folder_uid": "cohort-c42-u-alice", "uid": "d1"}]
    wipe = {"remove_dashboards": [{"org_name": "c42", "uid": "mine"}], "remove_folders": []}
    state = cohort_student_state(reset, "new-pw", "single_org", "c42", copies=copies, models={"s.json": {}},
                                 wipe=wipe)
    assert state["users"] == [{"login": "alice", "name": "Alice Martin", "email": "alice@example.org",
                               "password": "new-pw", "password_update": "always"}]
    assert [d["overwrite"] for d in state["dashboards"]] == [True]
    assert [f["uid"] for f in state["folders"]] == ["cohort-c42-t-team-a", "cohort-c42-u-alice"]
    assert state["teams"][0]["members"] == ["alice"] and not state["teams"][0]["enforce_members"]
    assert state["remove_dashboards"] == wipe["remove_dashboards"]
    assert state["remove_folders"] == state["remove_users"] == state["remove_organizations"] == []


def test_the_remove_state_removes_only_a_confirmed_student() -> None:
    confirmed = cohort_student_state(plan("bob", "remove", layout="org_per_student", confirm="bob"), "",
                                     "org_per_student", "c42")
    assert (confirmed["remove_users"], confirmed["remove_organizations"]) == (["bob"], ["c42-bob"])
    assert confirmed["users"] == confirmed["folders"] == confirmed["dashboards"] == []
    single = cohort_student_state(plan("bob", "remove", confirm="bob"), "", "single_org", "c42")
    assert single["remove_folders"] == [{"org_name": "c42", "uid": "cohort-c42-u-bob"}]
    refused = cohort_student_state(plan("bob", "remove"), "", "single_org", "c42")
    assert refused["remove_users"] == refused["remove_folders"] == []


def test_known_passwords_come_from_the_inventory_else_the_controller_files(tmp_path: Path) -> None:
    (tmp_path / "alice.txt").write_text("Generated-1\n")
    assert cohort_known_passwords(STUDENTS, str(tmp_path)) == {"alice": "Generated-1", "bob": "Vault-pw-1"}
    assert cohort_known_passwords(STUDENTS[:1], str(tmp_path / "none")) == {"alice": ""}


def test_the_urls_of_the_hosts_come_from_their_variables_or_the_grafana_roles_formula() -> None:
    hostvars = {"a": {"cohort_handout_url": "https://grafana.lab/"}, "b": {"grafana_root_url": "http://b:3000/"},
                "c": {"ansible_host": "10.0.0.3", "grafana_host_port": 3001, "grafana_tls": "true"}, "d": {}}
    assert cohort_handout_urls(["a", "b", "c", "d", "a"], hostvars) == [
        "https://grafana.lab/", "http://b:3000/", "https://10.0.0.3:3001/", "http://d:3000/"]


class Untemplatable(dict):
    """A host's variables where grafana_root_url names a variable hostvars do not hold (a role default)."""

    def get(self, key: str, default: object = None) -> object:
        if key == "grafana_root_url":
            raise AnsibleUndefinedVariable("'grafana_host_port' is undefined")
        return super().get(key, default)


def test_a_host_variable_that_cannot_be_templated_falls_back_and_never_stops_the_run() -> None:
    assert cohort_handout_urls(["e"], {"e": Untemplatable(ansible_host="10.0.0.5")}) == ["http://10.0.0.5:3000/"]


ROSTER = [{"login": "alice", "name": "Alice Martin", "org_name": "c42"},
          {"login": "bob", "name": "Bob | Durand", "org_name": "c42"},
          {"login": "zoe", "name": "", "org_name": "c42"}]


def test_the_handout_lists_each_students_login_password_and_the_urls_as_markdown_and_csv() -> None:
    passwords = {"alice": "Generated-1", "bob": "Pipe|and`tick", "zoe": ""}
    urls = ["http://a:3000/", "http://b:3000/"]
    markdown = cohort_handout(ROSTER, passwords, urls, "markdown", cohort="c42")
    assert markdown.startswith("# Grafana accounts of cohort c42\n")
    assert "Grafana: http://a:3000/, http://b:3000/" in markdown
    assert "| Alice Martin | alice | `Generated-1` | c42 |" in markdown
    assert "| Bob \\| Durand | bob | `` Pipe\\|and`tick `` | c42 |" in markdown
    assert f"| zoe | zoe | `{UNKNOWN_PASSWORD}` | c42 |" in markdown
    rows = list(csv.DictReader(io.StringIO(cohort_handout(ROSTER, passwords, urls, "csv"))))
    assert rows[1] == {"name": "Bob | Durand", "login": "bob", "password": "Pipe|and`tick", "organization": "c42",
                       "grafana_url": "http://a:3000/ http://b:3000/"}
    assert cohort_handout(ROSTER, passwords, urls, "csv") == cohort_handout(ROSTER, passwords, urls, "csv")
    with pytest.raises(ValueError, match="format 'pdf': use markdown or csv"):
        cohort_handout(ROSTER, passwords, urls, "pdf")
