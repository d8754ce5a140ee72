"""Converge the node_exporter, cadvisor, alertmanager and prometheus roles, and check what runs.

Prometheus, Alertmanager and Node Exporter are the real servers of the local test images; cAdvisor is its TEST
DOUBLE (data2ai-test/cadvisor-double:local), run unprivileged because --privileged fails on this host. The
playbook is written to a temporary directory and run with ``ansible-playbook`` from the repository root, so
``data2ai.grafana_stack.<role>`` resolves to this checkout. It converges the four roles (after docker_host, which
creates the test network) twice: the second run must change nothing. The tests then read the running stack back
over ports published on 127.0.0.1 and over the test network, prove that changed rules, scrape jobs and routes are
reloaded without a restart (Prometheus by SIGHUP, its lifecycle API off), that a configuration Prometheus rejects on
reload fails the play, and that a broken rule or a route to a missing receiver stops the play at validation while
the running container is left exactly as it was.

Everything the test creates is named ``gsttest-rm-*`` and labelled ``data2ai.grafana_stack.test=1``. Ports are
published on 127.0.0.1 only, on free ports. Cleanup removes exactly the ``gsttest-rm-`` containers, volumes and
network, before the run (leftovers of an aborted run) and after it, even when a test fails.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from stack_testlib import (
    LOCAL_TEST_VARS,
    TEST_LABEL_KEY,
    ConvergedTwice,
    PlaybookRun,
    RolesStack,
    ansible_playbook,
    converged_twice,
    docker,
    free_port,
    free_subnet,
    get_json,
    http_get,
    http_request,
    inspect_container,
    roles_play,
    wait_for,
    write_local_inventory,
)

PREFIX = "gsttest-rm-"
NETWORK = f"{PREFIX}net"
ROLES = ("node_exporter", "cadvisor", "alertmanager", "prometheus")
IMAGES = {
    "prometheus": "data2ai-test/prometheus:local",
    "alertmanager": "data2ai-test/alertmanager:local",
    "node_exporter": "data2ai-test/node-exporter:local",
    "cadvisor": "data2ai-test/cadvisor-double:local",
}
# Receivers pointed at the containers' own loopback: configured and validated, never reaching anything.
DUMMY_SECRETS = {
    "alertmanager_webhook_url": "http://127.0.0.1:9/hook?token=gsttest-rm-webhook-secret",
    "alertmanager_slack_api_url": "http://127.0.0.1:9/gsttest-rm-slack-secret",
    "alertmanager_email_auth_password": "gsttest-rm-smtp-secret",
}
SECRET_FILES = {
    "alertmanager_webhook_url": "webhook_url",
    "alertmanager_slack_api_url": "slack_api_url",
    "alertmanager_email_auth_password": "smtp_auth_password",
}
NOBODY_UID = 65534
PLAYBOOK_TIMEOUT = 600
READY_TIMEOUT = 90.0

pytestmark = pytest.mark.docker


# --------------------------------------------------------------------------
# The playbook run
# --------------------------------------------------------------------------


class MetricsStack(RolesStack):
    """The four metrics roles, converged by converge.yml."""

    @property
    def base_dir(self) -> Path:
        return self.workdir / "stack"

    def converge(self, extra_vars: dict[str, Any] | None = None, playbook: str = "converge.yml",
                 options: tuple[str, ...] = ()) -> PlaybookRun:
        arguments = ["-i", str(self.workdir / "inventory.yml"), str(self.workdir / playbook), *options]
        if extra_vars:
            arguments += ["-e", json.dumps(extra_vars)]
        # The roles call `docker`; make it Debian's client, as everywhere in these tests.
        return ansible_playbook(*arguments, timeout=PLAYBOOK_TIMEOUT,
                                env={"PATH": f"/usr/bin:{os.environ.get('PATH', '')}"})

    def health_checks(self) -> list[dict[str, Any]]:
        """The roles' <role>_health_check values, as the playbook rendered them."""
        return json.loads((self.workdir / "health_checks.json").read_text())

    def prometheus_api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        document = get_json(self.url("prometheus", f"/api/v1/{path}{query}"))
        assert document["status"] == "success", document
        return document["data"]


