"""playbooks/verify.yml against a whole stack of its own: every data flow passes, and a broken link fails only its
own flow, with a detail that names the link. The stack carries the cohort-example inventory's settings
(inventories/cohort-example/group_vars/all/stack.yml), so the same converge shows that only Grafana faces the
network with them: the cohort's stack_bind_address 0.0.0.0 is replaced by 127.0.0.2, a loopback address that
stands for the lab network here.

The stack is converged once for this module by site.yml on this host's Docker engine, from the local test images
(inventories/local-test-images), with its own prefix gsttest-vf-, network gsttest-vf-monitoring on 172.31.243.0/24,
directories under pytest's temporary directory, and every published port a free one on 127.0.0.1, so it runs
beside Molecule's default scenario. Alertmanager's verify receiver posts to the network's gateway 172.31.243.1,
where verify.yml's alerts flow listens. Cleanup removes exactly the gsttest-vf- containers, volumes and network,
before the run (leftovers of an aborted one) and after it, even when a test fails.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from stack_testlib import HOST_PORTS, ROOT, docker, free_port, remove_labelled, require_images, run_playbook
from test_alertmanager_config import check_config, receivers, render, route_of

PREFIX = "gsttest-vf-"
INVENTORY = ROOT / "inventories" / "local-test-images"
COHORT_EXAMPLE = ROOT / "inventories" / "cohort-example"
# The vault values the cohort example refers to; the Slack URL points at a closed port of the container itself.
COHORT_VAULT = {"vault_grafana_admin_password": "gsttest-vf-admin-pw-4242",
                "vault_alertmanager_slack_api_url": "http://127.0.0.1:9/gsttest-vf-slack"}
# The cohort's stack_bind_address is 0.0.0.0; a second loopback address stands for it, so nothing is published on
# a real network while the test can still tell the stack's bind address from 127.0.0.1.
LAB_NETWORK_ADDRESS = "127.0.0.2"
FLOWS = ("metrics", "logs", "traces", "alerts")
# Promtail pushes to a port where no Loki listens: the logs flow must fail, and say so.
WRONG_PUSH_URL = "http://loki:3999/loki/api/v1/push"

pytestmark = pytest.mark.docker


def tail(proc: subprocess.CompletedProcess) -> str:
    return (proc.stdout + proc.stderr)[-4000:]


@dataclass
class VerifyStack:
    settings: Path
    workdir: Path

    def verify(self, report_dir: Path, *extra: str) -> subprocess.CompletedProcess:
        return run_playbook(
            ROOT / "playbooks" / "verify.yml", INVENTORY, "-e", f"@{self.settings}",
            "-e", f"verify_report_dir={report_dir}", *extra, env={"ANSIBLE_NOCOLOR": "1"},
        )


def report_rows(report: Path) -> dict[str, list[str]]:
    """The flow table of a host's report: flow -> [result, detail, seconds]."""
    rows = {}
    for line in report.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        if len(cells) == 4 and cells[0] in FLOWS:
            rows[cells[0]] = cells[1:]
    return rows


def test_verification_alerts_go_to_the_verify_sink_only_whatever_their_severity(tmp_path: Path) -> None:
    config_dir = render(tmp_path, {"stack_subnet": "10.9.0.0/16", "alertmanager_pagerduty_enabled": True,
                                   "alertmanager_pagerduty_routing_key": "gsttest-dummy-pagerduty-key"})
    assert check_config(config_dir).returncode == 0
    assert route_of(config_dir, "alertname=StackFlowCheck", "verify=true", "severity=critical") == "verify"
    assert route_of(config_dir, "alertname=TargetDown", "severity=critical") == "severity-critical"
    assert receivers(config_dir)["verify"]["webhook_configs"] == [
        {"url": "http://10.9.0.1:19093/", "send_resolved": True}], "the stack network's gateway, where verify listens"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VerifyStack]:
    require_images("data2ai-test/grafana-double:local")
    remove_labelled(PREFIX)
    workdir = tmp_path_factory.mktemp("verify-flows")
    settings = {
        **yaml.safe_load((COHORT_EXAMPLE / "group_vars" / "all" / "stack.yml").read_text()),
        **COHORT_VAULT,
        "stack_prefix": PREFIX,
        "stack_network": f"{PREFIX}monitoring",
        "stack_subnet": "172.31.243.0/24",
        "stack_base_dir": str(workdir / "stack"),
        "stack_credentials_dir": str(workdir / "credentials"),
        "stack_labels": {"data2ai.grafana_stack.test": "1"},
        "stack_bind_address": LAB_NETWORK_ADDRESS,
        **{variable: free_port() for variable in HOST_PORTS},
    }
    settings_file = workdir / "settings.json"
    settings_file.write_text(json.dumps(settings))
    try:
        converge = run_playbook(ROOT / "site.yml", INVENTORY, "-e", f"@{settings_file}", env={"ANSIBLE_NOCOLOR": "1"})
        assert converge.returncode == 0, tail(converge)
        yield VerifyStack(settings_file, workdir)
    finally:
        remove_labelled(PREFIX)


