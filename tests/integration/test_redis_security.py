"""The redis role on the real Redis test image (Debian's redis-server): Redis always has a password and protected
mode, a password given with any printable character but a comma works, and preflight refuses a comma in one line.

Everything the test creates is named ``gsttest-rs-*`` and labelled ``data2ai.grafana_stack.test=1``, on its own
network; cleanup removes exactly that, before and after, even when a test fails.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from stack_testlib import (
    ansible_playbook,
    converge,
    docker,
    free_subnet,
    local_stack_vars,
    remove_labelled,
    require_images,
    write_local_inventory,
    write_roles_play,
)

PREFIX = "gsttest-rs-"
IMAGE = os.environ.get("GSTTEST_REDIS_IMAGE", "data2ai-test/redis:local")
# Every printable ASCII character but the comma, the one Grafana's remote cache connection string cannot carry.
AWKWARD_PASSWORD = "".join(chr(code) for code in range(33, 127) if chr(code) != ",") + " and a space"

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_images(IMAGE)
    remove_labelled(PREFIX)
    workdir = tmp_path_factory.mktemp("redis-security")
    write_local_inventory(workdir, {
        **local_stack_vars(workdir, PREFIX, free_subnet("10.216", range(0, 100))),
        "redis_image": IMAGE,
    })
    write_roles_play(workdir / "play.yml", "The redis role under test", [IMAGE], ["redis"])
    yield workdir
    remove_labelled(PREFIX)


def redis_cli(*command: str, password: str | None = None) -> str:
    """redis-cli inside the container; the password goes through REDISCLI_AUTH, never the command line."""
    auth = ["-e", f"REDISCLI_AUTH={password}"] if password is not None else []
    return docker("exec", *auth, f"{PREFIX}redis", "redis-cli", *command).stdout.strip()


def test_redis_without_a_given_password_gets_a_generated_one_and_keeps_protected_mode(workdir: Path) -> None:
    converge(workdir, timeout=600)
    generated = (workdir / "credentials" / "localhost" / "redis_password").read_text().strip()
    assert len(generated) >= 32
    assert "NOAUTH" in redis_cli("PING"), "a client without the password is refused"
    assert redis_cli("PING", password=generated) == "PONG"
    assert redis_cli("CONFIG", "GET", "protected-mode", password=generated).splitlines() == ["protected-mode", "yes"]


def test_a_password_with_any_printable_character_but_a_comma_works(workdir: Path) -> None:
    settings = workdir / "awkward.json"
    settings.write_text(json.dumps({"redis_password": AWKWARD_PASSWORD}))
    output = converge(workdir, "-e", f"@{settings}", timeout=600).output
    assert AWKWARD_PASSWORD not in output
    assert redis_cli("PING", password=AWKWARD_PASSWORD) == "PONG"
    assert redis_cli("PING", password=AWKWARD_PASSWORD[:-1]) != "PONG", "a wrong password is refused"


def test_site_yml_refuses_a_comma_in_preflight_in_one_line_naming_the_variable(workdir: Path) -> None:
    settings = workdir / "comma.json"
    settings.write_text(json.dumps({"redis_password": "gsttest-rs-secret,part"}))
    run = ansible_playbook("-i", str(workdir / "inventory.yml"), "site.yml", "-e", f"@{settings}", timeout=300)
    assert run.returncode != 0
    assert "redis_password: cannot contain ',': Grafana's remote cache connection string splits on commas" \
        in run.output, run.output[-3000:]
    assert "gsttest-rs-secret" not in run.output