def metrics_host_vars(workdir: Path, ports: dict[str, int]) -> dict[str, Any]:
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "stack_prefix": PREFIX,
        "stack_network": NETWORK,
        "stack_subnet": free_subnet("10.214", range(100, 200)),
        "stack_base_dir": str(workdir / "stack"),
        "stack_labels": {TEST_LABEL_KEY: "1"},
        "stack_bind_address": "127.0.0.1",
        **{f"{role}_image": image for role, image in IMAGES.items()},
        # As inventories/local-test-images sets them: cAdvisor unprivileged, and no demo workload, so no scrape job
        # of it (tests/integration/test_demo_workload.py runs it and checks Prometheus scrapes it).
        **{name: LOCAL_TEST_VARS[name] for name in ("cadvisor_privileged", "demo_enabled")},
        "prometheus_host_port": ports["prometheus"],
        "alertmanager_host_port": ports["alertmanager"],
        "cadvisor_host_port": ports["cadvisor"],
        # Short intervals so that scrapes and the Watchdog show up within seconds.
        "prometheus_scrape_interval": "2s",
        "prometheus_scrape_timeout": "2s",
        "prometheus_evaluation_interval": "2s",
        "alertmanager_webhook_enabled": True,
        "alertmanager_slack_enabled": True,
        "alertmanager_email_enabled": True,
        "alertmanager_email_to": "ops@example.invalid",
        "alertmanager_email_from": "alertmanager@example.invalid",
        "alertmanager_email_smarthost": "127.0.0.1:25",
        "alertmanager_email_auth_username": "alertmanager",
        **DUMMY_SECRETS,
    }


def write_metrics_playbooks(workdir: Path) -> None:
    play = roles_play("Converge the node_exporter, cadvisor, alertmanager and prometheus roles", list(IMAGES.values()),
                      list(ROLES))
    play[0]["tasks"].append({
        "name": "Hand the roles' health checks to the test",
        "ansible.builtin.copy": {
            "content": "{{ [" + ", ".join(f"{role}_health_check" for role in ROLES) + "] | to_json }}",
            "dest": str(workdir / "health_checks.json"),
            "mode": "0644",
        },
    })
    (workdir / "converge.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    # The prometheus role's reload on its own, as its handler runs it.
    reload_play = {
        "name": "Reload Prometheus as the role's handler does",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [{"name": "The prometheus role's reload",
                   "ansible.builtin.include_role": {"name": "data2ai.grafana_stack.prometheus",
                                                    "tasks_from": "reload.yml"}}],
    }
    (workdir / "reload.yml").write_text(yaml.safe_dump([reload_play], sort_keys=False))


# --------------------------------------------------------------------------
# Waiting the way site.yml's layer wait does, from the roles' <role>_health_check
# --------------------------------------------------------------------------


def ip_on_test_network(name: str) -> str:
    return inspect_container(name)["NetworkSettings"]["Networks"][NETWORK]["IPAddress"]


def check_passes(check: dict[str, Any]) -> bool:
    state = inspect_container(check["container"])["State"]
    if "port" not in check:
        return state.get("Health", {}).get("Status") == "healthy"
    # An HTTP probe of the container's address on the test network, which this test created.
    status, body = http_get(f"http://{ip_on_test_network(check['container'])}:{check['port']}{check['path']}")
    if status not in check.get("status", [200]):
        return False
    return not (check.get("body_regex") and not re.search(check["body_regex"], body))


def wait_until_checks_pass(stack: MetricsStack) -> None:
    for check in stack.health_checks():
        wait_for(f"{check['name']} healthy ({check})", lambda check=check: check_passes(check))


def container_identity(name: str) -> tuple[str, str, bool]:
    """(id, start time, running): equal before and after only if the container was not touched."""
    state = inspect_container(name)
    return state["Id"], state["State"]["StartedAt"], state["State"]["Running"]


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def converged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConvergedTwice]:
    workdir = tmp_path_factory.mktemp("roles_metrics")
    ports = {name: free_port() for name in ("prometheus", "alertmanager", "cadvisor")}
    stack = MetricsStack(workdir, ports)

    def prepare() -> None:
        write_local_inventory(workdir, metrics_host_vars(workdir, ports))
        write_metrics_playbooks(workdir)

    yield from converged_twice(stack, PREFIX, list(IMAGES.values()), prepare,
                               between=lambda: wait_until_checks_pass(stack))


@pytest.fixture
def stack(converged: ConvergedTwice) -> MetricsStack:
    return converged.stack


