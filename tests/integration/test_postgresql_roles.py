"""The postgresql role on the real PostgreSQL test image (Debian's PostgreSQL 15): Grafana logs in as a role of its
own that owns the ``grafana`` database and is no superuser, the admin superuser stays for administration, passwords
with any printable character work for both, and a host converged by earlier versions of the role (``grafana`` as the
image's bootstrap superuser) moves to this layout with its data. Grafana (the test double, which logs in to the real
server with its configured credentials before /api/health answers) runs on the same database.

Everything the test creates is named ``gsttest-pg-*`` and labelled ``data2ai.grafana_stack.test=1``, on its own
network (10.219.x.0/24); cleanup removes exactly that, before and after, even when a test fails.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from stack_testlib import (
    DOCKER,
    converge,
    docker,
    free_port,
    free_subnet,
    local_stack_vars,
    remove_labelled,
    require_images,
    write_local_inventory,
    write_roles_play,
)

PREFIX = "gsttest-pg-"
POSTGRES_IMAGE = os.environ.get("GSTTEST_POSTGRES_IMAGE", "data2ai-test/postgres:local")
REDIS_IMAGE = os.environ.get("GSTTEST_REDIS_IMAGE", "data2ai-test/redis:local")
GRAFANA_IMAGE = os.environ.get("GSTTEST_GRAFANA_IMAGE", "data2ai-test/grafana-double:local")
CONTAINER = f"{PREFIX}postgresql"
VOLUME = f"{PREFIX}postgres_data"
OLD_PASSWORD = "gsttest-pg-old-layout-5c1e"
# Every printable ASCII character, in the middle of the password (Grafana trims a secret file's outer spaces).
AWKWARD = "".join(chr(code) for code in range(33, 127))
AWKWARD_USER_PASSWORD = f"user {AWKWARD} ' \\' $$ %s :'pw' \"x\" end"
AWKWARD_ADMIN_PASSWORD = f"admin {AWKWARD[::-1]} '' \\\\ $1 %% :user end"

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_images(POSTGRES_IMAGE, REDIS_IMAGE, GRAFANA_IMAGE)
    remove_labelled(PREFIX)
    workdir = tmp_path_factory.mktemp("postgresql-roles")
    write_local_inventory(workdir, {
        **local_stack_vars(workdir, PREFIX, free_subnet("10.219", range(0, 100))),
        "stack_bind_address": "127.0.0.1",
        "postgresql_image": POSTGRES_IMAGE,
        "redis_image": REDIS_IMAGE,
        "grafana_image": GRAFANA_IMAGE,
        "grafana_host_port": free_port(),
    })
    write_roles_play(workdir / "play.yml", "PostgreSQL, Redis and Grafana (the double) on one network",
                     [POSTGRES_IMAGE, REDIS_IMAGE, GRAFANA_IMAGE], ["postgresql", "redis", "grafana"])
    yield workdir
    remove_labelled(PREFIX)


def sql(query: str, *, user: str = "postgres", database: str = "grafana") -> str:
    """A query over the container's local socket (trusted), as ``user``."""
    run = docker("exec", CONTAINER, "psql", "-XqtA", "-v", "ON_ERROR_STOP=1", "-U", user, "-d", database, "-c", query)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def login_works(user: str, password: str) -> bool:
    """Logs in over the network, where PostgreSQL asks for the password; the password goes on stdin."""
    run = subprocess.run(
        [DOCKER, "exec", "-i", CONTAINER, "sh", "-c",
         'PGPASSWORD="$(cat)" exec psql -X -h postgresql -U "$0" -d grafana -tAc "SELECT current_user"', user],
        input=password, capture_output=True, text=True, check=False)
    return run.returncode == 0 and run.stdout.strip() == user


def role(name: str, *, as_user: str = "postgres") -> dict[str, object]:
    found = sql("SELECT row_to_json(r) FROM (SELECT oid::int AS oid, rolsuper, rolcreatedb, rolcreaterole, "
                f"rolcanlogin, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = '{name}') r", user=as_user)
    assert found, f"no role {name}"
    return json.loads(found)


