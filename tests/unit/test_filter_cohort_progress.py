"""cohort_progress: the students as grafana_progress takes them, and the cohort's report in three formats."""

from __future__ import annotations

import hashlib
import json
from xml.etree import ElementTree

import pytest
from ansible_collections.data2ai.grafana_stack.plugins.filter.cohort_progress import (
    cohort_progress_report,
    cohort_progress_students,
)

EXERCISES = [{"id": "rate", "title": "A panel using rate(", "dashboard": {}},
             {"id": "alert", "title": "An alert | rule", "alert_rule": {}}]


def student(login: str, done: tuple[bool, bool]) -> dict:
    results = [{"id": e["id"], "title": e["title"], "done": d, "detail": "ok" if d else f"{login} has none"}
               for e, d in zip(EXERCISES, done)]
    return {"login": login, "done": sum(done), "total": 2, "error": "", "exercises": results}


PER_HOST = {"lab-a": [student("alice", (True, False)), student("bob", (False, False))]}


def test_folder_uids_are_the_cohort_roles() -> None:
    long_login = "a" * 40
    digest = hashlib.sha1(f"c42/{long_login}".encode()).hexdigest()[:31]
    students = [{"login": "alice"}, {"login": long_login}, {"login": "zoé"}]
    uids = [s["folder_uid"] for s in cohort_progress_students(students, "c42", "single_org", "c42")]
    assert uids[:2] == ["cohort-c42-u-alice", "cohort-u-" + digest]
    assert uids[2].startswith("cohort-u-")  # not a uid character


def test_students_get_the_organization_of_the_layout() -> None:
    students = [{"login": "alice", "name": "Alice"}, {"login": 42}]
    assert cohort_progress_students(students, "c42", "single_org", "c42") == [
        {"login": "alice", "org_name": "c42", "folder_uid": "cohort-c42-u-alice"},
        {"login": "42", "org_name": "c42", "folder_uid": "cohort-c42-u-42"}]
    assert cohort_progress_students(students, "c42", "org_per_student", "school")[0]["org_name"] == "school-alice"


def test_markdown_has_a_row_per_student_a_column_per_exercise_and_the_reasons() -> None:
    text = cohort_progress_report(PER_HOST, "markdown", cohort="c42", exercises=EXERCISES)
    assert text.startswith("# Progress of cohort c42\n")
    assert "| Student | Done | rate | alert |" in text
    assert "| alice | 1/2 | yes | no |" in text
    assert "| bob | 0/2 | no | no |" in text
    assert "- bob, rate: bob has none" in text
    assert "An alert \\| rule" in text  # a pipe in a title does not break the table


def test_a_host_that_could_not_be_checked_is_listed_not_dropped() -> None:
    per_host = {**PER_HOST, "lab-b": "not checked: the host failed or could not be reached"}
    text = cohort_progress_report(per_host, "markdown", exercises=EXERCISES)
    assert "| VM | Student | Done | rate | alert |" in text
    assert "| lab-b | (not checked) | not checked: the host failed" in text
    document = json.loads(cohort_progress_report(per_host, "json", exercises=EXERCISES))
    assert document["hosts"]["lab-b"] == {"error": "not checked: the host failed or could not be reached"}
    suites = ElementTree.fromstring(cohort_progress_report(per_host, "junit", exercises=EXERCISES))
    lab_b = suites.find("testsuite[@name='lab-b']")
    assert lab_b.get("errors") == "1" and lab_b.find("testcase/error") is not None


def test_junit_has_a_case_per_student_and_exercise_and_a_failure_for_each_not_done() -> None:
    suites = ElementTree.fromstring(cohort_progress_report(PER_HOST, "junit", cohort="c42", exercises=EXERCISES))
    suite = suites.find("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("lab-a", "4", "3")
    cases = {(c.get("classname"), c.get("name")): c.find("failure") for c in suite.iter("testcase")}
    assert cases[("lab-a.alice", "rate: A panel using rate(")] is None
    assert cases[("lab-a.alice", "alert: An alert | rule")].get("message") == "alice has none"


def test_json_keeps_every_result() -> None:
    document = json.loads(cohort_progress_report(PER_HOST, "json", cohort="c42", exercises=EXERCISES))
    assert document["cohort"] == "c42"
    assert [e["id"] for e in document["exercises"]] == ["rate", "alert"]
    assert document["hosts"]["lab-a"][0]["exercises"][0]["done"] is True


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="markdown, json or junit"):
        cohort_progress_report(PER_HOST, "html")
