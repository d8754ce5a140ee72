# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Grafana's PostgreSQL role and the admin superuser, for the ``postgresql_roles`` module.

Plain Python around a runner ``run(argv, stdin) -> (rc, stdout, stderr)`` (the module passes ``docker`` commands
through ``AnsibleModule.run_command``), so everything but the health wait is unit-tested without Docker:

1. :func:`read_state` runs the postgresql role's ``roles_state.sql`` in the container over the local socket, as
   the first of the admin, Grafana's and the transient role that connects.
2. :func:`check_passwords` tries the configured passwords over the network, where PostgreSQL asks for them; a check
   that failed for another reason than the password stops the run (:func:`password_check_problem`).
3. :func:`role_changes` names the steps that bring the volume to the layout (also the ``postgresql_role_changes``
   filter), :func:`layout_problem` refuses a layout that cannot be moved safely.
4. :func:`roles_sql` writes the psql script of those steps, which :func:`apply_sql` runs as the bootstrap
   superuser. Passwords travel on stdin only, as SQL literals, and are masked in every message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.http_transport import redact

if TYPE_CHECKING:
    from collections.abc import Callable

    # argv, stdin -> (rc, stdout, stderr)
    Runner = Callable[[list[str], str], tuple[int, str, str]]

SQL_HEADER = "data2ai.grafana_stack.postgresql_roles"
_USER_EXTRA_RIGHTS = ("superuser", "createdb", "createrole", "replication", "bypassrls")
_ATTRIBUTES = ("superuser", "login", "createdb", "createrole", "replication", "bypassrls")
_PLAIN_USER = {"superuser": False, "login": True, "createdb": False, "createrole": False, "replication": False,
               "bypassrls": False}

# The first of the roles that exists connects (the admin, or the bootstrap superuser of an earlier layout), and runs
# roles_state.sql from stdin. Arguments: database, admin, user, transient.
READ_STATE_SCRIPT = (
    'for role in "$1" "$2" "$3"; do '
    'if psql -XqtA -U "$role" -d "$0" -c "SELECT 1" >/dev/null 2>&1; then '
    'exec psql -XqtA -v ON_ERROR_STOP=1 -v admin="$1" -v user="$2" -v tmp="$3" -U "$role" -d "$0" -f -; fi; done; '
    'echo "none of the roles $1, $2 can connect to the database $0 over the local socket" >&2; exit 1'
)
# A login over the network, where the server asks for the password; the password comes on stdin. Arguments: role,
# database.
PASSWORD_CHECK_SCRIPT = (
    'PGPASSWORD="$(cat)" PGCONNECT_TIMEOUT=10 exec psql -X -h postgresql -U "$0" -d "$1" -tAc "SELECT 1"'
)
PASSWORD_REFUSED = "password authentication failed"


class RolesError(Exception):
    """A step failed or the layout cannot be moved; the message names the container and holds no password."""

    def __init__(self, msg: str, **result: Any) -> None:
        super().__init__(msg)
        self.result = result


# --------------------------------------------------------------------------
# Deciding
# --------------------------------------------------------------------------


def role_changes(state: Mapping[str, Any], admin: str, user: str, transient: str,
                 wrong_passwords: Iterable[str] = ()) -> list[str]:
    """The steps that bring the roles ``state`` (roles_state.sql's JSON) to the layout, in the order they run."""
    roles = state.get("roles") or {}
    wrong = set(wrong_passwords)
    migrate = state.get("bootstrap") == user
    admin_role, user_role = roles.get(admin), roles.get(user)
    steps = ["migrate"] if migrate else []
    if admin_role is not None and not (admin_role.get("superuser") and admin_role.get("login")):
        steps.append("admin_attributes")
    if "admin_password" in wrong:
        steps.append("admin_password")
    if migrate or user_role is None:
        steps.append("create_user")
    else:
        if not user_role.get("login") or any(user_role.get(right) for right in _USER_EXTRA_RIGHTS):
            steps.append("user_attributes")
        if "user_password" in wrong:
            steps.append("user_password")
    if migrate or state.get("database_owner") != user:
        steps.append("database_owner")
    if migrate or (state.get("superuser_objects") or 0) > 0:
        steps.append("objects_owner")
    if transient in roles:
        steps.append("drop_transient_role")
    return steps