def grafana_database_ok() -> bool:
    """Grafana's /api/health: the double answers "database": "ok" only after it logged in to PostgreSQL with the
    user and password of its grafana.ini."""
    run = docker("exec", f"{PREFIX}grafana", "wget", "-q", "-O", "-", "http://127.0.0.1:3000/api/health")
    return run.returncode == 0 and json.loads(run.stdout).get("database") == "ok"


def start_the_old_layout(workdir: Path) -> None:
    """The container as earlier versions of the role ran it: grafana is the image's bootstrap superuser."""
    secrets = workdir / "old-secrets"
    secrets.mkdir()
    (secrets / "password").write_text(OLD_PASSWORD)
    os.chmod(secrets / "password", 0o444)
    docker("network", "create", "--label", "data2ai.grafana_stack.test=1", "--subnet",
           free_subnet("10.219", range(100, 200)), f"{PREFIX}old-net", check=True)
    docker("volume", "create", "--label", "data2ai.grafana_stack.test=1", VOLUME, check=True)
    docker("run", "-d", "--name", CONTAINER, "--label", "data2ai.grafana_stack.test=1",
           "--network", f"{PREFIX}old-net", "--network-alias", "postgresql",
           "-e", "POSTGRES_USER=grafana", "-e", "POSTGRES_DB=grafana",
           "-e", "POSTGRES_PASSWORD_FILE=/run/secrets/postgresql_password",
           "-v", f"{VOLUME}:/var/lib/postgresql/data",
           "-v", f"{secrets / 'password'}:/run/secrets/postgresql_password:ro", POSTGRES_IMAGE, check=True)
    for _attempt in range(120):
        if docker("exec", CONTAINER, "pg_isready", "-q", "-h", "127.0.0.1").returncode == 0 and \
                docker("exec", CONTAINER, "psql", "-U", "grafana", "-d", "grafana", "-c", "SELECT 1").returncode == 0:
            break
        docker("exec", CONTAINER, "sleep", "1")
    sql("CREATE TABLE dashboard (id serial PRIMARY KEY, title text NOT NULL);"
        "CREATE VIEW dashboard_titles AS SELECT title FROM dashboard;"
        "INSERT INTO dashboard (title) VALUES ('kept across the move')", user="grafana")
    (workdir / "credentials" / "localhost").mkdir(parents=True)
    (workdir / "credentials" / "localhost" / "postgresql_password").write_text(OLD_PASSWORD)
    os.chmod(workdir / "credentials" / "localhost" / "postgresql_password", 0o600)


def test_a_host_of_the_old_layout_moves_to_a_grafana_role_of_its_own_and_keeps_its_data(workdir: Path) -> None:
    start_the_old_layout(workdir)
    assert role("grafana", as_user="grafana")["rolsuper"] is True and role("grafana", as_user="grafana")["oid"] == 10

    converge(workdir, "--check", "--diff")
    assert role("grafana", as_user="grafana")["rolsuper"] is True, "check mode changed the roles"

    run = converge(workdir)
    assert OLD_PASSWORD not in run.output
    grafana = role("grafana")
    assert grafana["rolsuper"] is False and grafana["rolcreatedb"] is False and grafana["rolcreaterole"] is False
    assert grafana["rolreplication"] is False and grafana["rolbypassrls"] is False and grafana["rolcanlogin"] is True
    assert grafana["oid"] != 10, "Grafana's role is still the bootstrap superuser, which owns the system catalogs"
    assert role("postgres") == {**role("postgres"), "oid": 10, "rolsuper": True}
    assert sql("SELECT title FROM dashboard", user="grafana") == "kept across the move"
    assert sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'grafana'") == "grafana"
    owners = sql("SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c JOIN pg_namespace n "
                 "ON n.oid = c.relnamespace WHERE n.nspname = 'public'")
    assert owners == "grafana", "the table, its sequence, index and the view belong to Grafana's role"
    assert sql("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'data2ai%'") == "0", "the transient role is gone"
    assert login_works("grafana", OLD_PASSWORD), "Grafana's password stays the same"
    admin_password = (workdir / "credentials" / "localhost" / "postgresql_admin_password").read_text()
    assert login_works("postgres", admin_password)
    assert not login_works("postgres", OLD_PASSWORD)
    assert sql("INSERT INTO dashboard (title) VALUES ('written by grafana') RETURNING id", user="grafana") == "2"
    assert grafana_database_ok()


