# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The variables that preflight's checks (the preflight_problems filter) read."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: preflight_variables
author:
  - data2ai training team (@data2ai)
short_description: The variables that the preflight_problems filter reads
version_added: 1.0.0
description:
  - Returns the names of every variable whose value P(data2ai.grafana_stack.preflight_problems#filter) checks, so
    that a task can look up those that are defined, each name once, in this order.
  - The stack's subnet (C(docker_host_subnet), C(stack_subnet)), the port variables, the address each
    C(*_host_port) is published on (its role's C(*_bind_address), also for Tempo's C(*_otlp_grpc_host_port) and
    C(*_otlp_http_host_port)), the duration variables, C(alertmanager_extra_receivers) and C(stack_log_collector).
options:
  _input:
    description: The names of the variables that hold a port.
    type: list
    elements: str
    required: true
  durations:
    description: Format to the names of the variables in that format.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Name the variables preflight reads
  ansible.builtin.debug:
    msg: >-
      {{ ['tempo_host_port', 'tempo_otlp_grpc_host_port']
         | data2ai.grafana_stack.preflight_variables({'go': ['tempo_block_retention']}) }}
  # ['docker_host_subnet', 'stack_subnet', 'tempo_host_port', 'tempo_otlp_grpc_host_port', 'tempo_bind_address',
  #  'tempo_block_retention', 'alertmanager_extra_receivers', 'stack_log_collector']
"""

RETURN = r"""
_value:
  description: The variable names.
  type: list
  elements: str
"""

from collections.abc import Iterable, Mapping  # noqa: E402

from ansible_collections.data2ai.grafana_stack.plugins.filter.preflight import (  # noqa: E402
    HOST_PORT,
    LOG_COLLECTOR,
    RECEIVERS,
    SUBNET_VARIABLES,
)


def preflight_variables(ports: Iterable[str], durations: Mapping[str, Iterable[str]]) -> list[str]:
    """Every variable preflight_problems reads: the subnet, the ports and the addresses the host ports are
    published on, the durations, the receivers and the log collector."""
    ports = list(ports)
    addresses = [HOST_PORT.sub("_bind_address", name) for name in ports if name.endswith("_host_port")]
    names = [*SUBNET_VARIABLES, *ports, *addresses, *(name for group in durations.values() for name in group),
             RECEIVERS, LOG_COLLECTOR]
    return list(dict.fromkeys(names))


class FilterModule:
    def filters(self) -> dict:
        return {"preflight_variables": preflight_variables}
