"""cohort_prune: which students left the inventory (logins compared as Grafana compares them) and whether a prune of
them is confirmed."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.data2ai.grafana_stack.plugins.filter.cohort_prune import (
    cohort_prune_plan,
    cohort_removed_logins,
)


def test_a_login_whose_case_changed_has_not_left() -> None:
    assert cohort_removed_logins(["Alice", "bob", "Chloe"], ["alice", "CHLOE"]) == ["bob"]
    assert cohort_removed_logins(["alice"], ["Alice"]) == []


def test_every_recorded_login_that_no_listed_login_names_is_removed_sorted() -> None:
    assert cohort_removed_logins(["zoe", "Bob", "bob", "alice"], ["alice"]) == ["Bob", "bob", "zoe"]
    assert cohort_removed_logins([], ["alice"]) == []


def test_without_cohort_prune_the_students_are_listed_with_the_confirmation_to_give() -> None:
    plan = cohort_prune_plan(["bob", "carol"], False, [], "single_org")
    assert plan["logins"] == ["bob", "carol"] and not plan["confirmed"] and plan["refusal"] == ""
    assert "no longer in cohort_students: bob, carol" in plan["message"]
    assert "their users and folders" in plan["message"]
    assert "-e cohort_prune_confirm=bob,carol" in plan["message"]


def test_a_prune_without_confirmation_is_refused_in_one_line_naming_the_logins() -> None:
    plan = cohort_prune_plan(["bob"], True, [], "single_org")
    assert not plan["confirmed"]
    assert "\n" not in plan["refusal"]
    assert plan["refusal"] == (
        "cohort_prune=true would remove the users and folders of the students no longer in cohort_students: bob; "
        "cohort_prune_confirm must name exactly these logins and names nothing. Confirm with "
        "-e cohort_prune_confirm=bob. Nothing was removed.")


@pytest.mark.parametrize("confirm", [["bob"], ["bob", "carol", "dave"], "bob,dave", ["carol", "dave"], "alice"])
def test_a_confirmation_that_names_other_logins_is_refused(confirm: object) -> None:
    plan = cohort_prune_plan(["bob", "carol"], True, confirm, "single_org")
    assert not plan["confirmed"] and "-e cohort_prune_confirm=bob,carol" in plan["refusal"]


@pytest.mark.parametrize("confirm", [["bob", "carol"], ["Carol", "BOB", "bob"], "carol, bob", "bob,carol"])
def test_a_confirmation_that_names_exactly_the_logins_confirms_the_prune(confirm: object) -> None:
    plan = cohort_prune_plan(["bob", "carol"], True, confirm, "single_org")
    assert plan["confirmed"] and plan["refusal"] == ""
    assert plan["message"] == ("Removing from Grafana the users and folders of the students no longer in "
                               "cohort_students: bob, carol.")


def test_with_org_per_student_the_messages_say_that_organizations_go_too() -> None:
    for plan in (cohort_prune_plan(["bob"], False, [], "org_per_student"),
                 cohort_prune_plan(["bob"], True, "", "org_per_student"),
                 cohort_prune_plan(["bob"], "true", "bob", "org_per_student")):
        text = plan["refusal"] or plan["message"]
        assert "users, folders and organizations" in text, text


def test_cohort_prune_given_as_a_string_on_the_command_line_is_a_boolean() -> None:
    assert not cohort_prune_plan(["bob"], "false", "bob", "single_org")["confirmed"]
    assert cohort_prune_plan(["bob"], "true", "bob", "single_org")["confirmed"]


def test_a_confirmation_that_is_not_a_list_or_a_string_is_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="cohort_prune_confirm: give a list of logins"):
        cohort_prune_plan(["bob"], True, {"bob": True}, "single_org")
