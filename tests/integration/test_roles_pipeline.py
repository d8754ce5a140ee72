"""Converge the loki, tempo, promtail and influxdb roles against their TEST DOUBLES, and check what runs.

The playbook is written to a temporary directory and run with ``ansible-playbook`` from the repository root,
so ``data2ai.grafana_stack.<role>`` resolves to this checkout. It converges the four roles (after docker_host,
which creates the test network) twice, each run ending with site.yml's layer wait (service_health) over the
roles' <role>_health_check: the second run must change nothing. The tests then read the live
configuration back from the doubles (which parse the same files as the real components), and finally change a
Loki setting to prove that the role restarts Loki and the new value goes live.

Everything the test creates is named ``gsttest-rp-*`` and labelled ``data2ai.grafana_stack.test=1``. Ports are
published on 127.0.0.1 only, on free ports. Cleanup removes exactly the ``gsttest-rp-`` containers, volumes and
network, before the run (leftovers of an aborted run) and after it, even when a test fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from stack_testlib import (
    TEST_LABEL_KEY,
    ConvergedTwice,
    PlaybookRun,
    RolesStack,
    ansible_playbook,
    converged_twice,
    docker,
    free_port,
    free_subnet,
    http_get,
    inspect_container,
    local_stack_vars,
    roles_play,
    wait_for,
    wait_healthy,
    write_local_inventory,
)

PREFIX = "gsttest-rp-"
NETWORK = f"{PREFIX}net"
ROLES = ("influxdb", "loki", "tempo", "promtail")
DOUBLE_IMAGES = {
    "loki": "data2ai-test/loki-double:local",
    "tempo": "data2ai-test/tempo-double:local",
    "promtail": "data2ai-test/promtail-double:local",
    "influxdb": "data2ai-test/influxdb-double:local",
}
# Any local image with sh, stat and chown can hand Tempo's volume to uid 10001, as busybox does upstream.
VOLUME_INIT_IMAGE = "data2ai-test/base-bookworm:local"
PLAYBOOK_TIMEOUT = 600
READY_TIMEOUT = 90.0

pytestmark = pytest.mark.docker


# --------------------------------------------------------------------------
# Small helpers: docker, HTTP, durations, waiting
# --------------------------------------------------------------------------


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_seconds(text: Any) -> float:
    """A Go or Prometheus duration in seconds: "744h", "31d" and "744h0m0s" are all 2678400."""
    value = str(text).strip()
    parts = list(_DURATION_PART.finditer(value))
    if not parts or "".join(part.group(0) for part in parts) != value:
        raise AssertionError(f"not a duration: {text!r}")
    return sum(float(part.group(1)) * _UNIT_SECONDS[part.group(2)] for part in parts)


def dig(document: Any, dotted: str) -> Any:
    node = document
    for key in dotted.split("."):
        assert isinstance(node, dict) and key in node, f"{dotted} missing (stopped at {key!r})"
        node = node[key]
    return node


# --------------------------------------------------------------------------
# The playbook run
# --------------------------------------------------------------------------


class PipelineStack(RolesStack):
    """The four pipeline roles, converged by converge.yml."""

    @property
    def credentials_dir(self) -> Path:
        return self.workdir / "credentials" / "localhost"

    def converge(self, *arguments: str) -> PlaybookRun:
        """Run the playbook; each argument is an extra var (key=value) or an ansible-playbook option (--check)."""
        command = ["-i", str(self.workdir / "inventory.yml"), str(self.workdir / "converge.yml")]
        for argument in arguments:
            command += [argument] if argument.startswith("--") else ["-e", argument]
        return ansible_playbook(*command, timeout=PLAYBOOK_TIMEOUT)


def pipeline_host_vars(workdir: Path, ports: dict[str, int]) -> dict[str, Any]:
    return {
        **local_stack_vars(workdir, PREFIX, free_subnet("10.213", range(200, 256))),
        "stack_bind_address": "127.0.0.1",
        **{f"{role}_image": image for role, image in DOUBLE_IMAGES.items()},
        "tempo_volume_init_image": VOLUME_INIT_IMAGE,
        "loki_host_port": ports["loki"],
        "tempo_host_port": ports["tempo"],
        "tempo_otlp_grpc_host_port": ports["tempo_otlp_grpc"],
        "tempo_otlp_http_host_port": ports["tempo_otlp_http"],
        "influxdb_host_port": ports["influxdb"],
    }


def write_pipeline_playbook(workdir: Path) -> None:
    play = roles_play("Converge the loki, tempo, promtail and influxdb roles against their test doubles",
                      [*DOUBLE_IMAGES.values(), VOLUME_INIT_IMAGE], list(ROLES))
    play[0]["tasks"].append({
        "name": "Wait for the four services, as site.yml's layer wait does",
        "data2ai.grafana_stack.service_health": {
            "checks": "{{ [" + ", ".join(f"{role}_health_check" for role in ROLES) + "] }}",
            "timeout": READY_TIMEOUT,
        },
    })
    (workdir / "converge.yml").write_text(yaml.safe_dump(play, sort_keys=False))


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def converged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConvergedTwice]:
    workdir = tmp_path_factory.mktemp("roles_pipeline")
    ports = {name: free_port() for name in ("loki", "tempo", "tempo_otlp_grpc", "tempo_otlp_http", "influxdb")}
    stack = PipelineStack(workdir, ports)

    def prepare() -> None:
        write_local_inventory(workdir, pipeline_host_vars(workdir, ports))
        write_pipeline_playbook(workdir)

    yield from converged_twice(stack, PREFIX, [*DOUBLE_IMAGES.values(), VOLUME_INIT_IMAGE], prepare)


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


def test_first_converge_creates_the_four_containers_on_the_test_network(converged: ConvergedTwice) -> None:
    assert converged.first.recap["changed"] > 0
    for role in ROLES:
        info = inspect_container(f"{PREFIX}{role}")
        assert info["State"]["Running"], f"{role} is not running"
        assert info["Config"]["Labels"].get(TEST_LABEL_KEY) == "1"
        aliases = info["NetworkSettings"]["Networks"][NETWORK]["Aliases"] or []
        assert role in aliases, f"{role} lacks its network alias: {aliases}"


def test_second_converge_changes_nothing(converged: ConvergedTwice) -> None:
    second = converged.second
    assert second.recap["changed"] == 0, f"changed on the second run: {second.changed_tasks}\n{second.output[-6000:]}"


def test_ports_are_published_on_127_0_0_1_only_and_promtail_not_at_all(converged: ConvergedTwice) -> None:
    expected = {
        "loki": {"3100/tcp": converged.stack.ports["loki"]},
        "tempo": {
            "3200/tcp": converged.stack.ports["tempo"],
            "4317/tcp": converged.stack.ports["tempo_otlp_grpc"],
            "4318/tcp": converged.stack.ports["tempo_otlp_http"],
        },
        "influxdb": {"8086/tcp": converged.stack.ports["influxdb"]},
        "promtail": {},
    }
    for role, ports in expected.items():
        bindings = inspect_container(f"{PREFIX}{role}")["HostConfig"]["PortBindings"] or {}
        published = {
            port: [(b["HostIp"], int(b["HostPort"])) for b in binds] for port, binds in bindings.items() if binds
        }
        assert published == {port: [("127.0.0.1", host)] for port, host in ports.items()}, role


def test_loki_is_ready_and_runs_744h_retention_with_a_delete_request_store(converged: ConvergedTwice) -> None:
    stack = converged.stack
    status, body = http_get(stack.url("loki", "/ready"))
    assert (status, body.strip()) == (200, "ready")
    status, body = http_get(stack.url("loki", "/config"))
    assert status == 200
    config = yaml.safe_load(body)
    assert duration_seconds(dig(config, "limits_config.retention_period")) == 744 * 3600
    assert dig(config, "compactor.retention_enabled") is True
    assert dig(config, "compactor.delete_request_store") == "filesystem"
    period = dig(config, "schema_config.configs")[-1]
    assert (period["store"], period["schema"], period["object_store"]) == ("tsdb", "v13", "filesystem")
    assert duration_seconds(period["index"]["period"]) == 24 * 3600


def test_tempo_receivers_bind_all_addresses_and_blocks_are_kept_720h(converged: ConvergedTwice) -> None:
    stack = converged.stack
    assert http_get(stack.url("tempo", "/ready"))[0] == 200
    status, body = http_get(stack.url("tempo", "/status/config"))
    assert status == 200
    config = yaml.safe_load(body)
    receivers = dig(config, "distributor.receivers")
    assert "opencensus" not in receivers
    endpoints = {
        "otlp.protocols.grpc.endpoint": "0.0.0.0:4317",
        "otlp.protocols.http.endpoint": "0.0.0.0:4318",
        "jaeger.protocols.thrift_http.endpoint": "0.0.0.0:14268",
        "jaeger.protocols.grpc.endpoint": "0.0.0.0:14250",
        "jaeger.protocols.thrift_compact.endpoint": "0.0.0.0:6831",
        "zipkin.endpoint": "0.0.0.0:9411",
    }
    assert {path: dig(receivers, path) for path in endpoints} == endpoints
    # The Tempo double image mimics Tempo 3.0.3 by default, so the role renders the 3.x format.
    assert duration_seconds(dig(config, "backend_worker.compaction.block_retention")) == 720 * 3600
    assert not {"compactor", "ingester", "metrics_generator_client"} & set(config), "2.10 blocks in a 3.x config"


def test_tempo_data_volume_belongs_to_uid_10001(converged: ConvergedTwice) -> None:
    owner = docker(
        "run",
        "--rm",
        "--network",
        "none",
        "--label",
        f"{TEST_LABEL_KEY}=1",
        "-v",
        f"{PREFIX}tempo_data:/data:ro",
        VOLUME_INIT_IMAGE,
        "stat",
        "-c",
        "%u:%g",
        "/data",
        check=True,
    ).stdout.strip()
    assert owner == "10001:10001"


def test_influxdb_is_set_up_with_the_training_bucket_kept_30d(converged: ConvergedTwice) -> None:
    stack = converged.stack
    status, body = http_get(stack.url("influxdb", "/health"))
    assert status == 200 and json.loads(body)["status"] == "pass"
    token = (stack.credentials_dir / "influxdb_admin_token").read_text().split()[0]
    status, body = http_get(
        stack.url("influxdb", "/api/v2/buckets?name=training"), headers={"Authorization": f"Token {token}"}
    )
    assert status == 200, body
    buckets = json.loads(body)["buckets"]
    assert [bucket["name"] for bucket in buckets] == ["training"]
    rules = [rule for rule in buckets[0]["retentionRules"] if rule.get("type", "expire") == "expire"]
    assert [rule["everySeconds"] for rule in rules] == [30 * 86400]
    status, body = http_get(stack.url("influxdb", "/api/v2/orgs"), headers={"Authorization": f"Token {token}"})
    assert status == 200 and "data2ai" in [org["name"] for org in json.loads(body)["orgs"]]


def test_influxdb_credentials_are_generated_on_the_controller_with_mode_0600(converged: ConvergedTwice) -> None:
    directory = converged.stack.credentials_dir
    assert directory.stat().st_mode & 0o777 == 0o700
    for name in ("influxdb_admin_password", "influxdb_admin_token"):
        path = directory / name
        assert path.stat().st_mode & 0o777 == 0o600, name
        secret = path.read_text().split()[0]
        assert len(secret) >= 32
        assert secret not in converged.first.output and secret not in converged.second.output, f"{name} was logged"


def test_influxdb_healthcheck_runs_curl_inside_the_container(converged: ConvergedTwice) -> None:
    health = inspect_container(f"{PREFIX}influxdb")["State"]["Health"]
    assert health["Status"] == "healthy"
    assert inspect_container(f"{PREFIX}influxdb")["Config"]["Healthcheck"]["Test"][:2] == ["CMD", "curl"]


def test_promtail_is_healthy_and_reads_docker_through_the_socket(converged: ConvergedTwice) -> None:
    info = wait_healthy(f"{PREFIX}promtail")
    mounts = {mount["Destination"]: mount for mount in info["Mounts"]}
    for target in ("/var/log", "/var/lib/docker/containers", "/var/run/docker.sock", "/etc/promtail/config.yml"):
        assert mounts[target]["RW"] is False, f"{target} is writable"
    assert mounts["/var/lib/promtail"]["Name"] == f"{PREFIX}promtail_positions"


def test_promtail_ships_container_logs_to_loki_labelled_by_container(converged: ConvergedTwice) -> None:
    stack = converged.stack

    def label_values(label: str) -> list[str]:
        status, body = http_get(stack.url("loki", f"/loki/api/v1/label/{label}/values"))
        return json.loads(body).get("data") or [] if status == 200 else []

    # Docker names containers "/gsttest-rp-influxdb"; the relabelling strips the slash.
    wait_for("InfluxDB's logs in Loki", lambda: f"{PREFIX}influxdb" in label_values("container"))
    assert not [name for name in label_values("container") if name.startswith("/")]
    expected_jobs = {"docker", "varlogs"} if list(Path("/var/log").glob("*.log")) else {"docker"}
    wait_for(f"jobs {sorted(expected_jobs)} in Loki", lambda: expected_jobs <= set(label_values("job")))


def test_check_mode_on_the_converged_stack_predicts_no_change(converged: ConvergedTwice) -> None:
    run = converged.stack.converge("--check")
    run.assert_ok()
    assert run.recap["changed"] == 0, f"check mode predicts changes: {run.changed_tasks}"


def test_changed_loki_setting_restarts_loki_and_the_new_value_goes_live(converged: ConvergedTwice) -> None:
    """Runs last: it leaves Loki with a different retention period."""
    stack = converged.stack
    before = inspect_container(f"{PREFIX}loki")
    run = stack.converge("loki_retention_period=768h")
    run.assert_ok()
    assert "RUNNING HANDLER [data2ai.grafana_stack.loki : Restart loki]" in run.output, run.output[-6000:]
    after = inspect_container(f"{PREFIX}loki")
    assert after["Id"] == before["Id"], "Loki was recreated, not restarted"
    assert after["State"]["StartedAt"] != before["State"]["StartedAt"]

    def retention_is_live() -> bool:
        status, body = http_get(stack.url("loki", "/config"))
        return status == 200 and duration_seconds(dig(yaml.safe_load(body), "limits_config.retention_period")) == (
            768 * 3600
        )

    wait_for("Loki serving retention_period 768h", retention_is_live)