def password_check_problem(container: str, checks: Iterable[tuple[str, int, str]]) -> str | None:
    """The message when a password check (role, rc, stderr) failed for another reason than the password."""
    failed = [f"{role}: {stderr.strip()}" for role, rc, stderr in checks if rc != 0 and PASSWORD_REFUSED not in stderr]
    if not failed:
        return None
    return f"Could not check the passwords on {container}: " + "; ".join(failed)


def names_problem(container: str, admin: str, user: str) -> str | None:
    if admin == user:
        return f"{container}: postgresql_admin_user and postgresql_user must differ"
    return None


def layout_problem(container: str, state: Mapping[str, Any], admin: str, user: str) -> str | None:
    """Why the layout cannot be moved safely, or None."""
    names = names_problem(container, admin, user)
    if names:
        return names
    if not state.get("session_superuser"):
        return f"{container}: {state.get('session_user')} is no superuser"
    if state.get("bootstrap") == user and admin in (state.get("roles") or {}):
        return (f"{container}: {user} is the bootstrap superuser and a role {admin} exists already: rename or drop "
                "that one, or set postgresql_admin_user to another name")
    return None


# --------------------------------------------------------------------------
# The psql script
# --------------------------------------------------------------------------

_PREAMBLE = """\
-- Run by psql over the container's local socket (trusted), connected to the database as its bootstrap superuser,
-- with the variables admin, user, tmp and db. Passwords are SQL string literals (quotes doubled) on standard
-- conforming strings, where a backslash is an ordinary character; psql does not expand variables inside literals.
-- A failing statement is not written to the server log (log_min_error_statement), so no password reaches it.
\\set ON_ERROR_STOP 1
SET standard_conforming_strings = on;
SET log_min_error_statement = panic;
SET log_statement = none;
"""
_MIGRATE_INTRO = """\
-- postgresql_user is the bootstrap superuser (earlier versions of this role): it becomes the admin superuser, and
-- Grafana gets a new role. A session cannot rename its own role, hence the transient superuser.
"""
_CREATE_TRANSIENT = 'CREATE ROLE :"tmp" WITH LOGIN SUPERUSER;\n'
_RENAME = """\
\\connect - :tmp
SET log_statement = none;
ALTER ROLE :"user" RENAME TO :"admin";
\\connect - :admin
SET standard_conforming_strings = on;
SET log_min_error_statement = panic;
SET log_statement = none;
"""
_DROP_TRANSIENT = 'DROP ROLE :"tmp";\n'
_ADMIN_ATTRIBUTES = 'ALTER ROLE :"admin" WITH LOGIN SUPERUSER;\n'
_ADMIN_PASSWORD = """ALTER ROLE :"admin" WITH PASSWORD '{password}';\n"""
_CREATE_USER = """\
CREATE ROLE :"user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD '{password}';
"""
_USER_ATTRIBUTES = 'ALTER ROLE :"user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;\n'
_USER_PASSWORD = """ALTER ROLE :"user" WITH PASSWORD '{password}';\n"""
_DATABASE_OWNER = 'ALTER DATABASE :"db" OWNER TO :"user";\n'
_OBJECTS_OWNER = """\
-- What a superuser owns in Grafana's database goes to Grafana's role. Tables take their indexes, owned sequences and
-- row types along; extension members stay as they are.
SELECT set_config('data2ai.grafana_owner', :'user', false);
DO $do$
DECLARE
  new_owner text := current_setting('data2ai.grafana_owner');
  superusers oid[] := ARRAY(SELECT oid FROM pg_roles WHERE oid = 10 OR rolname = current_user);
  spaces oid[] := ARRAY(SELECT oid FROM pg_namespace
                        WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_(toast|temp_)');
  item record;
BEGIN
  FOR item IN SELECT n.oid, n.nspname FROM pg_namespace n
              WHERE n.oid = ANY(spaces) AND n.nspowner = ANY(superusers)
                AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                                AND d.objid = n.oid AND d.deptype = 'e') LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO %I', item.nspname, new_owner);
  END LOOP;
  FOR item IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c
              WHERE c.relnamespace = ANY(spaces) AND c.relowner = ANY(superusers)
                AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
                AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype IN ('a', 'i')))) LOOP
    -- An earlier table of this loop may have taken the object along already.
    CONTINUE WHEN (SELECT relowner FROM pg_class WHERE oid = item.name) <> ALL(superusers);
    EXECUTE format('ALTER %s %s OWNER TO %I',
                   CASE item.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                     WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                   item.name, new_owner);
  END LOOP;
  FOR item IN SELECT p.oid::regprocedure AS name FROM pg_proc p
              WHERE p.pronamespace = ANY(spaces) AND p.proowner = ANY(superusers)
                AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                                AND d.objid = p.oid AND d.deptype = 'e') LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO %I', item.name, new_owner);
  END LOOP;
  FOR item IN SELECT t.oid::regtype AS name, t.typtype FROM pg_type t
              WHERE t.typnamespace = ANY(spaces) AND t.typowner = ANY(superusers) AND t.typtype IN ('d', 'e', 'r', 'c')
                AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
                AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                                AND d.objid = t.oid AND d.deptype = 'e') LOOP
    CONTINUE WHEN (SELECT typowner FROM pg_type WHERE oid = item.name) <> ALL(superusers);
    EXECUTE format('ALTER %s %s OWNER TO %I', CASE item.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
                   item.name, new_owner);
  END LOOP;
END
$do$;
"""


