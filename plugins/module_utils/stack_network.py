# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The stack's bridge network: its subnet as the inventory gives it, and its gateway. The ``stack_host`` module
creates the network with them; the ``stack_gateway`` filter gives the gateway to the roles (Node Exporter listens
there, Prometheus scrapes it there)."""

from __future__ import annotations

import ipaddress


def subnet(text):
    """The IPv4 network ``text`` names in CIDR form (``172.20.0.0/16``); ValueError with a one-line reason."""
    try:
        network = ipaddress.IPv4Network(str(text), strict=False) if '/' in str(text) else None
    except ValueError:
        network = None
    if network is None:
        raise ValueError(f'{text!r} is not an IPv4 subnet in CIDR form such as 172.20.0.0/16')
    if network.num_addresses < 4:
        raise ValueError(f'{text!r} has no room for a gateway and containers')
    return network


def gateway(text):
    """The first host address of the subnet, the gateway Docker would pick itself ("172.20.0.0/16" -> "172.20.0.1").
    ``text`` may also be the network ``subnet`` returned."""
    network = text if isinstance(text, ipaddress.IPv4Network) else subnet(text)
    return str(network.network_address + 1)