def handler_ran(run: PlaybookRun, handler: str) -> bool:
    return f"RUNNING HANDLER [data2ai.grafana_stack.{handler}]" in run.output


def name_of(component: str) -> str:
    return f"{PREFIX}{component}"


# --------------------------------------------------------------------------
# Convergence and what runs
# --------------------------------------------------------------------------


def test_second_converge_changes_nothing(converged: ConvergedTwice) -> None:
    assert converged.first.recap["changed"] > 0
    assert converged.second.recap["changed"] == 0, converged.second.changed_tasks


def gateway() -> str:
    """The test network's gateway: the host as the containers see it, where Node Exporter listens."""
    return inspect_network(NETWORK)["IPAM"]["Config"][0]["Gateway"]


def inspect_network(name: str) -> dict[str, Any]:
    return json.loads(docker("network", "inspect", name, check=True).stdout)[0]


def test_containers_join_the_network_under_their_component_names(stack: MetricsStack) -> None:
    for component in ("prometheus", "alertmanager", "cadvisor"):
        networks = inspect_container(name_of(component))["NetworkSettings"]["Networks"]
        assert component in networks[NETWORK]["Aliases"], f"{component}: {networks[NETWORK]['Aliases']}"


def test_prometheus_is_ready_on_its_port_published_on_loopback(stack: MetricsStack) -> None:
    status, body = http_get(stack.url("prometheus", "/-/ready"))
    assert status == 200, body
    bindings = inspect_container(name_of("prometheus"))["HostConfig"]["PortBindings"]["9090/tcp"]
    assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(stack.ports["prometheus"])}]


def test_prometheus_keeps_30_days_and_accepts_remote_write(stack: MetricsStack) -> None:
    flags = stack.prometheus_api("status/flags")
    assert flags["storage.tsdb.retention.time"] == "30d"
    assert flags["storage.tsdb.path"] == "/prometheus"
    assert flags["web.enable-remote-write-receiver"] == "true"


def test_the_lifecycle_api_is_off_so_quit_and_reload_answer_403(stack: MetricsStack) -> None:
    """Without --web.enable-lifecycle, Prometheus answers POST and PUT on /-/quit and /-/reload with 403 "Lifecycle
    API is not enabled." (prometheus/prometheus web/web.go, the forbiddenAPINotEnabled handler)."""
    assert stack.prometheus_api("status/flags")["web.enable-lifecycle"] == "false"
    before = container_identity(name_of("prometheus"))
    for method in ("POST", "PUT"):
        for path in ("/-/quit", "/-/reload"):
            status, body = http_request(method, stack.url("prometheus", path))
            assert (status, body.strip()) == (403, "Lifecycle API is not enabled."), f"{method} {path}: {status} {body}"
    time.sleep(1)
    assert container_identity(name_of("prometheus")) == before, "Prometheus stopped or restarted"
    assert http_get(stack.url("prometheus", "/-/ready"))[0] == 200


def test_prometheus_stores_the_exemplars_tempo_sends(stack: MetricsStack) -> None:
    assert stack.prometheus_api("status/flags")["enable-feature"] == "exemplar-storage"
    # The exemplar storage has room only when the feature is on: 0 without the flag, 100000 (the default) with it.
    status, body = http_get(stack.url("prometheus", "/metrics"))
    assert status == 200
    assert re.search(r"^prometheus_tsdb_exemplar_max_exemplars [1-9]", body, re.MULTILINE), \
        [line for line in body.splitlines() if "exemplar_max" in line]


def test_prometheus_scrapes_every_component_of_the_stack_by_its_name(stack: MetricsStack) -> None:
    targets = stack.prometheus_api("targets")["activeTargets"]
    jobs = {target["labels"]["job"]: target["scrapeUrl"] for target in targets}
    assert jobs == {
        "prometheus": "http://localhost:9090/metrics",
        "grafana": "http://grafana:3000/metrics",
        "node-exporter": f"http://{gateway()}:9100/metrics",
        "cadvisor": "http://cadvisor:8080/metrics",
        "alertmanager": "http://alertmanager:9093/metrics",
        "loki": "http://loki:3100/metrics",
        "tempo": "http://tempo:3200/metrics",
    }


