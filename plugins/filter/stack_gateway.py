# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters about the stack's Docker network."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: stack_gateway
author:
  - data2ai training team (@data2ai)
short_description: The gateway address of the stack's bridge network
version_added: 1.0.0
description:
  - Returns the first host address of an IPv4 subnet in CIDR form, which is the gateway that the docker_host role
    gives the stack's bridge network (and the address Docker picks itself when none is given).
  - It is the host as the containers on that network see it. Node Exporter listens there (host network), and
    playbooks/verify.yml's alert sink listens there too.
options:
  _input:
    description: The subnet, for example V(172.20.0.0/16).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Node Exporter's scrape target
  ansible.builtin.debug:
    msg: "{{ '172.20.0.0/16' | data2ai.grafana_stack.stack_gateway }}:9100"  # 172.20.0.1:9100
"""

RETURN = r"""
_value:
  description: The first host address of the subnet.
  type: str
"""

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils import stack_network  # noqa: E402


def stack_gateway(subnet: str) -> str:
    """First host address of an IPv4 subnet ("172.20.0.0/16" -> "172.20.0.1")."""
    try:
        return stack_network.gateway(subnet)
    except ValueError as exc:
        raise AnsibleFilterError(f"stack_gateway: {exc}") from exc


class FilterModule:
    def filters(self) -> dict:
        return {"stack_gateway": stack_gateway}