def test_every_flow_passes_and_the_reports_say_so(stack: VerifyStack) -> None:
    report_dir = stack.workdir / "reports-ok"
    run = stack.verify(report_dir)
    assert run.returncode == 0, tail(run)
    rows = report_rows(report_dir / "localhost.md")
    assert {flow: row[0] for flow, row in rows.items()} == dict.fromkeys(FLOWS, "pass"), rows
    assert "through Grafana" in rows["metrics"][1] and "through Grafana" in rows["logs"][1]
    summary = (report_dir / "summary.md").read_text()
    assert "| localhost | yes | pass | pass | pass | pass | [localhost.md](localhost.md) |" in summary
    assert "1 of 1 hosts ready" in summary
    assert docker("ps", "-a", "-q", "--filter", f"name={PREFIX}verify-log-writer").stdout.strip() == "", \
        "the log writer container is removed after the check"


def test_a_broken_promtail_push_url_fails_only_the_logs_flow(stack: VerifyStack) -> None:
    promtail_only = stack.workdir / "promtail.yml"
    promtail_only.write_text(
        "- name: Promtail only\n  hosts: all\n  gather_facts: false\n  roles: [data2ai.grafana_stack.promtail]\n"
    )
    broken = run_playbook(promtail_only, INVENTORY, "-e", f"@{stack.settings}",
                          "-e", f"promtail_loki_push_url={WRONG_PUSH_URL}", env={"ANSIBLE_NOCOLOR": "1"})
    assert broken.returncode == 0, tail(broken)

    report_dir = stack.workdir / "reports-broken"
    run = stack.verify(report_dir, "-e", "verify_timeout=30")
    assert run.returncode != 0, "a failing flow fails the host"
    assert "NOT READY, failing: logs" in run.stdout
    rows = report_rows(report_dir / "localhost.md")
    assert {flow: row[0] for flow, row in rows.items()} == {
        "metrics": "pass", "logs": "**FAIL**", "traces": "pass", "alerts": "pass"}, rows
    detail = rows["logs"][1]
    print("logs flow detail:", detail)  # shown with pytest -s
    assert "marker not found in Loki" in detail and f"{PREFIX}promtail says" in detail, detail
    assert "| localhost | **NO** | pass | **FAIL** | pass | pass |" in (report_dir / "summary.md").read_text()


def test_only_grafana_is_published_on_the_stack_bind_address_with_the_cohort_example_settings(
    stack: VerifyStack,
) -> None:
    names = docker("ps", "--filter", f"name=^{PREFIX}", "--format", "{{.Names}}").stdout.split()
    published: dict[str, set[str]] = {}
    for name in names:
        bindings = json.loads(docker("inspect", "-f", "{{json .HostConfig.PortBindings}}", name).stdout) or {}
        published[name[len(PREFIX):]] = {binding["HostIp"] for ports in bindings.values() for binding in ports}
    assert {"grafana", "prometheus", "loki", "tempo", "alertmanager", "influxdb", "cadvisor"} <= set(published)
    assert published.pop("grafana") == {LAB_NETWORK_ADDRESS}
    others = {name: addresses for name, addresses in published.items() if addresses - {"127.0.0.1"}}
    assert not others, f"published beyond the host's loopback: {others}"
