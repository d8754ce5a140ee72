# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bind propagation a mount of a host directory needs, read from /proc/self/mountinfo."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: mountinfo_propagation
author:
  - data2ai training team (@data2ai)
short_description: rslave when the mount on a mount point is shared or a slave, else default
version_added: 1.0.0
description:
  - Reads the text of C(/proc/self/mountinfo) (proc(5)) and finds the last mount on O(mount_point), the one in
    effect. Returns V(rslave) when its optional fields say it is shared (C(shared:N)) or a slave (C(master:N)), so
    that a bind mount of it receives the mounts made on the host later; else V(default), Docker's default
    propagation.
  - Only the optional fields count, not the super options after the C(-) separator. With no mount on
    O(mount_point) (an empty or foreign text) it returns V(default).
options:
  _input:
    description: The text of C(/proc/self/mountinfo).
    type: str
    required: true
  mount_point:
    description: The mount point, as mountinfo writes it (octal escapes such as C(\040) for a space).
    type: str
    default: /
"""

EXAMPLES = r"""
- name: Read the host's mounts
  ansible.builtin.slurp:
    src: /proc/self/mountinfo
  register: mountinfo

- name: Mount / with the propagation it needs
  ansible.builtin.debug:
    msg: "{{ mountinfo.content | b64decode | data2ai.grafana_stack.mountinfo_propagation }}"
"""

RETURN = r"""
_value:
  description: V(rslave) or V(default).
  type: str
"""


def mountinfo_propagation(text: str, mount_point: str = "/") -> str:
    propagation = "default"
    for line in str(text).splitlines():
        fields = line.split(" ")
        if len(fields) < 7 or fields[4] != mount_point:
            continue
        optional = fields[6:fields.index("-")] if "-" in fields[6:] else []
        shared = any(field.startswith(("shared:", "master:")) for field in optional)
        propagation = "rslave" if shared else "default"
    return propagation


class FilterModule:
    def filters(self) -> dict:
        return {"mountinfo_propagation": mountinfo_propagation}
