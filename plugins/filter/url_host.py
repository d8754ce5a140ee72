# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host of a URL, cut out by a pattern so that a wrong port is never an error here."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: url_host
author:
  - data2ai training team (@data2ai)
short_description: The host of a URL, without brackets, user or port
version_added: 1.0.0
description:
  - Returns the host of a URL (RFC 3986 authority) as it is written, without the user information before C(@),
    the brackets of an IPv6 address and the port. The host keeps its case.
  - The host is cut out by a pattern and the port is not read, so that a URL with a wrong port (for example a
    C(grafana_root_url) ending in C(:abc)) still has a host; preflight names the wrong port.
  - A text without C(scheme://) is returned as it is.
options:
  _input:
    description: The URL.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The name a certificate for Grafana's public URL must carry
  ansible.builtin.debug:
    msg: "{{ 'https://[fd00::1]:3000/' | data2ai.grafana_stack.url_host }}"  # fd00::1
"""

RETURN = r"""
_value:
  description: The host.
  type: str
"""

import re  # noqa: E402

_AUTHORITY_HOST = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?(?:\[([^]/?#]*)\]|([^/:?#]*))")


def url_host(url: str) -> str:
    text = str(url)
    match = _AUTHORITY_HOST.match(text)
    if not match:
        return text
    return match.group(1) if match.group(1) is not None else match.group(2)


class FilterModule:
    def filters(self) -> dict:
        return {"url_host": url_host}
