"""The demo workload (roles/demo) in a small stack: real Prometheus, and the Tempo, Loki, Promtail and InfluxDB TEST
DOUBLES. The role builds its image on the host FROM the local data2ai-test/demo-python:local (Python 3.13 with the
pinned packages already in it, so the build reaches no package index), and the test measures what reaches each
backend: Prometheus's series of the demo, spans of three services with parents across them in Tempo, log lines
holding trace ids in Loki, points in InfluxDB's training bucket.

What the doubles cannot produce is not checked here and not faked by them: Tempo's metrics generator (the
service-graphs and span-metrics processors, whose series the real Tempo remote-writes into Prometheus:
traces_service_graph_request_total, traces_spanmetrics_calls_total) runs only in the real Tempo.

Everything the test creates is named ``gsttest-dw-*`` and labelled ``data2ai.grafana_stack.test=1`` (the image it
builds is ``gsttest-dw-demo-workload:local``); cleanup removes exactly that, before and after, even when a test fails.
"""

from __future__ import annotations

import csv
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from stack_testlib import (
    ConvergedTwice,
    PlaybookRun,
    RolesStack,
    ansible_playbook,
    converged_twice,
    docker,
    free_port,
    free_subnet,
    health_wait_task,
    http_get,
    inspect_container,
    local_stack_vars,
    roles_play,
    wait_for,
    wait_healthy,
)

PREFIX = "gsttest-dw-"
DEMO_IMAGE = f"{PREFIX}demo-workload:local"
IMAGES = {
    "prometheus_image": "data2ai-test/prometheus:local",
    "loki_image": "data2ai-test/loki-double:local",
    "tempo_image": "data2ai-test/tempo-double:local",
    "promtail_image": "data2ai-test/promtail-double:local",
    "influxdb_image": "data2ai-test/influxdb-double:local",
    "tempo_volume_init_image": "data2ai-test/base-bookworm:local",
    "demo_base_image": "data2ai-test/demo-python:local",
}
ROLES = ["influxdb", "prometheus", "loki", "tempo", "promtail", "demo"]
PORTS = ("prometheus_host_port", "loki_host_port", "tempo_host_port", "tempo_otlp_grpc_host_port",
         "tempo_otlp_http_host_port", "influxdb_host_port")
SERVICES = {"frontend", "checkout", "inventory"}
DATA_TIMEOUT = 90.0

pytestmark = pytest.mark.docker


class DemoStack(RolesStack):
    """The demo workload and the backends it sends to, converged by the playbooks the test wrote."""

    def converge(self, *extra_vars: str, playbook: str = "play.yml") -> PlaybookRun:
        arguments = ["-i", str(self.workdir / "inventory.yml"), str(self.workdir / playbook)]
        for extra in extra_vars:
            arguments += ["-e", extra]
        run = ansible_playbook(*arguments, timeout=900)
        run.assert_ok()
        return run

    def get_json(self, port: str, path: str) -> dict:
        status, body = http_get(self.url(port, path), timeout=10)
        return json.loads(body) if status == 200 else {}