def test_node_exporter_cadvisor_and_alertmanager_are_scraped(stack: MetricsStack) -> None:
    def up(job: str) -> bool:
        result = stack.prometheus_api("query", query=f'up{{job="{job}"}}')["result"]
        return bool(result) and result[0]["value"][1] == "1"

    for job in ("prometheus", "node-exporter", "cadvisor", "alertmanager"):
        wait_for(f"job {job} scraped and up", lambda job=job: up(job))
    # The host's metrics come through the read-only /host mounts.
    assert stack.prometheus_api("query", query="node_memory_MemTotal_bytes")["result"]


def test_prometheus_loads_the_roles_alert_rules(stack: MetricsStack) -> None:
    groups = {group["name"] for group in stack.prometheus_api("rules")["groups"]}
    assert groups == {"targets", "alerting", "node", "containers"}


def test_watchdog_goes_from_prometheus_to_alertmanager(stack: MetricsStack) -> None:
    def watchdog_in_alertmanager() -> bool:
        status, body = http_get(stack.url("alertmanager", "/api/v2/alerts"))
        return status == 200 and any(alert["labels"].get("alertname") == "Watchdog" for alert in json.loads(body))

    wait_for("the Watchdog alert in Alertmanager", watchdog_in_alertmanager)


def test_node_exporter_runs_as_upstream_documents_and_listens_on_the_gateway_only(stack: MetricsStack) -> None:
    container = inspect_container(name_of("node-exporter"))
    host_config = container["HostConfig"]
    assert (host_config["NetworkMode"], host_config["PidMode"], host_config["Privileged"]) == ("host", "host", False)
    assert not host_config["PortBindings"]
    mounts = {mount["Destination"]: mount for mount in container["Mounts"]}
    assert (mounts["/host"]["Source"], mounts["/host"]["RW"]) == ("/", False)
    assert "--path.rootfs=/host" in container["Args"]
    assert f"--web.listen-address={gateway()}:9100" in container["Args"]
    status, _body = http_get(f"http://{gateway()}:9100/metrics")
    assert status == 200, "the host reaches Node Exporter on the stack network's gateway"


def test_node_exporter_reports_the_hosts_network_interfaces(stack: MetricsStack) -> None:
    """The test network's bridge (br-<id>) exists only in the host's network namespace: a Node Exporter in a
    container namespace of its own would report its eth0 and lo only."""
    bridge = "br-" + inspect_network(NETWORK)["Id"][:12]

    def bridge_reported() -> bool:
        result = stack.prometheus_api("query", query=f'node_network_up{{job="node-exporter", device="{bridge}"}}')
        return bool(result["result"])

    wait_for(f"node_network_up for the host's bridge {bridge}", bridge_reported)


def test_cadvisor_runs_unprivileged_without_devices_when_told(stack: MetricsStack) -> None:
    container = inspect_container(name_of("cadvisor"))
    assert container["HostConfig"]["Privileged"] is False
    assert not container["HostConfig"]["Devices"]
    assert all(mount["RW"] is False for mount in container["Mounts"])
    status, body = http_get(stack.url("cadvisor", "/healthz"))
    assert (status, body.strip()) == (200, "ok")


def test_receiver_secrets_are_private_files_and_never_printed(converged: ConvergedTwice) -> None:
    secrets_dir = converged.stack.base_dir / "alertmanager" / "secrets"
    for variable, file_name in SECRET_FILES.items():
        path = secrets_dir / file_name
        info = path.stat()
        assert stat.S_IMODE(info.st_mode) == 0o600, f"{path} is {oct(stat.S_IMODE(info.st_mode))}"
        assert info.st_uid == NOBODY_UID
        assert path.read_text(encoding="utf-8") == DUMMY_SECRETS[variable]
    assert not (secrets_dir / "pagerduty_routing_key").exists(), "PagerDuty is off: its secret must not be written"
    config = (converged.stack.base_dir / "alertmanager" / "alertmanager.yml").read_text(encoding="utf-8")
    for secret in DUMMY_SECRETS.values():
        assert secret not in config
        assert secret not in converged.first.output
        assert secret not in converged.second.output


