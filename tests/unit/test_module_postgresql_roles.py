"""The postgresql_roles module (plugins/modules/postgresql_roles.py, plugins/module_utils/postgresql_roles.py): the
postgresql role's roles in one task. Its psql script is the one the role's Jinja template rendered, its messages are
the ones the role's tasks gave, check mode runs nothing that changes, and no password leaves the module.

Docker is replaced by a fake runner (``docker exec`` answers by the script it runs); the real server is in
tests/integration/test_postgresql_roles.py.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import jinja2
import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.data2ai.grafana_stack.plugins.filter.postgresql_roles import postgresql_role_changes
from ansible_collections.data2ai.grafana_stack.plugins.module_utils import postgresql_roles as roles
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.health import ServiceResult, WaitReport
from ansible_collections.data2ai.grafana_stack.plugins.modules import postgresql_roles as module
from test_filter_postgresql_roles import CASES, IN_PLACE, PLAIN, SUPER, TMP

REFERENCE = Path(__file__).with_name("postgresql_roles_sql_reference.j2")
ADMIN_PASSWORD = "admin ' '' \\ $1 %% :user {{ x }} -- end"
USER_PASSWORD = "user \\' $$ %s :'pw' \"x\" ; DROP end"
STEPS = ("migrate", "admin_attributes", "admin_password", "create_user", "user_attributes", "user_password",
         "database_owner", "objects_owner", "drop_transient_role")
REFUSED = 'psql: error: connection to server at "postgresql" (10.0.0.2), port 5432 failed: FATAL:  ' \
          'password authentication failed for user "{}"'


def reference_sql(state: dict[str, Any], steps: list[str], user: str = "grafana") -> str:
    """The role's template, rendered as the template lookup renders it (trim_blocks)."""
    environment = jinja2.Environment(trim_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return environment.from_string(REFERENCE.read_text(encoding="utf-8")).render(
        ansible_managed=roles.SQL_HEADER, postgresql_roles_state=state, postgresql_roles_tmp=TMP,
        postgresql_roles_migrate=state["bootstrap"] == user, postgresql_roles_todo=steps,
        postgresql_admin_password=ADMIN_PASSWORD, postgresql_password=USER_PASSWORD)


@pytest.mark.parametrize("case", CASES)
def test_the_script_of_each_case_is_the_one_the_template_rendered(case: str) -> None:
    state, (admin_ok, user_ok), _changes = CASES[case]
    wrong = [key for key, ok in (("admin_password", admin_ok), ("user_password", user_ok)) if not ok]
    steps = roles.role_changes(state, "postgres", "grafana", TMP, wrong)
    assert roles.roles_sql(steps, ADMIN_PASSWORD, USER_PASSWORD) == reference_sql(state, steps)


def test_the_script_of_every_combination_of_steps_is_the_one_the_template_rendered() -> None:
    for flags in itertools.product((False, True), repeat=len(STEPS)):
        steps = [step for step, on in zip(STEPS, flags) if on]
        state = {**IN_PLACE, "bootstrap": "grafana" if "migrate" in steps else "postgres",
                 "roles": {**IN_PLACE["roles"], **({TMP: PLAIN} if "drop_transient_role" in steps else {})}}
        assert roles.roles_sql(steps, ADMIN_PASSWORD, USER_PASSWORD) == reference_sql(state, steps), steps


def test_a_move_of_the_old_layout_with_a_transient_role_left_reuses_it() -> None:
    state = {**IN_PLACE, "bootstrap": "grafana", "roles": {"grafana": {**SUPER, "bootstrap": True}, TMP: SUPER}}
    steps = roles.role_changes(state, "postgres", "grafana", TMP)
    script = roles.roles_sql(steps, ADMIN_PASSWORD, USER_PASSWORD)
    assert script == reference_sql(state, steps)
    assert 'CREATE ROLE :"tmp"' not in script and 'DROP ROLE :"tmp"' in script


def test_passwords_are_sql_literals_with_their_quotes_doubled() -> None:
    script = roles.roles_sql(["admin_password", "user_password"], "a'b", "c\\'d")
    assert """ALTER ROLE :"admin" WITH PASSWORD 'a''b';""" in script
    assert """ALTER ROLE :"user" WITH PASSWORD 'c\\''d';""" in script


def test_the_filter_decides_with_the_modules_code() -> None:
    assert postgresql_role_changes is roles.role_changes


# --------------------------------------------------------------------------
# The flow, with a fake docker
# --------------------------------------------------------------------------


class FakeDocker:
    """Answers ``docker exec`` as the container would: the roles' state, the password logins, the psql script."""

    def __init__(self, state: dict[str, Any], working: tuple[str, ...] = ("postgres", "grafana"),
                 login_errors: dict[str, str] | None = None, apply: tuple[int, str] = (0, "")) -> None:
        self.state, self.working, self.login_errors, self.apply = state, working, login_errors or {}, apply
        self.calls: list[tuple[list[str], str]] = []

    def __call__(self, argv: list[str], stdin: str) -> tuple[int, str, str]:
        self.calls.append((argv, stdin))
        assert argv[:4] == ["docker", "exec", "-i", "gst-postgresql"]
        if roles.READ_STATE_SCRIPT in argv:
            return 0, json.dumps(self.state) + "\n", ""
        if roles.PASSWORD_CHECK_SCRIPT in argv:
            role = argv[7]
            if role in self.login_errors:
                return 2, "", self.login_errors[role]
            return (0, "1\n", "") if role in self.working else (2, "", REFUSED.format(role))
        assert argv[4] == "psql"
        return self.apply[0], "", self.apply[1]

    @property
    def applied(self) -> list[str]:
        return [stdin for argv, stdin in self.calls if argv[4] == "psql"]


def options(**changes: Any) -> dict[str, Any]:
    return {"container": "gst-postgresql", "database": "grafana", "admin_user": "postgres",
            "admin_password": ADMIN_PASSWORD, "user": "grafana", "password": USER_PASSWORD,
            "transient_role": TMP, "state_sql": "SELECT 1;", **changes}


def assert_no_password(*texts: Any) -> None:
    for text in texts:
        dumped = text if isinstance(text, str) else json.dumps(text)
        for secret in roles.secrets_of(ADMIN_PASSWORD, USER_PASSWORD):
            assert secret not in dumped and json.dumps(secret)[1:-1] not in dumped


@pytest.mark.parametrize("case", CASES)
def test_the_module_changes_what_differs_from_the_layout(case: str) -> None:
    state, (admin_ok, user_ok), changes = CASES[case]
    docker = FakeDocker(state, working=("postgres",) * admin_ok + ("grafana",) * user_ok)
    result = roles.manage_roles(docker, options(), check_mode=False)
    assert result["changes"] == changes and result["changed"] is bool(changes)
    assert docker.applied == ([roles.roles_sql(changes, ADMIN_PASSWORD, USER_PASSWORD)] if changes else [])
    assert_no_password(result)


def test_passwords_go_on_stdin_only_and_the_script_runs_as_the_bootstrap_superuser() -> None:
    state = {**IN_PLACE, "bootstrap": "grafana", "roles": {"grafana": {**SUPER, "bootstrap": True}}}
    docker = FakeDocker(state, working=("grafana",))
    roles.manage_roles(docker, options(state_sql="-- roles_state.sql"), check_mode=False)
    read, admin_login, user_login, apply = docker.calls
    assert read[0][4:] == ["sh", "-c", roles.READ_STATE_SCRIPT, "grafana", "postgres", "grafana", TMP]
    assert read[1] == "-- roles_state.sql"
    assert admin_login[0][7:] == ["postgres", "grafana"] and admin_login[1] == ADMIN_PASSWORD
    assert user_login[0][7:] == ["grafana", "grafana"] and user_login[1] == USER_PASSWORD
    assert "PGCONNECT_TIMEOUT=10" in roles.PASSWORD_CHECK_SCRIPT
    assert apply[0][4:] == ["psql", "-Xq", "-v", "ON_ERROR_STOP=1", "-v", "admin=postgres", "-v", "user=grafana",
                            "-v", f"tmp={TMP}", "-v", "db=grafana", "-U", "grafana", "-d", "grafana", "-f", "-"]
    assert_no_password([argv for argv, _stdin in docker.calls])


def test_check_mode_reads_and_checks_but_applies_nothing_and_names_the_changes() -> None:
    docker = FakeDocker({**IN_PLACE, "database_owner": "postgres"}, working=("postgres",))
    result = roles.manage_roles(docker, options(), check_mode=True)
    assert result["changed"] is True and result["changes"] == ["user_password", "database_owner"]
    assert result["msg"] == "gst-postgresql: would change: user_password, database_owner"
    assert docker.applied == [] and len(docker.calls) == 3


def test_a_layout_in_place_changes_nothing() -> None:
    docker = FakeDocker(IN_PLACE)
    result = roles.manage_roles(docker, options(), check_mode=False)
    assert result["changed"] is False and result["changes"] == [] and docker.applied == []
    assert result["diff"]["before"] == result["diff"]["after"]


def test_a_check_that_fails_for_another_reason_than_the_password_stops_with_the_roles_and_psqls_words() -> None:
    unreachable = 'psql: error: could not translate host name "postgresql" to address: Name does not resolve\n'
    docker = FakeDocker(IN_PLACE, working=(), login_errors={"postgres": unreachable, "grafana": unreachable})
    with pytest.raises(roles.RolesError) as failure:
        roles.manage_roles(docker, options(), check_mode=False)
    assert str(failure.value) == (
        'Could not check the passwords on gst-postgresql: postgres: psql: error: could not translate host name '
        '"postgresql" to address: Name does not resolve; grafana: psql: error: could not translate host name '
        '"postgresql" to address: Name does not resolve')
    assert docker.applied == []


def test_a_refused_password_is_no_failure_but_a_change() -> None:
    assert roles.password_check_problem("c", [("postgres", 2, REFUSED.format("postgres")), ("grafana", 0, "")]) \
        is None
    assert roles.password_check_problem("c", [("postgres", 0, ""), ("grafana", 1, " timeout expired\n")]) == \
        "Could not check the passwords on c: grafana: timeout expired"


@pytest.mark.parametrize(("state", "admin", "message"), [
    (IN_PLACE, "grafana", "gst-postgresql: postgresql_admin_user and postgresql_user must differ"),
    ({**IN_PLACE, "session_user": "grafana", "session_superuser": False}, "postgres",
     "gst-postgresql: grafana is no superuser"),
    ({**IN_PLACE, "bootstrap": "grafana", "roles": {"grafana": SUPER, "postgres": PLAIN}}, "postgres",
     "gst-postgresql: grafana is the bootstrap superuser and a role postgres exists already: rename or drop that "
     "one, or set postgresql_admin_user to another name"),
])
def test_a_layout_that_cannot_be_moved_safely_stops_with_todays_message(
        state: dict[str, Any], admin: str, message: str) -> None:
    docker = FakeDocker(state)
    with pytest.raises(roles.RolesError) as failure:
        roles.manage_roles(docker, options(admin_user=admin), check_mode=False)
    assert str(failure.value) == message
    assert docker.applied == []


def test_a_failing_script_names_psqls_error_without_the_password() -> None:
    echoed = f"psql:<stdin>:12: ERROR:  syntax error\nLINE 1: ALTER ROLE \"user\" WITH PASSWORD " \
             f"'{roles.sql_literal_body(USER_PASSWORD)}' and {ADMIN_PASSWORD}"
    docker = FakeDocker({**IN_PLACE, "database_owner": "postgres"}, working=(), apply=(3, echoed))
    with pytest.raises(roles.RolesError) as failure:
        roles.manage_roles(docker, options(), check_mode=False)
    assert str(failure.value).startswith("Could not change the roles on gst-postgresql: psql:<stdin>:12: ERROR:")
    assert_no_password(str(failure.value), failure.value.result)


def test_an_unreadable_state_is_a_one_line_error() -> None:
    with pytest.raises(roles.RolesError, match=r"^Could not read the roles on gst-postgresql: psql printed no JSON"):
        roles.manage_roles(lambda argv, stdin: (0, "oops\n", ""), options(), check_mode=False)
    with pytest.raises(roles.RolesError, match=r"^Could not read the roles on gst-postgresql: none of the roles"):
        roles.manage_roles(lambda argv, stdin: (1, "", "none of the roles postgres, grafana can connect\n"),
                           options(), check_mode=False)


def test_the_diff_names_roles_attributes_and_owners_and_which_password_is_set_never_a_password() -> None:
    state = {**IN_PLACE, "bootstrap": "grafana", "roles": {"grafana": {**SUPER, "bootstrap": True}},
             "database_owner": "grafana", "superuser_objects": 4}
    wrong = ["admin_password"]
    diff = roles.roles_diff(state, roles.role_changes(state, "postgres", "grafana", TMP, wrong),
                            "postgres", "grafana", TMP, wrong)
    assert diff["before"] == {
        "bootstrap_superuser": "grafana",
        "roles": {"grafana": {"attributes": "SUPERUSER LOGIN CREATEDB CREATEROLE REPLICATION BYPASSRLS",
                              "password": "the configured one"}},
        "database_owner": "grafana", "objects_owned_by_a_superuser": 4}
    assert diff["after"] == {
        "bootstrap_superuser": "postgres",
        "roles": {"grafana": {"attributes": "NOSUPERUSER LOGIN NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
                              "password": "the configured one"},
                  "postgres": {"attributes": "SUPERUSER LOGIN CREATEDB CREATEROLE REPLICATION BYPASSRLS",
                               "password": "the configured one"}},
        "database_owner": "grafana", "objects_owned_by_a_superuser": 0}


# --------------------------------------------------------------------------
# The module
# --------------------------------------------------------------------------


def run_module(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], docker: FakeDocker,
               ready: bool = True, **args: Any) -> dict[str, Any]:
    def wait(checks: Any, **_timing: Any) -> WaitReport:
        assert [check.container for check in checks] == ["gst-postgresql"]
        assert _timing["timeout"] == 30
        return WaitReport(services={"postgresql": ServiceResult(name="postgresql", url="", ready=ready)},
                          elapsed=0.1, timeout=30)

    monkeypatch.setattr(module, "wait_for_services", wait)
    monkeypatch.setattr(module, "with_container_logs", lambda checks, report, lines: ["postgresql: not ready"])
    monkeypatch.setattr(module.AnsibleModule, "run_command",
                        lambda self, argv, data=None, binary_data=False: docker(argv, data))
    module_args = {**options(), "health_check": {"name": "postgresql", "container": "gst-postgresql"},
                   "health_timeout": 30, **args}
    with patch_module_args(module_args), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)


