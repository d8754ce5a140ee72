"""preflight's check of the subnet, ports, durations, Alertmanager receivers and the log collector.

The first tests render the role's own task (roles/preflight/tasks/main.yml) with ansible-core's Templar over every
component role's defaults and vars, as site.yml sees them, and the inventory of each case: what preflight reports
for that inventory. They were written against the Jinja program the task held before plugins/filter/preflight.py
replaced it, and pass on both.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from ansible_collections.data2ai.grafana_stack.plugins.filter.preflight import preflight_problems
from ansible_collections.data2ai.grafana_stack.plugins.filter.preflight_variables import preflight_variables
from ansible_collections.data2ai.grafana_stack.plugins.lookup import components
from jinja2 import Environment
from role_rendering import ROLES_DIR, template_with_templar

PREFLIGHT = ROLES_DIR / "preflight"
PASSED = {"results": [{"item": "grafana", "msg": "The arg spec validation passed"}]}


def _check_task() -> dict[str, Any]:
    tasks = yaml.safe_load((PREFLIGHT / "tasks" / "main.yml").read_text(encoding="utf-8"))
    return next(task for task in tasks if "ansible.builtin.set_fact" in task)


def _role_files() -> list:
    # preflight_roles' default: docker_host and every component of the table (meta/components.yml)
    roles = components.table_roles(components.load_table())
    files = [PREFLIGHT / "defaults" / "main.yml", PREFLIGHT / "vars" / "main.yml"]
    for role in roles:
        files += [path for path in (ROLES_DIR / role / "defaults" / "main.yml", ROLES_DIR / role / "vars" / "main.yml")
                  if path.exists()]
    return files


# inventory (extra vars), the registered results of the argument spec checks, what preflight reports
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], list[str]]] = {
    "the defaults": ({}, PASSED, []),
    "subnet without a prefix length": (
        {"stack_subnet": "172.31.244.0"}, PASSED,
        ["docker_host_subnet (stack_subnet) must be an IPv4 CIDR such as 172.20.0.0/16, got 172.31.244.0"]),
    "docker_host_subnet wins over stack_subnet": (
        {"stack_subnet": "bad", "docker_host_subnet": "10.9.0.0/16"}, PASSED, []),
    "octet above 255 and prefix above 32": (
        {"stack_subnet": "10.0.0.0/33", "docker_host_subnet": "10.0.300.0/16"}, PASSED,
        ["docker_host_subnet (stack_subnet) must be an IPv4 CIDR such as 172.20.0.0/16, got 10.0.300.0/16"]),
    "a long subnet is cut at a word, with leeway": (
        {"stack_subnet": "word " * 20}, PASSED,
        ["docker_host_subnet (stack_subnet) must be an IPv4 CIDR such as 172.20.0.0/16, got "
         + ("word " * 11).strip() + "..."]),
    "the gateway error of a wrong subnet is named once, by the subnet": (
        {"stack_subnet": "x"}, {"results": [
            {"item": "redis", "msg": "failed: stack_gateway: 'x' is not an IPv4 subnet\nline 2"}]},
        ["docker_host_subnet (stack_subnet) must be an IPv4 CIDR such as 172.20.0.0/16, got x"]),
    "a check that did not run is a problem, first line only": (
        {}, {"results": [
            {"item": "redis", "msg": "failed: stack_gateway: something\nline 2"},
            {"item": "loki", "argument_errors": ["loki_host_port: 'abc' is not an int", "loki_x: unknown"],
             "msg": "Validation of arguments failed"},
            {"item": "tempo"},
            {"item": "cadvisor", "msg": "The arg spec validation passed"}]},
        ["redis: failed: stack_gateway: something", "loki_host_port: 'abc' is not an int", "loki_x: unknown",
         "tempo: the check of its variables did not run"]),
    "ports out of range, and a port that is no number is left to the spec": (
        {"prometheus_host_port": 70000, "loki_host_port": "0", "grafana_host_port": "abc"}, PASSED,
        ["prometheus_host_port: 70000 is not a port (1-65535)", "loki_host_port: 0 is not a port (1-65535)"]),
    "a port published twice on one address": (
        {"prometheus_host_port": 3100, "tempo_otlp_grpc_host_port": "3200"}, PASSED,
        ["loki_host_port: port 3100 is published by prometheus_host_port already",
         "tempo_otlp_grpc_host_port: port 3200 is published by tempo_host_port already"]),
    # The Jinja program compared the ports as written, so it missed this one; Docker publishes both on 3100.
    "a port written with a leading zero is the same port": (
        {"prometheus_host_port": "03100"}, PASSED,
        ["loki_host_port: port 3100 is published by prometheus_host_port already"]),
    "one port on two addresses": ({"prometheus_host_port": 3100, "prometheus_bind_address": "10.1.2.3"}, PASSED, []),
    "durations in each component's format": (
        {"prometheus_retention_time": "30 days", "prometheus_scrape_interval": 30, "loki_retention_period": "",
         "alertmanager_data_retention": "30d", "tempo_block_retention": "1h30m", "influxdb_retention": "0",
         "cadvisor_housekeeping_interval": "1.5s"}, PASSED,
        ["prometheus_retention_time: '30 days' is not a duration; write it like 30d, 720h or 1h30m",
         "prometheus_scrape_interval: '30' is not a duration; write it like 30d, 720h or 1h30m",
         "loki_retention_period: '' is not a duration; write it like 30d, 720h or 1h30m",
         "alertmanager_data_retention: '30d' is not a duration; write it like 720h, 10m or 1h30m (no days)"]),
    "receivers in Alertmanager's format": (
        {"alertmanager_extra_receivers": [{"name": "team", "teams_configs": [{}], "webhook_configs": [{}]},
                                          "team", {"webhook_configs": []}, {"name": "ok", "email_configs": []}]},
        PASSED,
        ["alertmanager_extra_receivers[0] ('team'): unknown receiver type 'teams_configs'; Alertmanager knows "
         "discord_configs, email_configs, jira_configs, msteams_configs, msteamsv2_configs, opsgenie_configs, "
         "pagerduty_configs, pushover_configs, rocketchat_configs, slack_configs, sns_configs, telegram_configs, "
         "victorops_configs, webex_configs, webhook_configs, wechat_configs",
         "alertmanager_extra_receivers[1]: a receiver is a mapping with a name and *_configs lists",
         "alertmanager_extra_receivers[2]: a receiver is a mapping with a name and *_configs lists"]),
    "receivers that are no list are left to the spec": ({"alertmanager_extra_receivers": {"name": "x"}}, PASSED, []),
    "a log collector the stack does not have": (
        {"stack_log_collector": "fluentd"}, PASSED,
        ["stack_log_collector: 'fluentd' is not a log collector of the stack; choose promtail or alloy"]),
    "every kind at once, in order": (
        {"stack_subnet": "1", "prometheus_host_port": 0, "influxdb_retention": "forever",
         "alertmanager_extra_receivers": [1], "stack_log_collector": "alloy"},
        {"results": [{"item": "loki", "argument_errors": ["loki: e"]}]},
        ["docker_host_subnet (stack_subnet) must be an IPv4 CIDR such as 172.20.0.0/16, got 1", "loki: e",
         "prometheus_host_port: 0 is not a port (1-65535)",
         "influxdb_retention: 'forever' is not a duration; write it like 30d, 72h or 1w (0 keeps data forever)",
         "alertmanager_extra_receivers[0]: a receiver is a mapping with a name and *_configs lists"]),
}


@pytest.fixture(scope="module")
def role_reports() -> dict[str, list[str]]:
    task = _check_task()
    cases = [{**inventory, "preflight_spec_results": results} for inventory, results, _reported in CASES.values()]
    trusted = {**task.get("vars", {}), "role_path": str(PREFLIGHT), "inventory_hostname": "h"}
    rendered = template_with_templar(task["ansible.builtin.set_fact"]["preflight_problems"], cases, trusted,
                                     _role_files())
    return dict(zip(CASES, rendered))


@pytest.mark.parametrize("case", CASES)
def test_the_role_reports_each_problem_of_the_inventory_in_one_line(case: str, role_reports) -> None:
    assert role_reports[case] == CASES[case][2]


# The filter itself, on what the Jinja program met in corner cases.
PREFLIGHT_VARS = yaml.safe_load((PREFLIGHT / "vars" / "main.yml").read_text(encoding="utf-8"))
DURATIONS = {"prometheus": ["prometheus_retention_time"], "go": ["tempo_block_retention"],
             "influxdb": ["influxdb_retention"]}


def _problems(values: dict[str, Any], results: list[dict[str, Any]] | None = None,
              ports: tuple[str, ...] = ("a_host_port", "a_otlp_http_host_port", "b_host_port", "b_port")) -> list[str]:
    return preflight_problems({"stack_subnet": "10.0.0.0/8", **values}, results or [], list(ports), DURATIONS,
                              PREFLIGHT_VARS["preflight_duration_patterns"],
                              PREFLIGHT_VARS["preflight_duration_examples"],
                              PREFLIGHT_VARS["preflight_alertmanager_receiver_types"])


def test_the_variables_read_are_the_subnet_ports_their_addresses_durations_receivers_and_collector() -> None:
    names = preflight_variables(["tempo_host_port", "tempo_otlp_grpc_host_port", "node_exporter_port"], DURATIONS)
    assert names == ["docker_host_subnet", "stack_subnet", "tempo_host_port", "tempo_otlp_grpc_host_port",
                     "node_exporter_port", "tempo_bind_address", "prometheus_retention_time",
                     "tempo_block_retention", "influxdb_retention", "alertmanager_extra_receivers",
                     "stack_log_collector"]


def test_a_missing_variable_is_not_checked_and_no_subnet_at_all_is_a_problem() -> None:
    assert _problems({}) == []
    assert preflight_problems({}, [], [], {}, {}, {}, []) == [
        "docker_host_subnet (stack_subnet) must be an IPv4 CIDR such as 172.20.0.0/16, got "]


@pytest.mark.parametrize("subnet", ["10.0.0.0/8", "0.0.0.0/0", "255.255.255.255/32", "172.20.5.9/16"])
def test_a_cidr_passes_even_with_host_bits(subnet: str) -> None:
    assert _problems({"stack_subnet": subnet}) == []


@pytest.mark.parametrize("subnet", ["10.0.0.0", "10.0.0/8", "10.0.0.256/8", "10.0.0.0/33", "10.0.0.0/008",
                                    "fd00::/64", " 10.0.0.0/8", "10.0.0.0 /8", None])
def test_what_is_no_ipv4_cidr_is_named(subnet: Any) -> None:
    assert _problems({"stack_subnet": subnet}) == [
        f"docker_host_subnet (stack_subnet) must be an IPv4 CIDR such as 172.20.0.0/16, got {subnet}"]


@pytest.mark.parametrize("text", ["x" * 60, "x" * 65, "x" * 66, "word " * 13, "a b" * 40, ""])
def test_a_long_subnet_is_cut_as_jinja_truncate_cuts_it(text: str) -> None:
    expected = Environment().from_string("{{ text | truncate(60) }}").render(text=text)
    assert _problems({"stack_subnet": text}) == [
        f"docker_host_subnet (stack_subnet) must be an IPv4 CIDR such as 172.20.0.0/16, got {expected}"]


def test_spec_results_without_item_message_or_errors_are_still_problems() -> None:
    results = [{"item": "a", "argument_errors": None, "msg": "Validation of arguments failed"},
               {"item": "b", "msg": ""}, {"msg": "The arg spec validation passed, and more"}]
    assert _problems({}, results) == ["b: "]


@pytest.mark.parametrize(("value", "problem"), [
    (1, None), (65535, None), ("22", None), (65536, "a_host_port: 65536 is not a port (1-65535)"),
    ("00", "a_host_port: 00 is not a port (1-65535)"), (True, None), ("8o", None), (80.0, None), ("", None)])
def test_a_port_given_as_digits_is_checked_the_rest_is_left_to_the_spec(value: Any, problem: str | None) -> None:
    assert _problems({"a_host_port": value}) == ([problem] if problem else [])


def test_published_ports_are_compared_per_address_including_otlp_ports() -> None:
    values = {"a_host_port": 80, "a_otlp_http_host_port": "080", "b_host_port": 80, "b_port": 80,
              "b_bind_address": "::"}
    assert _problems(values) == ["a_otlp_http_host_port: port 080 is published by a_host_port already"]
    assert _problems({"a_host_port": 80, "b_host_port": 80, "a_bind_address": "10.0.0.1"}) == []
    assert _problems({"a_host_port": 80, "b_host_port": 80, "a_bind_address": "",
                      "b_bind_address": ""}) == ["b_host_port: port 80 is published by a_host_port already"]


@pytest.mark.parametrize(("name", "value", "ok"), [
    ("prometheus_retention_time", "1y2w3d4h5m6s7ms", True), ("prometheus_retention_time", "1h1d", False),
    ("prometheus_retention_time", "0", False), ("prometheus_retention_time", "15d ", False),
    ("tempo_block_retention", "1.5h", True), ("tempo_block_retention", "0", True),
    ("tempo_block_retention", "1d", False),
    ("tempo_block_retention", "10µs", True), ("influxdb_retention", "1w", True), ("influxdb_retention", "1.5h", False),
    ("influxdb_retention", 0, True), ("influxdb_retention", [], False),
])
def test_durations_follow_their_components_format(name: str, value: Any, ok: bool) -> None:
    assert (_problems({name: value}) == []) is ok


@pytest.mark.parametrize("receivers", [None, "x", {"name": "x"}, [], 3])
def test_receivers_that_are_no_list_are_left_to_the_spec(receivers: Any) -> None:
    assert _problems({"alertmanager_extra_receivers": receivers}) == []


def test_a_receiver_needs_a_true_name_and_known_types_only() -> None:
    receivers = [{"name": None}, {"name": 0}, {"name": "n"}, {"name": "m", "slack_configs": [], "x_configs": []}]
    problems = _problems({"alertmanager_extra_receivers": receivers})
    assert problems[:2] == [f"alertmanager_extra_receivers[{i}]: a receiver is a mapping with a name and *_configs "
                            "lists" for i in (0, 1)]
    assert len(problems) == 3 and problems[2].startswith(
        "alertmanager_extra_receivers[3] ('m'): unknown receiver type 'x_configs'; Alertmanager knows discord_configs")


@pytest.mark.parametrize(("collector", "ok"), [("promtail", True), ("alloy", True), ("Alloy", False), (None, False)])
def test_the_log_collector_is_promtail_or_alloy(collector: Any, ok: bool) -> None:
    assert (_problems({"stack_log_collector": collector}) == []) is ok
