"""The collection's filter plugins, called as Python functions."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.data2ai.grafana_stack.plugins.filter.stack_gateway import stack_gateway
from ansible_collections.data2ai.grafana_stack.plugins.module_utils import stack_network


@pytest.mark.parametrize(("subnet", "gateway"), [
    ("172.20.0.0/16", "172.20.0.1"),
    ("172.31.243.0/24", "172.31.243.1"),
    ("10.0.0.0/8", "10.0.0.1"),
    ("192.168.7.64/26", "192.168.7.65"),
    ("172.20.5.9/16", "172.20.0.1"),  # host bits set: the network's first address all the same
])
def test_stack_gateway_is_the_first_host_address_of_the_subnet(subnet: str, gateway: str) -> None:
    assert stack_gateway(subnet) == gateway
    # stack_host parses the subnet once and asks for the gateway of the parsed network
    assert stack_network.gateway(stack_network.subnet(subnet)) == gateway


@pytest.mark.parametrize("subnet", ["172.20.0.0", "not-a-subnet", "172.20.0.0/33", "fd00::/64", "10.0.0.0/31"])
def test_stack_gateway_refuses_what_is_no_usable_ipv4_subnet(subnet: str) -> None:
    with pytest.raises(AnsibleFilterError, match="stack_gateway"):
        stack_gateway(subnet)