def test_the_module_in_check_and_diff_mode_reports_the_changes_and_shows_no_password(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    docker = FakeDocker({**IN_PLACE, "database_owner": "postgres"}, working=())
    result = run_module(monkeypatch, capsys, docker, _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] is True
    assert result["changes"] == ["admin_password", "user_password", "database_owner"]
    assert result["diff"]["after"]["database_owner"] == "grafana"
    assert docker.applied == []
    assert_no_password(result)


def test_the_module_applies_and_returns_no_diff_without_diff_mode(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    docker = FakeDocker(IN_PLACE, working=("postgres",))
    result = run_module(monkeypatch, capsys, docker)
    assert result["changed"] is True and result["changes"] == ["user_password"] and "diff" not in result
    assert docker.applied == [roles.roles_sql(["user_password"], ADMIN_PASSWORD, USER_PASSWORD)]
    assert_no_password(result)


def test_the_module_stops_on_a_failed_health_wait_before_any_docker_exec(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    docker = FakeDocker(IN_PLACE)
    result = run_module(monkeypatch, capsys, docker, ready=False)
    assert result["failed"] is True and result["msg"] == "postgresql: not ready" and docker.calls == []


def test_the_module_fails_with_the_layout_message_and_no_password(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    docker = FakeDocker({**IN_PLACE, "session_user": "grafana", "session_superuser": False}, working=())
    result = run_module(monkeypatch, capsys, docker)
    assert result["failed"] is True and result["msg"] == "gst-postgresql: grafana is no superuser"
    assert_no_password(result)
