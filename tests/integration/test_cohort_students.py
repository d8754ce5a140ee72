"""One student's lifecycle (playbooks/student.yml: reset, remove) and the cohort's credentials handout, against the
Grafana TEST DOUBLE run as plain processes (no containers), with test_cohort.py's cohort inventory and doubles."""

from __future__ import annotations

import csv
import io
import stat
import subprocess
from typing import Any

import test_cohort
from grafana_harness import GrafanaDouble
from stack_testlib import ROOT
from test_cohort import (
    GIVEN_PASSWORD,
    STARTER,
    STUDENTS,
    Cohort,
    flat,
    org_id,
    recap_changed,
    search,
    signs_in,
    user,
)

# test_cohort.py's fixtures: two Grafana doubles per module, reset (and checked for spec violations) around each test,
# and a cohort inventory in tmp.
doubles = test_cohort.doubles
grafana = test_cohort.grafana
cohort = test_cohort.cohort

STUDENT = ROOT / "playbooks" / "student.yml"


def student(cohort: Cohort, *extra: str) -> subprocess.CompletedProcess:
    return cohort.run("--diff", *extra, playbook=STUDENT)


def folder_boards(double: GrafanaDouble, org: int, login: str) -> dict[str, dict[str, Any]]:
    """The dashboards in a student's folder: uid -> (title, version)."""
    found = {}
    for uid, hit in search(double, org, "dash-db").items():
        if hit.get("folderUid") == f"cohort-c42-u-{login}":
            board = double.get(f"/api/dashboards/uid/{uid}", org_id=org)["dashboard"]
            found[uid] = {"title": board["title"], "version": board["version"]}
    return found


def save_as(double: GrafanaDouble, org: int, login: str, password: str, board: dict[str, Any]) -> None:
    saved = double.call("POST", "/api/dashboards/db", {"dashboard": board, "folderUid": f"cohort-c42-u-{login}",
                                                       "overwrite": False}, org_id=org, auth=(login, password))
    assert saved.status == 200, saved.body


def edit_copy(double: GrafanaDouble, org: int, login: str, password: str, title: str) -> str:
    """The student renames their starter copy, as in Grafana's UI; returns its uid."""
    uids = list(folder_boards(double, org, login))
    assert len(uids) == 1, uids
    uid = uids[0]
    board = double.get(f"/api/dashboards/uid/{uid}", org_id=org)["dashboard"]
    save_as(double, org, login, password, dict(board, title=title))
    return uid


def student_folder_acl(double: GrafanaDouble, org: int, login: str) -> list[tuple[str, str]]:
    acl = double.get(f"/api/folders/cohort-c42-u-{login}/permissions", org_id=org)
    return sorted((entry["userLogin"] or entry.get("role"), entry["permissionName"]) for entry in acl)


def handout(cohort: Cohort, ext: str) -> Any:
    return cohort.credentials / f"c42-handout.{ext}"


def test_a_reset_student_gets_back_the_starter_state_and_the_other_students_are_untouched(
        cohort: Cohort, grafana: GrafanaDouble) -> None:
    cohort.write(STUDENTS, cohort_starter_dashboards=[STARTER])
    cohort.converge()
    org = org_id(grafana, "c42")
    assert org is not None
    old = cohort.passwords()
    starter_title = next(iter(folder_boards(grafana, org, "alice").values()))["title"]
    copy = edit_copy(grafana, org, "alice", old["alice"], "Alice broke it")
    save_as(grafana, org, "alice", old["alice"], {"uid": "alice-own", "title": "Alice's own work"})
    edit_copy(grafana, org, "bob", old["bob"], "Bob's version")
    others = {login: folder_boards(grafana, org, login) for login in ("bob", "chloe")}
    acl = student_folder_acl(grafana, org, "alice")
    assert acl == [("Editor", "Edit"), ("alice", "Edit")]
    assert grafana.call("POST", "/api/folders/cohort-c42-u-alice/permissions", {"items": []}, org_id=org).status == 200

    # Check mode: what would change, and nothing written, in Grafana or on the controller.
    handout_before = handout(cohort, "csv").read_text()
    checked = student(cohort, "--check", "-e", "student=alice", "-e", "action=reset")
    assert checked.returncode == 0, checked.stdout[-6000:] + checked.stderr[-2000:]
    assert "dashboard alice: starter.json" in checked.stdout  # the diff names the copy that would be reset
    assert cohort.passwords() == old and signs_in(grafana, "alice", old["alice"])
    assert folder_boards(grafana, org, "alice")[copy]["title"] == "Alice broke it"
    assert handout(cohort, "csv").read_text() == handout_before

    reset = student(cohort, "-e", "student=alice", "-e", "action=reset")
    assert reset.returncode == 0, reset.stdout[-6000:] + reset.stderr[-2000:]
    assert "Resetting student alice:" in flat(reset.stdout)
    new = cohort.passwords()
    assert new["alice"] != old["alice"] and len(new["alice"]) == 16
    assert signs_in(grafana, "alice", new["alice"]) and not signs_in(grafana, "alice", old["alice"])
    boards = folder_boards(grafana, org, "alice")
    assert boards[copy]["title"] == starter_title
    assert boards["alice-own"]["title"] == "Alice's own work"  # kept: no wipe asked for
    assert student_folder_acl(grafana, org, "alice") == acl
    # The other students: their passwords, their copies as they left them, their own dashboards.
    assert {login: new[login] for login in ("bob",)} == {"bob": old["bob"]}
    assert signs_in(grafana, "bob", old["bob"]) and signs_in(grafana, "chloe", GIVEN_PASSWORD)
    assert {login: folder_boards(grafana, org, login) for login in ("bob", "chloe")} == others
    assert new["alice"] in handout(cohort, "csv").read_text()

    # A second reset: another new password; the starter copies, equal to the starter files, are left alone.
    again = student(cohort, "-e", "student=alice", "-e", "action=reset")
    assert again.returncode == 0, again.stdout[-6000:]
    assert cohort.passwords()["alice"] not in (new["alice"], old["alice"])
    assert folder_boards(grafana, org, "alice") == boards

    # With student_wipe, the rest of her folder goes; the starter copies stay.
    wiped = student(cohort, "-e", "student=alice", "-e", "action=reset", "-e", "student_wipe=true")
    assert wiped.returncode == 0, wiped.stdout[-6000:]
    assert set(folder_boards(grafana, org, "alice")) == {copy}
    assert {login: folder_boards(grafana, org, login) for login in ("bob", "chloe")} == others
    cohort.assert_no_password_printed()


