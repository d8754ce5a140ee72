"""The demo workload's alert rules (roles/prometheus/files/rules/demo.yml) end to end: a fault scenario turned on by
playbooks/scenario.yml fires our alert in the real Prometheus, the real Alertmanager delivers it to a webhook, and
``scenario=none`` resolves it, with the resolved notification delivered as well.

The stack: influxdb (its TEST DOUBLE, for the demo's write-only token), the real Alertmanager and Prometheus built
from Debian, and the demo role, which builds its image FROM data2ai-test/demo-python:local. The scenario is
``errors`` (30% of the requests fail with 500), the fastest and most deterministic one; the rules' thresholds,
windows and ``for:`` are those a class gets, shown for the three scenarios in tests/rules/demo.test.yml. Only the
intervals are short here: scrape and evaluation every 2 s, Alertmanager's group_wait 1 s and group_interval 2 s.

The webhook receiver is the test's own HTTP server (the collection's WebhookSink, the one playbooks/verify.yml
runs), listening on the stack network's gateway: the host as the containers see it.

Everything the test creates is named ``gsttest-sa-*`` and labelled ``data2ai.grafana_stack.test=1`` (the image it
builds is ``gsttest-sa-demo-workload:local``); cleanup removes exactly that, before and after.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from ansible_collections.data2ai.grafana_stack.plugins.filter.stack_gateway import stack_gateway
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.flow_webhook_sink import WebhookSink
from stack_testlib import (
    ROOT,
    PlaybookRun,
    RolesStack,
    ansible_playbook,
    converged_once,
    docker,
    free_port,
    free_subnet,
    get_json,
    local_stack_vars,
    play_run,
    roles_play,
    wait_for,
)

PREFIX = "gsttest-sa-"
DEMO_IMAGE = f"{PREFIX}demo-workload:local"
IMAGES = {
    "influxdb_image": "data2ai-test/influxdb-double:local",
    "alertmanager_image": "data2ai-test/alertmanager:local",
    "prometheus_image": "data2ai-test/prometheus:local",
    "demo_base_image": "data2ai-test/demo-python:local",
}
ROLES = ["influxdb", "alertmanager", "prometheus", "demo"]
PORTS = ("influxdb_host_port", "alertmanager_host_port", "prometheus_host_port")
DEMO_ALERTS = {"DemoHighErrorRate", "DemoHighLatency", "DemoHighCpu"}
ERRORS_ALERT = "DemoHighErrorRate"
# 30 s of `for:` after a few scrapes, and a minute of rate window to empty after scenario=none, plus slack for CI.
ALERT_TIMEOUT = 150.0

pytestmark = pytest.mark.docker


class ScenarioStack(RolesStack):
    """Alertmanager, Prometheus and the demo workload (and the InfluxDB double it writes to), converged by the
    playbook the test wrote."""

    def converge(self) -> PlaybookRun:
        return play_run(self.workdir)

    def scenario(self, name: str) -> None:
        """playbooks/scenario.yml -e scenario=<name> on this stack's inventory."""
        ansible_playbook("-i", str(self.workdir / "inventory.yml"), str(ROOT / "playbooks" / "scenario.yml"),
                         "-e", f"scenario={name}").assert_ok()

    def prometheus_alerts(self, name: str) -> list[dict]:
        """The alerts of that name Prometheus holds (pending or firing)."""
        alerts = get_json(self.url("prometheus_host_port", "/api/v1/alerts"))["data"]["alerts"]
        return [alert for alert in alerts if alert["labels"].get("alertname") == name]


def write_scenario_plays(workdir: Path, ports: dict[str, int], webhook_port: int) -> None:
    subnet = free_subnet("10.226", range(0, 256))
    host = {
        **local_stack_vars(workdir, PREFIX, subnet),
        **IMAGES,
        **ports,
        "demo_image": DEMO_IMAGE,
        "demo_requests_per_second": 10,
        "prometheus_scrape_interval": "2s",
        "prometheus_scrape_timeout": "2s",
        "prometheus_evaluation_interval": "2s",
        "alertmanager_group_wait": "1s",
        "alertmanager_group_interval": "2s",
        "alertmanager_webhook_enabled": True,
        "alertmanager_webhook_url": f"http://{stack_gateway(subnet)}:{webhook_port}/{PREFIX}hook",
    }
    (workdir / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": {"localhost": host}}}))
    play = roles_play("Converge Alertmanager, Prometheus and the demo workload", list(IMAGES.values()), ROLES)
    (workdir / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))