def test_grafanas_role_can_create_neither_roles_nor_databases(workdir: Path) -> None:
    for statement in ("CREATE ROLE gsttest_pg_intruder", "CREATE DATABASE gsttest_pg_other",
                      "ALTER ROLE grafana SUPERUSER"):
        run = docker("exec", CONTAINER, "psql", "-XqtA", "-U", "grafana", "-d", "grafana", "-c", statement)
        assert run.returncode != 0, statement
        assert "permission denied" in run.stderr or "must be superuser" in run.stderr, (statement, run.stderr)
    assert role("grafana")["rolsuper"] is False


def test_a_second_converge_and_a_check_run_change_nothing(workdir: Path) -> None:
    assert converge(workdir).recap["changed"] == 0
    check = converge(workdir, "--check", "--diff")
    assert check.recap["changed"] == 0, check.failure_context()


def dsn_quoted(password: str) -> str:
    """How a password reaches Grafana's connection string: quoted when it has a space, a quote or a backslash."""
    if any(char.isspace() or char in "'\\" for char in password):
        return "'" + password.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return password


def test_passwords_with_every_printable_character_work_for_grafana_and_the_admin(workdir: Path) -> None:
    settings = workdir / "awkward.json"
    settings.write_text(json.dumps({"postgresql_password": AWKWARD_USER_PASSWORD,
                                    "postgresql_admin_password": AWKWARD_ADMIN_PASSWORD}))
    run = converge(workdir, "-e", f"@{settings}", "-v")
    for secret in (AWKWARD_USER_PASSWORD, AWKWARD_ADMIN_PASSWORD, AWKWARD):
        assert secret not in run.output
    assert login_works("grafana", AWKWARD_USER_PASSWORD)
    assert login_works("postgres", AWKWARD_ADMIN_PASSWORD)
    assert not login_works("grafana", AWKWARD_USER_PASSWORD[:-1]), "a wrong password is refused"
    assert not login_works("grafana", OLD_PASSWORD)
    # Grafana appends the file's content to its connection string as it is: it must be quoted for lib/pq.
    secret_file = workdir / "stack" / "grafana" / "secrets" / "database_password"
    assert secret_file.read_text() == dsn_quoted(AWKWARD_USER_PASSWORD)
    assert grafana_database_ok()
    again = converge(workdir, "-e", f"@{settings}")
    assert again.recap["changed"] == 0, again.failure_context()


def test_docker_inspect_shows_no_password(workdir: Path) -> None:
    secrets = [AWKWARD_USER_PASSWORD, AWKWARD_ADMIN_PASSWORD, OLD_PASSWORD,
               (workdir / "credentials" / "localhost" / "postgresql_admin_password").read_text()]
    for container in (CONTAINER, f"{PREFIX}grafana"):
        inspect = docker("inspect", container).stdout
        assert inspect
        for secret in secrets:
            assert secret not in inspect and json.dumps(secret)[1:-1] not in inspect


def test_a_new_volume_starts_with_the_admin_as_bootstrap_superuser_and_grafana_owning_its_database(
        workdir: Path) -> None:
    docker("rm", "-f", CONTAINER, f"{PREFIX}grafana", check=True)
    docker("volume", "rm", VOLUME, check=True)
    converge(workdir)
    assert role("postgres")["oid"] == 10 and role("postgres")["rolsuper"] is True
    assert role("grafana")["rolsuper"] is False
    assert sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'grafana'") == "grafana"
    # PostgreSQL 15: the public schema belongs to pg_database_owner, so the database's owner may create in it.
    assert sql("SELECT has_schema_privilege('grafana', 'public', 'CREATE')") == "t"
    assert sql("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
               "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) <> 'grafana'") == "0"
    assert grafana_database_ok()
    assert converge(workdir).recap["changed"] == 0