def test_remove_needs_the_confirmation_and_then_removes_exactly_that_student(
        cohort: Cohort, grafana: GrafanaDouble) -> None:
    cohort.write(STUDENTS, cohort_layout="org_per_student", cohort_starter_dashboards=[STARTER])
    cohort.converge()
    logins = ("alice", "bob", "chloe")
    before = {login: (user(grafana, login)["id"], org_id(grafana, f"c42-{login}")) for login in logins}
    files = sorted(p.name for p in cohort.credentials.iterdir())

    refusals = {
        (): "student: give the login of one student, as in -e student=<login> -e action=reset (or action=remove)",
        ("-e", "student=bob"): "no action for student bob: give action=reset or action=remove",
        ("-e", "student=bob", "-e", "action=delete"): "action=delete for student bob: give action=reset or "
                                                      "action=remove",
        ("-e", "student=zoe", "-e", "action=reset"): "student zoe is not in cohort_students of cohort c42",
        ("-e", "student=bob", "-e", "action=remove"):
            "action=remove would remove the user, folder and organization of student bob; student_remove_confirm "
            "must name exactly this login and names nothing. Confirm with -e student_remove_confirm=bob. Nothing "
            "was removed.",
        ("-e", "student=bob", "-e", "action=remove", "-e", "student_remove_confirm=alice"):
            "student_remove_confirm must name exactly this login and names alice.",
    }
    for extra, line in refusals.items():
        refused = student(cohort, *extra)
        assert refused.returncode != 0, extra
        assert line in flat(refused.stdout), (extra, refused.stdout[-3000:])
        assert recap_changed(refused.stdout) == 0, extra
    assert {login: (user(grafana, login)["id"], org_id(grafana, f"c42-{login}")) for login in before} == before
    assert sorted(p.name for p in cohort.credentials.iterdir()) == files

    # Bob (a generated password) is taken out of the inventory first; Chloe (a password from the inventory, in the
    # record) is still listed, and the run says that the next cohort run would provision her again.
    cohort.write([STUDENTS[0], STUDENTS[2]], cohort_layout="org_per_student", cohort_starter_dashboards=[STARTER])
    for login in ("bob", "chloe"):
        removed = student(cohort, "-e", f"student={login}", "-e", "action=remove", "-e",
                          f"student_remove_confirm={login.upper()}")
        assert removed.returncode == 0, removed.stdout[-6000:] + removed.stderr[-2000:]
        assert f"Removing from Grafana the user, folder and organization of student {login}." \
            in flat(removed.stdout)
        assert ("chloe is still in cohort_students" in flat(removed.stdout)) == (login == "chloe")
        assert user(grafana, login) is None and org_id(grafana, f"c42-{login}") is None
        assert login not in cohort.provisioned()
    assert (user(grafana, "alice")["id"], org_id(grafana, "c42-alice")) == before["alice"]
    assert list(search(grafana, before["alice"][1], "dash-folder")) == ["cohort-c42-u-alice"]
    rows = list(csv.DictReader(io.StringIO(handout(cohort, "csv").read_text())))
    assert [row["login"] for row in rows] == ["alice"]
    cohort.assert_no_password_printed()


def test_the_handout_is_private_signs_each_student_in_and_a_rerun_leaves_it_unchanged(
        cohort: Cohort, grafana: GrafanaDouble) -> None:
    cohort.write(STUDENTS, cohort_starter_dashboards=[STARTER])
    checked = cohort.run("--check")
    assert checked.returncode == 0, checked.stdout[-4000:]
    assert not handout(cohort, "md").exists() and not handout(cohort, "csv").exists()

    cohort.converge()
    for ext in ("md", "csv"):
        assert stat.S_IMODE(handout(cohort, ext).stat().st_mode) == 0o600, ext
    rows = list(csv.DictReader(io.StringIO(handout(cohort, "csv").read_text())))
    assert [row["login"] for row in rows] == ["alice", "bob", "chloe"]
    for row in rows:
        assert row["grafana_url"] == "http://lab-a:3000/"
        assert signs_in(grafana, row["login"], row["password"]), row["login"]
        assert f"| {row['login']} | `{row['password']}` |" in handout(cohort, "md").read_text()
    assert rows[2]["password"] == GIVEN_PASSWORD
    written = {ext: handout(cohort, ext).stat().st_mtime_ns for ext in ("md", "csv")}

    rerun = cohort.converge()
    assert recap_changed(rerun.stdout) == 0, rerun.stdout[-4000:]
    assert {ext: handout(cohort, ext).stat().st_mtime_ns for ext in ("md", "csv")} == written
    cohort.assert_no_password_printed()


def test_the_handout_lands_in_the_git_ignored_credentials() -> None:
    for name in ("cohort-example-handout.md", "cohort-example-handout.csv"):
        path = f"inventories/credentials/cohort-example/students/{name}"
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert ignored.returncode == 0, name
