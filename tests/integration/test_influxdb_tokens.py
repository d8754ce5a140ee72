"""The influxdb role's tokens on the InfluxDB TEST DOUBLE image, with Grafana's content step against the Grafana
TEST DOUBLE: the setup's password and operator token reach the container as files (never in its environment), and
Grafana's InfluxDB datasource gets a token that can only read the training bucket, created once and kept, replaced
with a rotation of the admin token.

Everything the test creates is named ``gsttest-ix-*`` and labelled ``data2ai.grafana_stack.test=1``, on its own
network; cleanup removes exactly that, before and after, even when a test fails. The image is
$GSTTEST_INFLUXDB_IMAGE (default data2ai-test/influxdb-double:local).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from stack_testlib import (
    NO_PROXY,
    PlaybookRun,
    converge,
    docker,
    free_port,
    free_subnet,
    local_stack_vars,
    remove_labelled,
    require_images,
    roles_play,
    write_local_inventory,
)

sys.path.insert(0, str(Path(__file__).resolve().parent / "grafana"))
from grafana_harness import ADMIN, GrafanaDouble, running_grafana_doubles

PREFIX = "gsttest-ix-"
IMAGE = os.environ.get("GSTTEST_INFLUXDB_IMAGE", "data2ai-test/influxdb-double:local")

pytestmark = pytest.mark.docker


@dataclass
class TokenStack:
    workdir: Path
    grafana: GrafanaDouble
    influx_url: str
    runs: list[PlaybookRun] = field(default_factory=list)

    @property
    def credentials(self) -> Path:
        return self.workdir / "credentials" / "localhost"

    def secret(self, name: str) -> str:
        return (self.credentials / name).read_text().strip()

    def converge(self, *extra: str) -> PlaybookRun:
        run = converge(self.workdir, *extra, env=NO_PROXY)
        self.runs.append(run)
        return run

    def datasource_token(self) -> str:
        """The token Grafana's InfluxDB datasource holds, from the Grafana double's state (kept in clear there)."""
        state = json.loads((self.workdir / "grafana" / "data" / "grafana-double-state.json").read_text())
        found = [ds for ds in state["datasources"] if ds["uid"] == "influxdb"]
        assert len(found) == 1, found
        return found[0]["secure"]["token"]


def write_play(workdir: Path, grafana: GrafanaDouble) -> None:
    play = roles_play("The influxdb role, then Grafana's content step", [IMAGE], ["influxdb"])
    play[0]["tasks"].append(
        {"name": "Grafana's datasources, folders and dashboards",
         "ansible.builtin.include_role": {"name": "data2ai.grafana_stack.grafana", "tasks_from": "content.yml"},
         # grafana_api_url is a role var (vars/main.yml); task vars of the include take precedence over it.
         "vars": {"grafana_api_url": grafana.url}})
    (workdir / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenStack]:
    require_images(IMAGE)
    remove_labelled(PREFIX)
    workdir = tmp_path_factory.mktemp("influxdb-tokens")
    port = free_port()
    with running_grafana_doubles(workdir / "grafana") as (grafana,):
        write_local_inventory(workdir, {
            **local_stack_vars(workdir, PREFIX, free_subnet("10.217", range(0, 100))),
            "influxdb_image": IMAGE,
            "influxdb_host_port": port,
            "grafana_admin_password": ADMIN[1],
        })
        write_play(workdir, grafana)
        stack = TokenStack(workdir, grafana, f"http://127.0.0.1:{port}")
        stack.converge("-vvv")
        try:
            yield stack
        finally:
            remove_labelled(PREFIX)


def influx(stack: TokenStack, method: str, path: str, token: str, body: str | dict | None = None) -> tuple[int, str]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body.encode() if body is not None else None
    headers = {"Authorization": f"Token {token}"}
    if isinstance(body, dict):
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(stack.influx_url + path, data=data, method=method, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def query(stack: TokenStack, token: str, bucket: str) -> int:
    return influx(stack, "POST", "/api/v2/query?org=data2ai", token,
                  {"query": f'from(bucket: "{bucket}") |> range(start: -1h)', "type": "flux"})[0]


def write(stack: TokenStack, token: str, bucket: str) -> int:
    return influx(stack, "POST", f"/api/v2/write?org=data2ai&bucket={bucket}", token, "gsttest_ix value=1")[0]


def test_docker_inspect_shows_neither_the_operator_token_nor_the_setup_password(stack: TokenStack) -> None:
    inspect = docker("inspect", f"{PREFIX}influxdb", check=True).stdout
    for name in ("influxdb_admin_token", "influxdb_admin_password"):
        value = stack.secret(name)
        assert len(value) >= 32 and value not in inspect, f"{name} is in docker inspect"
    env = json.loads(inspect)[0]["Config"]["Env"]
    assert "DOCKER_INFLUXDB_INIT_PASSWORD_FILE=/run/secrets/influxdb/admin_password" in env
    assert "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE=/run/secrets/influxdb/admin_token" in env
    # The setup took them from the files: InfluxDB accepts the operator token the controller keeps.
    assert influx(stack, "GET", "/api/v2/buckets", stack.secret("influxdb_admin_token"))[0] == 200
    secrets = stack.workdir / "stack" / "influxdb" / "secrets"
    assert oct(secrets.stat().st_mode & 0o777) == "0o700" and secrets.stat().st_uid == 1000
    for name in ("admin_password", "admin_token"):
        assert oct((secrets / name).stat().st_mode & 0o777) == "0o400" and (secrets / name).stat().st_uid == 1000


def test_grafanas_influxdb_token_reads_the_training_bucket_only(stack: TokenStack) -> None:
    admin = stack.secret("influxdb_admin_token")
    token = stack.datasource_token()
    assert token and token != admin, "Grafana's datasource holds the operator token"
    assert token == stack.secret("influxdb_read_token")
    org_id = json.loads(influx(stack, "GET", "/api/v2/orgs?org=data2ai", admin)[1])["orgs"][0]["id"]
    status, _body = influx(stack, "POST", "/api/v2/buckets", admin, {"orgID": org_id, "name": "gsttest-ix-other"})
    assert status in (201, 422)
    assert query(stack, token, "training") == 200
    assert write(stack, token, "training") == 403
    assert query(stack, token, "gsttest-ix-other") == 404
    assert write(stack, token, "gsttest-ix-other") == 403
    assert influx(stack, "GET", "/api/v2/authorizations", token)[0] in (200, 403, 404)
    listed = json.loads(influx(stack, "GET", "/api/v2/authorizations", admin)[1])["authorizations"]
    reads = [a for a in listed if a["description"].startswith("data2ai.grafana_stack: Grafana, read-only")]
    assert len(reads) == 1 and reads[0]["permissions"][0]["action"] == "read"
    assert len(reads[0]["permissions"]) == 1


def test_a_second_converge_changes_nothing(stack: TokenStack) -> None:
    run = stack.converge()
    assert run.recap["changed"] == 0, run.failure_context()
    assert stack.datasource_token() == stack.secret("influxdb_read_token")


def test_the_vvv_output_shows_no_secret(stack: TokenStack) -> None:
    first = stack.runs[0].output
    assert "ESTABLISH LOCAL CONNECTION" in first, "the first converge did not run at -vvv"
    for name in ("influxdb_admin_token", "influxdb_admin_password", "influxdb_read_token"):
        assert stack.secret(name) not in first, f"{name} shows in the -vvv output"


def test_rotating_the_admin_token_replaces_the_read_token_and_grafana_follows(stack: TokenStack) -> None:
    old_admin, old_read = stack.secret("influxdb_admin_token"), stack.secret("influxdb_read_token")
    run = stack.converge("-e", "influxdb_admin_token_rotate=true")
    new_admin, new_read = stack.secret("influxdb_admin_token"), stack.secret("influxdb_read_token")
    assert new_admin != old_admin and new_read != old_read
    for secret in (old_admin, old_read, new_admin, new_read):
        assert secret not in run.output
    assert influx(stack, "GET", "/api/v2/buckets", old_admin)[0] == 401
    assert query(stack, old_read, "training") == 401
    assert influx(stack, "GET", "/api/v2/buckets", new_admin)[0] == 200
    assert query(stack, new_read, "training") == 200 and write(stack, new_read, "training") == 403
    assert stack.datasource_token() == new_read
    token_file = stack.workdir / "stack" / "influxdb" / "secrets" / "admin_token"
    assert token_file.read_text() == new_admin
    again = stack.converge()
    assert again.recap["changed"] == 0, again.failure_context()
