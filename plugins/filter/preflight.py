# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""preflight's checks of an inventory: the subnet, the argument spec results, ports, durations, Alertmanager
receivers and the log collector, one line per problem."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: preflight_problems
author:
  - data2ai training team (@data2ai)
short_description: One line per problem preflight finds in the inventory's values
version_added: 1.0.0
description:
  - Takes the values of the variables that P(data2ai.grafana_stack.preflight_variables#filter) names (those that
    are defined; a variable that is missing is not checked) and returns one line per problem, in this order.
  - The stack's subnet (C(docker_host_subnet), else C(stack_subnet)) must be an IPv4 CIDR, as docker_host checks it.
  - The results of C(ansible.builtin.validate_argument_spec) run for each component role (O(spec_results)) give
    their C(argument_errors); a check that did not run at all is named by its item and the first line of its
    message, except the error about C(stack_gateway) that a wrong subnet, already named, causes.
  - Every port variable (O(ports)) given as digits must be 1-65535; a C(*_host_port) must not be published twice on
    one address (its role's C(*_bind_address)).
  - Every duration variable (O(durations), by format) must match its format's pattern (O(patterns)); the line shows
    the format's examples (O(examples)).
  - Each of C(alertmanager_extra_receivers), when a list, must be a mapping with a name whose other keys are
    receiver types Alertmanager knows (O(receiver_types)).
  - C(stack_log_collector) must be promtail or alloy.
  - A line names the variable and never holds a secret, as none of these variables is one.
options:
  _input:
    description: Variable name to value, for the variables that are defined.
    type: dict
    required: true
  spec_results:
    description: The C(results) of the registered C(ansible.builtin.validate_argument_spec) loop over the roles.
    type: list
    elements: dict
    required: true
  ports:
    description: Names of the variables that hold a port.
    type: list
    elements: str
    required: true
  durations:
    description: Format (C(prometheus), C(go), C(influxdb)) to the names of the variables in that format.
    type: dict
    required: true
  patterns:
    description: Format to the regular expression its durations match.
    type: dict
    required: true
  examples:
    description: Format to the examples a problem line shows.
    type: dict
    required: true
  receiver_types:
    description: The C(*_configs) keys Alertmanager knows.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Check the inventory
  ansible.builtin.set_fact:
    preflight_problems: >-
      {{ preflight_values | data2ai.grafana_stack.preflight_problems(
           spec_results=preflight_spec_results.results, ports=['grafana_host_port'],
           durations={'prometheus': ['prometheus_retention_time']}, patterns=preflight_duration_patterns,
           examples=preflight_duration_examples, receiver_types=['webhook_configs']) }}
  vars:
    preflight_values: {grafana_host_port: 70000, prometheus_retention_time: 30 days}
    # ['grafana_host_port: 70000 is not a port (1-65535)',
    #  "prometheus_retention_time: '30 days' is not a duration; write it like 30d, 720h or 1h30m"]
"""

RETURN = r"""
_value:
  description: The problems, one line each; empty when there is none.
  type: list
  elements: str
"""

import re  # noqa: E402
from collections.abc import Iterable, Mapping  # noqa: E402
from typing import Any  # noqa: E402

SUBNET_VARIABLES = ("docker_host_subnet", "stack_subnet")
RECEIVERS = "alertmanager_extra_receivers"
LOG_COLLECTOR = "stack_log_collector"
LOG_COLLECTORS = ("promtail", "alloy")
_CIDR = re.compile(r"^(\d{1,3}[.]){3}\d{1,3}/\d{1,2}$")
_DIGITS = re.compile(r"^[0-9]+$")
HOST_PORT = re.compile(r"_(otlp_grpc_|otlp_http_)?host_port$")


def _truncate(text: str, length: int = 60, leeway: int = 5, end: str = "...") -> str:
    """Jinja's truncate(60): kept whole within the leeway, else cut at the last word that fits."""
    if len(text) <= length + leeway:
        return text
    return text[: length - len(end)].rsplit(" ", 1)[0] + end


def _subnet_problem(values: Mapping[str, Any]) -> str | None:
    subnet = str(values.get(SUBNET_VARIABLES[0], values.get(SUBNET_VARIABLES[1], "")))
    if _CIDR.match(subnet):
        address, prefix = subnet.split("/")
        if max(int(octet) for octet in address.split(".")) <= 255 and int(prefix) <= 32:
            return None
    return f"docker_host_subnet (stack_subnet) must be an IPv4 CIDR such as 172.20.0.0/16, got {_truncate(subnet)}"


def _spec_problems(results: Iterable[Mapping[str, Any]], subnet_ok: bool) -> list[str]:
    problems = []
    for result in results:
        problems += [str(error) for error in result.get("argument_errors") or []]
        message = str(result.get("msg", "the check of its variables did not run"))
        if ("argument_errors" not in result and not message.startswith("The arg spec validation passed")
                and (subnet_ok or "stack_gateway" not in message)):
            problems.append(f"{result.get('item')}: {(message.splitlines() or [''])[0]}")
    return problems


def _port_problems(values: Mapping[str, Any], ports: Iterable[str]) -> list[str]:
    problems, published = [], {}
    for name in ports:
        value = values.get(name)
        if value is None or isinstance(value, bool) or not _DIGITS.match(str(value)):
            continue  # not a number: the argument spec names it
        port = int(value)
        if not 1 <= port <= 65535:
            problems.append(f"{name}: {value} is not a port (1-65535)")
        elif name.endswith("_host_port"):
            key = f"{values.get(HOST_PORT.sub('_bind_address', name), '')}:{port}"
            if key in published:
                problems.append(f"{name}: port {value} is published by {published[key]} already")
            else:
                published[key] = name
    return problems


def _duration_problems(values: Mapping[str, Any], durations: Mapping[str, Iterable[str]],
                       patterns: Mapping[str, str], examples: Mapping[str, str]) -> list[str]:
    problems = []
    for kind, names in durations.items():
        for name in names:
            value = values.get(name)
            if value is not None and (str(value) == "" or not re.match(patterns[kind], str(value))):
                problems.append(f"{name}: '{value}' is not a duration; write it like {examples[kind]}")
    return problems


def _receiver_problems(receivers: Any, types: list[str]) -> list[str]:
    if isinstance(receivers, (str, bytes, Mapping)) or not isinstance(receivers, Iterable):
        return []  # not a list: the argument spec names it
    problems = []
    for index, receiver in enumerate(receivers):
        who = f"{RECEIVERS}[{index}]"
        if not isinstance(receiver, Mapping) or not receiver.get("name"):
            problems.append(f"{who}: a receiver is a mapping with a name and *_configs lists")
            continue
        problems += [f"{who} ('{receiver['name']}'): unknown receiver type '{key}'; Alertmanager knows "
                     + ", ".join(types) for key in receiver if key != "name" and key not in types]
    return problems


def preflight_problems(values: Mapping[str, Any], spec_results: Iterable[Mapping[str, Any]], ports: Iterable[str],
                       durations: Mapping[str, Iterable[str]], patterns: Mapping[str, str],
                       examples: Mapping[str, str], receiver_types: Iterable[str]) -> list[str]:
    subnet = _subnet_problem(values)
    problems = [subnet] if subnet else []
    problems += _spec_problems(spec_results, subnet is None)
    problems += _port_problems(values, ports)
    problems += _duration_problems(values, durations, patterns, examples)
    problems += _receiver_problems(values.get(RECEIVERS, []), list(receiver_types))
    collector = values.get(LOG_COLLECTOR, LOG_COLLECTORS[0])
    if collector not in LOG_COLLECTORS:
        problems.append(f"{LOG_COLLECTOR}: '{collector}' is not a log collector of the stack; choose "
                        + " or ".join(LOG_COLLECTORS))
    return problems


class FilterModule:
    def filters(self) -> dict:
        return {"preflight_problems": preflight_problems}
