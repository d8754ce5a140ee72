# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Entries of stack_container's files option, from a list of sources and a list of destinations."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
---
name: file_entries
author:
  - data2ai training team (@data2ai)
short_description: Pairs sources with destinations as the files option of stack_container takes them
version_added: 1.2.0
description:
  - Returns one dictionary C({src, dest}) per source, in order, with the other keyword options (C(mode),
    C(validate)) added to each.
options:
  _input:
    description: The sources (a role's C(files) path or a path on the controller).
    type: list
    elements: str
    required: true
  dests:
    description: The destinations, one per source, relative to the configuration directory.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Prometheus's rule files, each checked by promtool
  data2ai.grafana_stack.stack_container:
    name: prometheus
    image: prom/prometheus:v3.8.0
    config_dir: /opt/grafana-stack/prometheus
    files: >-
      {{ ['rules/node.yml'] | data2ai.grafana_stack.file_entries(['rules/node.yml'],
                                                                 validate='promtool check rules %s') }}
"""

RETURN = r"""
_value:
  description: The entries, C([{src, dest, ...}]).
  type: list
  elements: dict
"""


def file_entries(sources: Iterable[Any], dests: Iterable[Any], **common: Any) -> list[dict[str, Any]]:
    sources, dests = [str(source) for source in sources], [str(dest) for dest in dests]
    if len(sources) != len(dests):
        raise AnsibleFilterError(f"file_entries: {len(sources)} source(s) but {len(dests)} destination(s)")
    return [dict(common, src=source, dest=dest) for source, dest in zip(sources, dests)]


class FilterModule:
    def filters(self) -> dict:
        return {"file_entries": file_entries}