def sql_literal_body(password: str) -> str:
    """A password inside an SQL string literal on standard conforming strings: its quotes doubled."""
    return password.replace("'", "''")


def roles_sql(steps: Iterable[str], admin_password: str, user_password: str) -> str:
    """The psql script that runs ``steps`` (of :func:`role_changes`), with the psql variables admin, user, tmp, db."""
    todo = set(steps)
    parts = [f"-- {SQL_HEADER}\n", _PREAMBLE]
    if "migrate" in todo:
        parts.append(_MIGRATE_INTRO)
        if "drop_transient_role" not in todo:
            parts.append(_CREATE_TRANSIENT)
        parts.append(_RENAME)
    if "migrate" in todo or "drop_transient_role" in todo:
        parts.append(_DROP_TRANSIENT)
    if "admin_attributes" in todo:
        parts.append(_ADMIN_ATTRIBUTES)
    if "admin_password" in todo:
        parts.append(_ADMIN_PASSWORD.format(password=sql_literal_body(admin_password)))
    if "create_user" in todo:
        parts.append(_CREATE_USER.format(password=sql_literal_body(user_password)))
    else:
        if "user_attributes" in todo:
            parts.append(_USER_ATTRIBUTES)
        if "user_password" in todo:
            parts.append(_USER_PASSWORD.format(password=sql_literal_body(user_password)))
    if "database_owner" in todo:
        parts.append(_DATABASE_OWNER)
    if "objects_owner" in todo:
        parts.append(_OBJECTS_OWNER)
    return "".join(parts)


# --------------------------------------------------------------------------
# Diff: role names and what changes, never a password
# --------------------------------------------------------------------------


def _attributes(role: Mapping[str, Any]) -> str:
    return " ".join(name.upper() if role.get(name) else f"NO{name.upper()}" for name in _ATTRIBUTES)


def roles_diff(state: Mapping[str, Any], steps: Iterable[str], admin: str, user: str, transient: str,
               wrong_passwords: Iterable[str] = ()) -> dict[str, Any]:
    """Before and after of the roles' layout for diff mode: names, attributes, owners, which password is set."""
    todo = set(steps)
    roles = dict(state.get("roles") or {})
    before = {
        "bootstrap_superuser": state.get("bootstrap"),
        "roles": {name: {"attributes": _attributes(role)} for name, role in sorted(roles.items())},
        "database_owner": state.get("database_owner"),
        "objects_owned_by_a_superuser": state.get("superuser_objects") or 0,
    }
    after_roles = dict(roles)
    bootstrap = state.get("bootstrap")
    if "migrate" in todo:
        after_roles[admin] = after_roles.pop(user, {})
        bootstrap = admin
    after_roles.pop(transient, None)
    if "admin_attributes" in todo:
        after_roles[admin] = {**after_roles[admin], "superuser": True, "login": True}
    if "create_user" in todo or "user_attributes" in todo:
        after_roles[user] = _PLAIN_USER
    after = {
        "bootstrap_superuser": bootstrap,
        "roles": {name: {"attributes": _attributes(role)} for name, role in sorted(after_roles.items())},
        "database_owner": user if "database_owner" in todo else state.get("database_owner"),
        "objects_owned_by_a_superuser": 0 if "objects_owner" in todo else before["objects_owned_by_a_superuser"],
    }
    # A password is shown only as whether it is the configured one; a role that logs in with it keeps it.
    refused = set(wrong_passwords)
    for name, key in ((admin, "admin_password"), (user, "user_password")):
        if name in before["roles"]:
            before["roles"][name]["password"] = "not the configured one" if key in refused else "the configured one"
        if name in after["roles"]:
            after["roles"][name]["password"] = "the configured one"
    return {"before": before, "after": after}


