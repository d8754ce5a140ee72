"""What the postgresql role changes in the roles of a PostgreSQL volume (the postgresql_roles module decides with the
filter's code, plugins/module_utils/postgresql_roles.py), from the state roles_state.sql reads and the results of the
password checks.

CASES were written against the Jinja program the role's tasks held before the filter replaced it;
tests/unit/test_module_postgresql_roles.py runs them through the module's whole flow.
"""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.data2ai.grafana_stack.plugins.filter.postgresql_roles import postgresql_role_changes

TMP = "data2ai_grafana_stack_migration"
SUPER = {"bootstrap": False, "superuser": True, "login": True, "createdb": True, "createrole": True,
         "replication": True, "bypassrls": True}
PLAIN = {"bootstrap": False, "superuser": False, "login": True, "createdb": False, "createrole": False,
         "replication": False, "bypassrls": False}
IN_PLACE = {"session_user": "postgres", "session_superuser": True, "bootstrap": "postgres",
            "roles": {"postgres": {**SUPER, "bootstrap": True}, "grafana": PLAIN}, "database_owner": "grafana",
            "superuser_objects": 0}


def _state(**changes: Any) -> dict[str, Any]:
    return {**IN_PLACE, **changes}


# state, (admin password works, user password works), the changes
CASES: dict[str, tuple[dict[str, Any], tuple[bool, bool], list[str]]] = {
    "all in place": (IN_PLACE, (True, True), []),
    "a new volume made by the image with the admin as bootstrap": (
        _state(roles={"postgres": {**SUPER, "bootstrap": True}}, database_owner="postgres"), (True, False),
        ["create_user", "database_owner"]),
    "an earlier layout: Grafana's role is the bootstrap superuser": (
        _state(bootstrap="grafana", roles={"grafana": {**SUPER, "bootstrap": True}}, superuser_objects=4),
        (False, True), ["migrate", "admin_password", "create_user", "database_owner", "objects_owner"]),
    "the admin lost its superuser or login": (
        _state(roles={"postgres": {**SUPER, "login": False}, "grafana": PLAIN}), (True, True), ["admin_attributes"]),
    "wrong passwords": (IN_PLACE, (False, False), ["admin_password", "user_password"]),
    "Grafana's role with one extra attribute each": (
        _state(roles={"postgres": SUPER, "grafana": {**PLAIN, "bypassrls": True}}), (True, True), ["user_attributes"]),
    "Grafana's role cannot log in": (
        _state(roles={"postgres": SUPER, "grafana": {**PLAIN, "login": False}}), (True, False),
        ["user_attributes", "user_password"]),
    "Grafana's role is a superuser": (
        _state(roles={"postgres": SUPER, "grafana": {**PLAIN, "superuser": True}}), (True, True),
        ["user_attributes"]),
    "the database has another owner and superuser objects": (
        _state(database_owner="postgres", superuser_objects=2), (True, True), ["database_owner", "objects_owner"]),
    "a transient role left by an interrupted run": (
        _state(roles={**IN_PLACE["roles"], TMP: PLAIN}), (True, True), ["drop_transient_role"]),
}


@pytest.mark.parametrize("case", CASES)
def test_the_filter_gives_what_the_role_gave(case: str) -> None:
    state, (admin_ok, user_ok), changes = CASES[case]
    wrong = [key for key, ok in (("admin_password", admin_ok), ("user_password", user_ok)) if not ok]
    assert postgresql_role_changes(state, "postgres", "grafana", TMP, wrong) == changes


def test_a_new_password_of_a_role_that_is_made_anew_is_set_by_making_it() -> None:
    state = _state(bootstrap="grafana", roles={"grafana": SUPER}, superuser_objects=0)
    assert postgresql_role_changes(state, "postgres", "grafana", TMP, ["user_password"]) == [
        "migrate", "create_user", "database_owner", "objects_owner"]
    assert postgresql_role_changes(_state(roles={}), "postgres", "grafana", TMP, ["user_password"]) == [
        "create_user"]


def test_a_state_with_no_roles_or_counts_is_read_as_empty() -> None:
    state = {"bootstrap": "postgres", "roles": None, "database_owner": None, "superuser_objects": None}
    assert postgresql_role_changes(state, "postgres", "grafana", TMP) == ["create_user", "database_owner"]


def test_the_admin_is_checked_only_when_it_exists_and_then_needs_both_rights() -> None:
    for rights, changes in (({"superuser": True, "login": True}, []), ({"superuser": True}, ["admin_attributes"]),
                            ({"login": True}, ["admin_attributes"]), (None, [])):
        roles = {"grafana": PLAIN} if rights is None else {"postgres": rights, "grafana": PLAIN}
        assert postgresql_role_changes(_state(roles=roles), "postgres", "grafana", TMP) == changes