def test_a_changed_receiver_secret_shows_in_the_diff_by_name_only(converged: ConvergedTwice) -> None:
    """stack_secret_files: --diff names the secret file that would change, never its old or new value; check mode
    leaves the file as it is."""
    new_url = "http://127.0.0.1:9/gsttest-rm-slack-secret-changed"
    run = converged.stack.converge({**DUMMY_SECRETS, "alertmanager_slack_api_url": new_url},
                                   options=("--check", "--diff"))
    run.assert_ok()
    assert "slack_api_url mode=0600 owner=65534" in run.output and "content changed" in run.output, run.output[-3000:]
    for secret in (new_url, *DUMMY_SECRETS.values()):
        assert secret not in run.output
    secrets_dir = converged.stack.base_dir / "alertmanager" / "secrets"
    assert (secrets_dir / "slack_api_url").read_text(encoding="utf-8") == DUMMY_SECRETS["alertmanager_slack_api_url"]


# --------------------------------------------------------------------------
# Reloads without restarts
# --------------------------------------------------------------------------


def test_an_added_rule_file_goes_live_by_reload_and_goes_away_when_dropped(stack: MetricsStack, tmp_path: Path) -> None:
    rule_file = tmp_path / "gsttest_extra.yaml"
    rule_file.write_text(
        "groups:\n  - name: gsttest_extra\n    rules:\n      - record: gsttest:up:sum\n        expr: sum(up)\n",
        encoding="utf-8",
    )
    before = container_identity(name_of("prometheus"))
    added = stack.converge({"prometheus_extra_rule_files": [str(rule_file)]})
    added.assert_ok()
    assert handler_ran(added, "prometheus : Reload prometheus")
    assert (stack.base_dir / "prometheus" / "rules" / "gsttest_extra.yml").is_file()
    assert container_identity(name_of("prometheus")) == before, "the rule must go live by reload, not restart"
    assert "gsttest_extra" in {group["name"] for group in stack.prometheus_api("rules")["groups"]}

    dropped = stack.converge()
    dropped.assert_ok()
    assert not (stack.base_dir / "prometheus" / "rules" / "gsttest_extra.yml").exists()
    assert "gsttest_extra" not in {group["name"] for group in stack.prometheus_api("rules")["groups"]}
    assert container_identity(name_of("prometheus")) == before


def loaded_jobs(stack: MetricsStack) -> set[str]:
    """The scrape jobs of the configuration Prometheus runs now (/api/v1/status/config)."""
    loaded = yaml.safe_load(stack.prometheus_api("status/config")["yaml"])
    return {job["job_name"] for job in loaded.get("scrape_configs") or []}


def test_a_new_scrape_job_goes_live_by_sighup_without_the_lifecycle_api(stack: MetricsStack) -> None:
    extra_job = {"job_name": "gsttest-extra", "static_configs": [{"targets": ["localhost:9090"]}]}
    before = container_identity(name_of("prometheus"))
    added = stack.converge({"prometheus_extra_scrape_configs": [extra_job]})
    added.assert_ok()
    assert handler_ran(added, "prometheus : Reload prometheus with SIGHUP"), added.failure_context()
    assert handler_ran(added, "prometheus : Fail when Prometheus did not load the new configuration")
    assert container_identity(name_of("prometheus")) == before, "the job must go live by reload, not restart"
    # The handler returns only once Prometheus reported the reload: no waiting here.
    assert "gsttest-extra" in loaded_jobs(stack)
    # Its target shows once the scrape manager has synced (every few seconds, after the reload).
    wait_for("the new job's target", lambda: any(
        target["labels"]["job"] == "gsttest-extra" for target in stack.prometheus_api("targets")["activeTargets"]))

    dropped = stack.converge()
    dropped.assert_ok()
    assert "gsttest-extra" not in loaded_jobs(stack)
    assert container_identity(name_of("prometheus")) == before


def test_a_configuration_prometheus_rejects_on_reload_fails_the_play(stack: MetricsStack) -> None:
    """promtool stops a bad file before it goes live; this is the case it cannot see (a file changed behind the
    role's back, or one the running Prometheus reads differently): the reload's own result must fail the play."""
    config_file = stack.base_dir / "prometheus" / "prometheus.yml"
    rendered = config_file.read_text(encoding="utf-8")
    before = container_identity(name_of("prometheus"))
    jobs = loaded_jobs(stack)
    broken = yaml.safe_load(rendered)
    broken["scrape_configs"].append({"job_name": "gsttest-rejected", "scrape_interval": "not-a-duration"})
    config_file.write_text(yaml.safe_dump(broken), encoding="utf-8")
    try:
        run = stack.converge(playbook="reload.yml")
        assert run.returncode != 0, "a configuration Prometheus rejected passed the play"
        assert "Prometheus did not load the new configuration after SIGHUP (it rejected it)" in run.output, \
            run.output[-3000:]
        assert container_identity(name_of("prometheus")) == before
        assert loaded_jobs(stack) == jobs, "Prometheus runs something else than before"
    finally:
        # The role puts its own file back, and the reload after a failed one succeeds.
        repaired = stack.converge()
    repaired.assert_ok()
    assert handler_ran(repaired, "prometheus : Reload prometheus with SIGHUP")
    assert config_file.read_text(encoding="utf-8") == rendered
    assert container_identity(name_of("prometheus")) == before


