"""stack_log_collector: switch promtail -> alloy -> promtail on one host, and refuse a bad config.alloy before the
running Alloy is touched (issue 16).

A small playbook converges docker_host, loki, promtail and alloy (site.yml's order and its layer wait over the
chosen collector) against the TEST DOUBLES (data2ai-test/{loki,promtail,alloy}-double:local, not the real
components). One module fixture runs the whole sequence on one host, and the tests read what each step left:

1. promtail (twice: the second run changes nothing); a line pushed to Loki marks Loki's data;
2. alloy (twice), then a container's line must reach Loki through Alloy with the labels Promtail gives;
3. alloy with an unknown attribute in alloy_extra_config: the run fails at the template's `alloy validate`,
   the live config.alloy and the running container are untouched;
4. alloy with another log level: the handler reloads the running Alloy through /-/reload, no restart;
5. promtail again (twice).

Everything is named ``gsttest-al-*``, labelled ``data2ai.grafana_stack.test=1``, on a free 10.220.x.0/24 subnet;
cleanup removes exactly that, before and after.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from stack_testlib import TEST_LABEL_KEY, PlaybookRun, ansible_playbook, docker, free_port, free_subnet, wait_healthy

PREFIX = "gsttest-al-"
NETWORK = f"{PREFIX}net"
IMAGES = {
    "loki": "data2ai-test/loki-double:local",
    "promtail": "data2ai-test/promtail-double:local",
    "alloy": "data2ai-test/alloy-double:local",
}
WRITER_IMAGE = "data2ai-test/base-bookworm:local"
PLAYBOOK_TIMEOUT = 600

pytestmark = pytest.mark.docker


def container(name: str) -> dict[str, Any] | None:
    proc = docker("inspect", "--type", "container", name, check=False)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def volume_exists(name: str) -> bool:
    return docker("volume", "inspect", name, check=False).returncode == 0


def remove_test_resources() -> None:
    names = docker("ps", "-a", "--filter", f"name=^/?{PREFIX}", "--format", "{{.Names}}", check=True).stdout.split()
    if names := [n for n in names if n.startswith(PREFIX)]:
        docker("rm", "-f", "-v", *names, check=False)
    volumes = [n for n in docker("volume", "ls", "-q", "--filter", f"name={PREFIX}", check=True).stdout.split()
               if n.startswith(PREFIX)]
    if volumes:
        docker("volume", "rm", "-f", *volumes, check=False)
    if docker("network", "inspect", NETWORK, check=False).returncode == 0:
        docker("network", "rm", NETWORK, check=False)


def loki_lines(port: int, logql: str) -> list[tuple[dict[str, str], str]]:
    query = urllib.parse.urlencode({"query": logql, "limit": "100", "since": "1h"})
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/loki/api/v1/query_range?{query}", timeout=5) as resp:
            data = json.loads(resp.read())
    except (urllib.error.URLError, OSError):
        return []
    return [(stream["stream"], value[1]) for stream in data["data"]["result"] for value in stream["values"]]


def push_to_loki(port: int, labels: dict[str, str], line: str) -> None:
    body = json.dumps({"streams": [{"stream": labels, "values": [[str(time.time_ns()), line]]}]}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/loki/api/v1/push", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 204


def write_files(workdir: Path, loki_port: int) -> None:
    host_vars = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "stack_prefix": PREFIX,
        "stack_network": NETWORK,
        "stack_subnet": free_subnet("10.220"),
        "stack_base_dir": str(workdir / "stack"),
        "stack_labels": {TEST_LABEL_KEY: "1"},
        "stack_bind_address": "127.0.0.1",
        "stack_credentials_dir": str(workdir / "credentials"),
        **{f"{role}_image": image for role, image in IMAGES.items()},
        "loki_host_port": loki_port,
    }
    (workdir / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": {"localhost": host_vars}}}))
    play = {
        "name": "Converge Loki and the chosen log collector, as site.yml does",
        "hosts": "localhost",
        "gather_facts": True,
        "gather_subset": ["min"],
        "tasks": [
            {"name": "Preflight", "ansible.builtin.import_role": {"name": "data2ai.grafana_stack.preflight"},
             # only the roles this playbook imports: their variables are the ones defined here
             "vars": {"preflight_roles": ["loki", "promtail", "alloy"], "preflight_prometheus_durations": [],
                      "preflight_go_durations": [], "preflight_influxdb_durations": []}},
            {"name": "Docker engine, the images and the test network",
             "ansible.builtin.import_role": {"name": "data2ai.grafana_stack.docker_host"},
             "vars": {"docker_host_required_images": [*IMAGES.values()], "docker_host_pull_missing": False}},
            {"name": "Loki", "ansible.builtin.import_role": {"name": "data2ai.grafana_stack.loki"}},
            {"name": "Promtail", "ansible.builtin.import_role": {"name": "data2ai.grafana_stack.promtail"}},
            {"name": "Grafana Alloy", "ansible.builtin.import_role": {"name": "data2ai.grafana_stack.alloy"}},
            {"name": "Apply the layer's changed configurations before its wait",
             "ansible.builtin.meta": "flush_handlers"},
            {"name": "Wait for Loki and the log collector, as site.yml's layer wait does",
             "data2ai.grafana_stack.service_health": {
                 "checks": "{{ [loki_health_check, (alloy_enabled | bool)"
                           " | ternary(alloy_health_check, promtail_health_check)] }}",
                 "timeout": 90}},
        ],
    }
    (workdir / "converge.yml").write_text(yaml.safe_dump([play], sort_keys=False))


@dataclass
class Switch:
    workdir: Path
    loki_port: int
    runs: dict[str, PlaybookRun] = field(default_factory=dict)
    seen: dict[str, Any] = field(default_factory=dict)

    def converge(self, step: str, collector: str, *extra: str) -> PlaybookRun:
        args = ["-i", str(self.workdir / "inventory.yml"), str(self.workdir / "converge.yml"),
                "-e", f"stack_log_collector={collector}"]
        for item in extra:
            args += ["-e", item]
        self.runs[step] = ansible_playbook(*args, timeout=PLAYBOOK_TIMEOUT)
        return self.runs[step]

    def snapshot(self, step: str) -> None:
        self.seen[step] = {
            "loki": container(f"{PREFIX}loki"),
            "promtail": container(f"{PREFIX}promtail"),
            "alloy": container(f"{PREFIX}alloy"),
            "volumes": {v: volume_exists(f"{PREFIX}{v}") for v in ("loki_data", "promtail_positions", "alloy_data")},
            "marker": loki_lines(self.loki_port, '{job="gsttest-al-marker"}'),
        }


def wait_for_writer_line(loki_port: int, name: str, text: str) -> list[tuple[dict[str, str], str]]:
    docker("run", "-d", "--name", name, "--label", f"{TEST_LABEL_KEY}=1", WRITER_IMAGE, "sh", "-c",
           f"echo {text}; sleep 60", check=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        found = [(labels, line) for labels, line in loki_lines(loki_port, f'{{container="{name}"}}') if line == text]
        if found:
            return found
        time.sleep(1)
    return []


@pytest.fixture(scope="module")
def switch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Switch]:
    missing = [i for i in (*IMAGES.values(), WRITER_IMAGE) if docker("image", "inspect", i, check=False).returncode]
    if missing:
        pytest.fail(f"missing test images {', '.join(missing)}: bash tests/images/build.sh --only alloy-double ...")
    workdir = tmp_path_factory.mktemp("alloy_collector")
    state = Switch(workdir, free_port())
    remove_test_resources()
    try:
        write_files(workdir, state.loki_port)
        state.converge("promtail", "promtail").assert_ok()
        state.converge("promtail again", "promtail")
        push_to_loki(state.loki_port, {"job": "gsttest-al-marker"}, "written before the switch")
        state.snapshot("promtail")

        state.converge("alloy", "alloy").assert_ok()
        state.converge("alloy again", "alloy")
        # The converge waits for /-/ready over the stack network; Docker's own healthcheck (what `docker ps` shows)
        # asks the same endpoint from inside, after its interval: it must come to healthy too.
        wait_healthy(f"{PREFIX}alloy")
        state.snapshot("alloy")
        state.seen["alloy line"] = wait_for_writer_line(state.loki_port, f"{PREFIX}writer-a", "shipped-by-alloy")
        config = workdir / "stack" / "alloy" / "config.alloy"
        state.seen["config before"] = config.read_text()
        bad = 'loki.source.file "more" {\n  targets = []\n  forward_to = [loki.write.loki.receiver]\n  colour = "x"\n}'
        state.converge("alloy bad config", "alloy", json.dumps({"alloy_extra_config": bad}))
        state.seen["config after"] = config.read_text()
        state.snapshot("alloy bad config")
        state.converge("alloy reload", "alloy", "alloy_log_level=debug")
        state.seen["config reloaded"] = config.read_text()
        state.snapshot("alloy reload")
        logs = docker("logs", f"{PREFIX}alloy", check=True)
        state.seen["alloy log"] = logs.stdout + logs.stderr

        state.converge("back to promtail", "promtail").assert_ok()
        state.converge("back to promtail again", "promtail")
        state.snapshot("back to promtail")
        state.seen["promtail line"] = wait_for_writer_line(state.loki_port, f"{PREFIX}writer-p", "shipped-by-promtail")
        yield state
    finally:
        remove_test_resources()


def test_alloy_replaces_promtail_with_the_same_labels_and_loki_keeps_its_data(switch: Switch) -> None:
    before, after = switch.seen["promtail"], switch.seen["alloy"]
    assert before["promtail"]["State"]["Running"] and before["alloy"] is None
    assert after["alloy"]["State"]["Running"], "Alloy does not run"
    assert after["alloy"]["State"]["Health"]["Status"] == "healthy"
    assert after["promtail"] is None, "the Promtail container is still there"
    assert after["volumes"]["promtail_positions"], "Promtail's volume was removed"
    assert after["loki"]["Id"] == before["loki"]["Id"], "Loki was recreated"
    assert [line for _labels, line in after["marker"]] == ["written before the switch"]
    labels, _line = switch.seen["alloy line"][0]
    assert labels == {"job": "docker", "container": f"{PREFIX}writer-a", "stream": "stdout"}


def test_each_switch_is_done_in_one_run(switch: Switch) -> None:
    for step in ("promtail again", "alloy again", "back to promtail again"):
        run = switch.runs[step]
        run.assert_ok()
        assert run.recap["changed"] == 0, f"{step}: {run.changed_tasks}\n{run.output[-4000:]}"


def test_a_config_with_an_unknown_attribute_is_refused_before_alloy_is_touched(switch: Switch) -> None:
    run = switch.runs["alloy bad config"]
    assert run.returncode != 0
    assert 'unrecognized attribute name "colour"' in run.output
    # The one container task (data2ai.grafana_stack.stack_container) renders config.alloy, checked by alloy fmt,
    # before anything else of Alloy's: it fails there.
    assert "Run Alloy with its checked config.alloy" in run.failure_context()
    assert switch.seen["config after"] == switch.seen["config before"], "the live config.alloy was replaced"
    before, after = switch.seen["alloy"]["alloy"], switch.seen["alloy bad config"]["alloy"]
    assert (after["Id"], after["State"]["StartedAt"]) == (before["Id"], before["State"]["StartedAt"])
    assert "RUNNING HANDLER [data2ai.grafana_stack.alloy : Reload alloy]" not in run.output


def test_a_changed_config_is_reloaded_through_the_reload_endpoint_without_a_restart(switch: Switch) -> None:
    run = switch.runs["alloy reload"]
    run.assert_ok()
    assert "RUNNING HANDLER [data2ai.grafana_stack.alloy : Reload alloy]" in run.changed_tasks
    assert 'level  = "debug"' in switch.seen["config reloaded"]
    before, after = switch.seen["alloy"]["alloy"], switch.seen["alloy reload"]["alloy"]
    assert (after["Id"], after["State"]["StartedAt"]) == (before["Id"], before["State"]["StartedAt"])
    assert 'msg="config reloaded"' in switch.seen["alloy log"]


def test_switching_back_to_promtail_removes_alloy_and_keeps_loki(switch: Switch) -> None:
    before, back = switch.seen["alloy"], switch.seen["back to promtail"]
    assert back["promtail"]["State"]["Running"] and back["alloy"] is None
    assert back["volumes"] == {"loki_data": True, "promtail_positions": True, "alloy_data": True}
    assert back["loki"]["Id"] == before["loki"]["Id"]
    assert [line for _labels, line in back["marker"]] == ["written before the switch"]
    labels, _line = switch.seen["promtail line"][0]
    assert labels["container"] == f"{PREFIX}writer-p" and labels["job"] == "docker"


def test_preflight_refuses_another_log_collector(switch: Switch) -> None:
    run = switch.converge("fluentd", "fluentd")
    assert run.returncode != 0
    assert "stack_log_collector: 'fluentd' is not a log collector of the stack; choose promtail or alloy" in run.output
