# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which secrets of an inventory a component could not take, one line each, never the value."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: secret_problems
author:
  - data2ai training team (@data2ai)
short_description: One line per secret that its component cannot take, without the secret
version_added: 1.0.0
description:
  - Takes the variables (for example C(hostvars[inventory_hostname]), which holds what the inventory and C(-e) set)
    and a mapping of variable name to its rule. Returns one line per problem, naming the variable and never its
    value. A variable the mapping does not hold, or holds as V(null), is not checked.
  - A secret must be made of printable characters. A rule may also refuse some characters (C(forbidden), with the
    reason in C(why)) and an empty value (C(required)).
options:
  _input:
    description: The variables, by name.
    type: dict
    required: true
  rules:
    description: Variable name to C({forbidden, why, required}).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse a Redis password with a comma
  ansible.builtin.debug:
    msg: "{{ hostvars[inventory_hostname] | data2ai.grafana_stack.secret_problems(rules) }}"
  vars:
    rules: {redis_password: {forbidden: ",", why: "Grafana's connection string splits on it", required: true}}
"""

RETURN = r"""
_value:
  description: The problems, one line each.
  type: list
  elements: str
"""

from collections.abc import Mapping  # noqa: E402
from typing import Any  # noqa: E402


def _problem(name: str, value: Any, rule: Mapping[str, Any]) -> str | None:
    text = str(value)
    if not text:
        return f"{name}: must not be empty" if rule.get("required") else None
    if not text.isprintable():
        return f"{name}: only printable characters (no tabs, newlines or control characters)"
    refused = sorted({char for char in text if char in str(rule.get("forbidden", ""))})
    if refused:
        shown = " ".join(repr(char) for char in refused)
        return f"{name}: cannot contain {shown}: {rule.get('why', 'its component refuses it')}"
    return None


def secret_problems(variables: Mapping[str, Any], rules: Mapping[str, Mapping[str, Any]]) -> list[str]:
    problems = []
    for name, rule in rules.items():
        value = variables.get(name)
        problem = None if value is None else _problem(name, value, rule)
        if problem:
            problems.append(problem)
    return problems


class FilterModule:
    def filters(self) -> dict:
        return {"secret_problems": secret_problems}