def write_demo_plays(workdir: Path, ports: dict[str, int]) -> None:
    host = {
        **local_stack_vars(workdir, PREFIX, free_subnet("10.225", range(0, 256))),
        **IMAGES,
        **ports,
        "demo_image": DEMO_IMAGE,
        "demo_requests_per_second": 5,
        "demo_influxdb_interval": 2,
        "prometheus_scrape_interval": "5s",
        "prometheus_scrape_timeout": "5s",
        "prometheus_alertmanager_targets": [],
    }
    (workdir / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": {"localhost": host}}}))
    play = roles_play("Converge the demo workload and the backends it sends to", list(IMAGES.values()), ROLES)
    play[0]["tasks"].append(health_wait_task(ROLES, 120))
    (workdir / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    # The demo role alone, for turning it off: it only removes its container then.
    (workdir / "demo-only.yml").write_text(yaml.safe_dump(
        roles_play("The demo role alone", [], ["demo"]), sort_keys=False))


@pytest.fixture(scope="module")
def converged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConvergedTwice]:
    workdir = tmp_path_factory.mktemp("demo-workload")
    stack = DemoStack(workdir, {port: free_port() for port in PORTS})
    docker("image", "rm", "-f", DEMO_IMAGE)
    try:
        yield from converged_twice(stack, PREFIX, list(IMAGES.values()), lambda: write_demo_plays(workdir, stack.ports))
    finally:
        docker("image", "rm", "-f", DEMO_IMAGE)


def test_a_second_converge_changes_nothing(converged: ConvergedTwice) -> None:
    assert converged.second.recap["changed"] == 0, converged.second.changed_tasks


def test_the_demo_runs_healthy_from_the_image_built_on_the_host_and_publishes_nothing(
        converged: ConvergedTwice) -> None:
    info = wait_healthy(f"{PREFIX}demo")
    assert info["Config"]["Image"] == DEMO_IMAGE
    assert not info["HostConfig"]["PortBindings"], info["HostConfig"]["PortBindings"]
    labels = json.loads(docker("image", "inspect", "--format", "{{ json .Config.Labels }}", DEMO_IMAGE).stdout)
    assert re.fullmatch(r"[0-9a-f]{64}", labels["data2ai.grafana_stack.demo.inputs"])


def flux_query(stack: DemoStack, token: str, source: str) -> tuple[int, str]:
    """POST /api/v2/query with a Flux source; (status, annotated CSV or error body)."""
    request = urllib.request.Request(
        stack.url("influxdb_host_port", "/api/v2/query?org=data2ai"), method="POST",
        data=json.dumps({"query": source, "type": "flux"}).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_write_token_is_a_file_only_the_app_reads_and_never_in_the_environment(converged: ConvergedTwice) -> None:
    token_file = converged.stack.workdir / "stack" / "demo" / "secrets" / "influxdb_token"
    token = token_file.read_text().strip()
    assert token and oct(token_file.stat().st_mode & 0o777) == "0o400" and token_file.stat().st_uid == 65534
    assert token not in json.dumps(inspect_container(f"{PREFIX}demo"))
    # Write-only: the token cannot read the bucket back.
    status, body = flux_query(converged.stack, token, 'from(bucket: "training") |> range(start: -1h)')
    assert status == 404 and "could not find bucket" in body, (status, body)


def test_prometheus_scrapes_the_demo_series_of_the_three_services(converged: ConvergedTwice) -> None:
    stack = converged.stack
    query = urllib.parse.quote('sum by (service) (demo_requests_total{job="demo"})')

    def services() -> set[str]:
        answer = stack.get_json("prometheus_host_port", f"/api/v1/query?query={query}")
        result = answer.get("data", {}).get("result", [])
        return {series["metric"].get("service") for series in result}

    wait_for("the demo's series of the three services in Prometheus", lambda: services() == SERVICES, DATA_TIMEOUT)


def _trace_ids(stack: DemoStack) -> list[str]:
    found = stack.get_json("tempo_host_port", "/api/search?tags=service.name%3Dfrontend&limit=20")
    return [trace["traceID"] for trace in found.get("traces", [])]


def test_tempo_receives_traces_whose_spans_cross_the_services_parent_to_child(converged: ConvergedTwice) -> None:
    stack = converged.stack
    wait_for("demo traces in Tempo", lambda: bool(_trace_ids(stack)), DATA_TIMEOUT)

    def crossing() -> set[tuple[str, str]]:
        """(parent service, child service) pairs of the spans of the demo's traces."""
        pairs: set[tuple[str, str]] = set()
        for trace_id in _trace_ids(stack):
            spans = {}
            for batch in stack.get_json("tempo_host_port", f"/api/traces/{trace_id}").get("batches", []):
                attributes = {a["key"]: a["value"].get("stringValue") for a in batch["resource"]["attributes"]}
                for scope in batch["scopeSpans"]:
                    for span in scope["spans"]:
                        spans[span["spanId"]] = (attributes["service.name"], span.get("parentSpanId"))
            pairs |= {(spans[parent][0], service) for service, parent in spans.values()
                      if parent in spans and spans[parent][0] != service}
        return pairs

    wait_for("spans of frontend -> checkout -> inventory with parents across services",
             lambda: {("frontend", "checkout"), ("checkout", "inventory")} <= crossing(), DATA_TIMEOUT)


def test_loki_receives_log_lines_whose_trace_ids_are_traces_in_tempo(converged: ConvergedTwice) -> None:
    """The lines match the Loki datasource's derived field (traceID=(\\w+)), and the id it takes is a trace."""
    stack = converged.stack
    query = urllib.parse.quote(f'{{container="{PREFIX}demo"}} |= "traceID="')
    derived_field = re.compile(r"traceID=(\w+)")

    def trace_ids() -> list[str]:
        found = stack.get_json("loki_host_port", f"/loki/api/v1/query_range?query={query}&limit=50")
        lines = [line for stream in found.get("data", {}).get("result", []) for _ts, line in stream["values"]]
        return [match.group(1) for line in lines if (match := derived_field.search(line))]

    wait_for("demo log lines with trace ids in Loki", lambda: bool(trace_ids()), DATA_TIMEOUT)
    wait_for("a logged trace id found in Tempo", lambda: any(
        http_get(stack.url("tempo_host_port", f"/api/traces/{trace_id}"))[0] == 200 for trace_id in trace_ids()),
        DATA_TIMEOUT)


def test_influxdb_training_bucket_receives_the_demo_points(converged: ConvergedTwice) -> None:
    stack = converged.stack
    admin_token = (stack.workdir / "credentials" / "localhost" / "influxdb_admin_token").read_text().strip()
    source = ('from(bucket: "training") |> range(start: -1h) '
              '|> filter(fn: (r) => r._measurement == "demo_requests" and r._field == "count")')

    def services() -> set[str]:
        status, body = flux_query(stack, admin_token, source)
        rows = list(csv.reader(line for line in body.splitlines() if line and not line.startswith("#")))
        if status != 200 or not rows:
            return set()
        column = rows[0].index("service")
        return {row[column] for row in rows[1:] if len(row) > column}

    wait_for("the demo's points of the three services in the training bucket",
             lambda: services() == SERVICES, DATA_TIMEOUT)


def _inventory_errors(stack: DemoStack) -> float:
    query = urllib.parse.quote('sum(demo_requests_total{job="demo", service="inventory", code="500"}) or vector(0)')
    result = stack.get_json("prometheus_host_port", f"/api/v1/query?query={query}").get("data", {}).get("result", [])
    return float(result[0]["value"][1]) if result else -1.0


def test_the_errors_scenario_fails_requests_and_none_ends_it_without_a_restart(converged: ConvergedTwice) -> None:
    """playbooks/scenario.yml writes the scenario file; the running app reads it again (the alert this scenario
    fires, through Alertmanager to a webhook: tests/integration/test_scenario_alerts.py)."""
    stack = converged.stack
    started = inspect_container(f"{PREFIX}demo")["State"]["StartedAt"]
    playbook = str(Path(__file__).resolve().parents[2] / "playbooks" / "scenario.yml")
    ansible_playbook("-i", str(stack.workdir / "inventory.yml"), playbook, "-e", "scenario=errors").assert_ok()
    wait_for("inventory answering 500 in Prometheus", lambda: _inventory_errors(stack) > 0, DATA_TIMEOUT)
    ansible_playbook("-i", str(stack.workdir / "inventory.yml"), playbook, "-e", "scenario=none").assert_ok()
    # Past one scrape (5 s) for the requests in flight, then two more scrapes with the same count: no more 500s.
    time.sleep(6)
    before = _inventory_errors(stack)
    time.sleep(11)
    assert _inventory_errors(stack) == before > 0
    assert inspect_container(f"{PREFIX}demo")["State"]["StartedAt"] == started
    refused = ansible_playbook("-i", str(stack.workdir / "inventory.yml"), playbook, "-e", "scenario=meltdown")
    assert refused.returncode != 0 and "one of: none, errors, latency, cpu" in refused.output


def test_demo_enabled_false_removes_the_container(converged: ConvergedTwice) -> None:
    """Runs last: it leaves the stack without the demo."""
    run = converged.stack.converge("demo_enabled=false", playbook="demo-only.yml")
    assert "remove the demo workload's container when off" in run.output
    assert docker("container", "inspect", f"{PREFIX}demo").returncode != 0