# Converged once: tests/integration/test_demo_workload.py shows the same roles (with demo.yml listed, as here)
# converging a second time without a change.
@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScenarioStack]:
    workdir = tmp_path_factory.mktemp("scenario-alerts")
    converging = ScenarioStack(workdir, {port: free_port() for port in PORTS})
    webhook_port = free_port()
    docker("image", "rm", "-f", DEMO_IMAGE)
    try:
        yield from converged_once(converging, PREFIX, list(IMAGES.values()),
                                  lambda: write_scenario_plays(workdir, converging.ports, webhook_port))
    finally:
        docker("image", "rm", "-f", DEMO_IMAGE)


@pytest.fixture(scope="module")
def webhook(stack: ScenarioStack) -> Iterator[WebhookSink]:
    """The test's webhook receiver, at the URL Alertmanager was given (the gateway exists once the network does)."""
    url = yaml.safe_load((stack.workdir / "inventory.yml").read_text())[
        "all"]["hosts"]["localhost"]["alertmanager_webhook_url"]
    with WebhookSink(url).listening() as sink:
        yield sink


def test_prometheus_loads_the_demo_rules_while_the_demo_runs(stack: ScenarioStack) -> None:
    groups = get_json(stack.url("prometheus_host_port", "/api/v1/rules"))["data"]["groups"]
    demo = [group for group in groups if group["name"] == "demo"]
    assert len(demo) == 1, [group["name"] for group in groups]
    assert {rule["name"] for rule in demo[0]["rules"]} == DEMO_ALERTS
    assert all(rule["labels"] == {"severity": "warning", "component": "demo"} for rule in demo[0]["rules"])


def _notified(sink: WebhookSink, status: str) -> list[dict]:
    """The alerts of ERRORS_ALERT the webhook received with that status."""
    return [alert for notification in list(sink.notifications) for alert in notification.get("alerts") or []
            if alert.get("labels", {}).get("alertname") == ERRORS_ALERT and alert.get("status") == status]


def test_the_errors_scenario_fires_our_alert_to_the_webhook_and_none_resolves_it(
        stack: ScenarioStack, webhook: WebhookSink) -> None:
    assert not stack.prometheus_alerts(ERRORS_ALERT), "the alert is active before the scenario"

    stack.scenario("errors")
    wait_for(f"{ERRORS_ALERT} firing in Prometheus",
             lambda: any(alert["state"] == "firing" for alert in stack.prometheus_alerts(ERRORS_ALERT)),
             ALERT_TIMEOUT, details=lambda: str(stack.prometheus_alerts(ERRORS_ALERT)))
    wait_for(f"{ERRORS_ALERT} (firing) at the webhook", lambda: bool(_notified(webhook, "firing")), 30,
             details=lambda: str(webhook.notifications[-3:]))
    fired = _notified(webhook, "firing")[0]
    assert fired["labels"] == {"alertname": ERRORS_ALERT, "severity": "warning", "component": "demo",
                               "job": "demo", "instance": "demo:9464"}
    assert "scenario of playbooks/scenario.yml" in fired["annotations"]["description"]
    assert not _notified(webhook, "resolved")

    stack.scenario("none")
    wait_for(f"{ERRORS_ALERT} gone from Prometheus", lambda: not stack.prometheus_alerts(ERRORS_ALERT),
             ALERT_TIMEOUT, details=lambda: str(stack.prometheus_alerts(ERRORS_ALERT)))
    wait_for(f"{ERRORS_ALERT} (resolved) at the webhook", lambda: bool(_notified(webhook, "resolved")), 30,
             details=lambda: str(webhook.notifications[-3:]))
    assert _notified(webhook, "resolved")[0]["startsAt"] == fired["startsAt"]