# --------------------------------------------------------------------------
# Running it in the container
# --------------------------------------------------------------------------


def secrets_of(*passwords: str) -> list[str]:
    """Every form of the passwords that could appear in a message: as given and as SQL literal bodies."""
    return [form for password in passwords if password for form in (password, sql_literal_body(password))]


def read_state(run: Runner, container: str, database: str, admin: str, user: str, transient: str,
               state_sql: str) -> dict[str, Any]:
    """roles_state.sql's JSON, read over the container's local socket."""
    argv = ["docker", "exec", "-i", container, "sh", "-c", READ_STATE_SCRIPT, database, admin, user, transient]
    rc, out, err = run(argv, state_sql)
    if rc != 0:
        raise RolesError(f"Could not read the roles on {container}: {err.strip() or out.strip()}", rc=rc)
    try:
        state = json.loads(out)
    except ValueError:
        raise RolesError(f"Could not read the roles on {container}: psql printed no JSON: {out.strip()[:300]}",
                         rc=rc) from None
    if not isinstance(state, dict):
        raise RolesError(f"Could not read the roles on {container}: psql printed no JSON object: {out.strip()[:300]}")
    return state


def check_passwords(run: Runner, container: str, database: str, logins: Iterable[tuple[str, str, str]],
                    secrets: Iterable[str] = ()) -> list[str]:
    """The keys of the logins (key, role, password) whose password PostgreSQL refused over the network."""
    checks, wrong = [], []
    for key, role, password in logins:
        argv = ["docker", "exec", "-i", container, "sh", "-c", PASSWORD_CHECK_SCRIPT, role, database]
        rc, _out, err = run(argv, password)
        checks.append((role, rc, redact(err, secrets)))
        if rc != 0:
            wrong.append(key)
    problem = password_check_problem(container, checks)
    if problem:
        raise RolesError(problem)
    return wrong


def apply_sql(run: Runner, container: str, bootstrap: str, database: str, admin: str, user: str, transient: str,
              sql: str, secrets: Iterable[str] = ()) -> None:
    """Runs the psql script on stdin as the bootstrap superuser, over the local socket."""
    argv = ["docker", "exec", "-i", container, "psql", "-Xq", "-v", "ON_ERROR_STOP=1", "-v", f"admin={admin}",
            "-v", f"user={user}", "-v", f"tmp={transient}", "-v", f"db={database}", "-U", bootstrap, "-d", database,
            "-f", "-"]
    rc, out, err = run(argv, sql)
    if rc != 0:
        detail = redact(err.strip() or out.strip(), secrets)
        raise RolesError(f"Could not change the roles on {container}: {detail}", rc=rc)


def manage_roles(run: Runner, options: Mapping[str, Any], check_mode: bool) -> dict[str, Any]:
    """Reads, decides and (unless ``check_mode``) applies; the module's result without ``diff``'s gate.

    ``options``: container, database, admin_user, admin_password, user, password, transient_role, state_sql.
    """
    container, database = options["container"], options["database"]
    admin, user, transient = options["admin_user"], options["user"], options["transient_role"]
    secrets = secrets_of(options["admin_password"], options["password"])
    problem = names_problem(container, admin, user)
    if problem:
        raise RolesError(problem)
    state = read_state(run, container, database, admin, user, transient, options["state_sql"])
    wrong = check_passwords(run, container, database, (("admin_password", admin, options["admin_password"]),
                                                       ("user_password", user, options["password"])), secrets)
    steps = role_changes(state, admin, user, transient, wrong)
    problem = layout_problem(container, state, admin, user)
    if problem:
        raise RolesError(problem, changes=steps)
    result: dict[str, Any] = {"changed": bool(steps), "changes": steps,
                              "diff": roles_diff(state, steps, admin, user, transient, wrong)}
    if not steps:
        result["msg"] = f"{container}: the roles are in place"
    elif check_mode:
        result["msg"] = f"{container}: would change: {', '.join(steps)}"
    else:
        sql = roles_sql(steps, options["admin_password"], options["password"])
        apply_sql(run, container, state.get("bootstrap"), database, admin, user, transient, sql, secrets)
        result["msg"] = f"{container}: changed: {', '.join(steps)}"
    return result