def test_a_changed_route_goes_live_by_reload(stack: MetricsStack) -> None:
    before = container_identity(name_of("alertmanager"))
    changed = stack.converge({"alertmanager_group_wait": "21s"})
    changed.assert_ok()
    assert handler_ran(changed, "alertmanager : Reload alertmanager")
    assert container_identity(name_of("alertmanager")) == before
    status = get_json(stack.url("alertmanager", "/api/v2/status"))
    assert "group_wait: 21s" in status["config"]["original"]
    stack.converge().assert_ok()


# --------------------------------------------------------------------------
# Validation before anything goes live
# --------------------------------------------------------------------------


def test_a_broken_rule_stops_the_play_and_leaves_prometheus_untouched(stack: MetricsStack, tmp_path: Path) -> None:
    broken = tmp_path / "gsttest_broken.yml"
    broken.write_text(
        "groups:\n  - name: gsttest_broken\n    rules:\n      - alert: Broken\n        expr: rate(up[5m] > 0\n",
        encoding="utf-8",
    )
    before = container_identity(name_of("prometheus"))
    run = stack.converge({"prometheus_extra_rule_files": [str(broken)]})
    assert run.returncode != 0
    assert "failed to validate" in run.output, run.output[-3000:]
    assert "parse error" in run.output, f"promtool's reason should reach the user:\n{run.output[-3000:]}"
    assert not handler_ran(run, "prometheus : Reload prometheus")
    assert not (stack.base_dir / "prometheus" / "rules" / "gsttest_broken.yml").exists()
    assert container_identity(name_of("prometheus")) == before
    assert before[2], "Prometheus must still run"
    assert http_get(stack.url("prometheus", "/-/ready"))[0] == 200
    assert "gsttest_broken" not in {group["name"] for group in stack.prometheus_api("rules")["groups"]}


def test_a_route_to_a_missing_receiver_stops_the_play_and_leaves_alertmanager_untouched(stack: MetricsStack) -> None:
    config_file = stack.base_dir / "alertmanager" / "alertmanager.yml"
    config_before = config_file.read_text(encoding="utf-8")
    before = container_identity(name_of("alertmanager"))
    run = stack.converge({"alertmanager_extra_routes": [{"receiver": "gsttest-nobody", "matchers": ['team="x"']}]})
    assert run.returncode != 0
    assert "failed to validate" in run.output, run.output[-3000:]
    assert "gsttest-nobody" in run.output, f"amtool's reason should reach the user:\n{run.output[-3000:]}"
    assert not handler_ran(run, "alertmanager : Reload alertmanager")
    assert config_file.read_text(encoding="utf-8") == config_before
    assert container_identity(name_of("alertmanager")) == before
    assert http_get(stack.url("alertmanager", "/-/ready"))[0] == 200


# --------------------------------------------------------------------------
# The lifecycle API on request (last: it recreates Prometheus twice)
# --------------------------------------------------------------------------


def test_the_lifecycle_api_is_served_only_when_asked_for(stack: MetricsStack) -> None:
    stack.converge({"prometheus_web_enable_lifecycle": True}).assert_ok()
    wait_for("Prometheus ready", lambda: http_get(stack.url("prometheus", "/-/ready"))[0] == 200)
    assert stack.prometheus_api("status/flags")["web.enable-lifecycle"] == "true"
    assert http_request("POST", stack.url("prometheus", "/-/reload"))[0] == 200

    stack.converge().assert_ok()
    wait_for("Prometheus ready", lambda: http_get(stack.url("prometheus", "/-/ready"))[0] == 200)
    assert stack.prometheus_api("status/flags")["web.enable-lifecycle"] == "false"
    assert http_request("POST", stack.url("prometheus", "/-/reload"))[0] == 403
