# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Why a task failed, in one line, without undoing its no_log."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: stack_failure_reason
author:
  - data2ai training team (@data2ai)
short_description: One line saying why a task failed, that keeps what no_log hides hidden
version_added: 1.0.0
description:
  - Takes C(ansible_failed_result) in a C(rescue) section and returns the failed task's message and standard
    error, joined by a colon. For a loop, the first failed item's.
  - In a C(rescue) section C(ansible_failed_result) is the raw result, even for a task with C(no_log). When the task
    or the failed item was C(no_log), the filter returns C(output hidden (no_log)) and nothing of the result.
options:
  _input:
    description: C(ansible_failed_result).
    type: dict
    required: true
  task:
    description: C(ansible_failed_task), whose C(no_log) is honoured too.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Record why the deployment failed
  ansible.builtin.set_fact:
    reason: "{{ ansible_failed_result | data2ai.grafana_stack.stack_failure_reason(ansible_failed_task) }}"
"""

RETURN = r"""
_value:
  description: The reason, C(output hidden (no_log)), or C(no message).
  type: str
"""

from collections.abc import Mapping  # noqa: E402
from typing import Any  # noqa: E402

HIDDEN = "output hidden (no_log)"


def _hidden(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "yes", "1", "on")


def _failed_part(result: Mapping[str, Any]) -> Mapping[str, Any]:
    """The first failed loop item of a looped task's result, or the result itself."""
    for item in result.get("results") or []:
        if isinstance(item, Mapping) and item.get("failed"):
            return item
    return result


def stack_failure_reason(result: Mapping[str, Any] | None, task: Mapping[str, Any] | None = None) -> str:
    result = result if isinstance(result, Mapping) else {}
    failed = _failed_part(result)
    parts_to_check = (task or {}, result, failed)
    if any(_hidden(part.get(key, False)) for part in parts_to_check for key in ("no_log", "_ansible_no_log")):
        return HIDDEN
    parts = [str(failed.get(key) or "").strip() for key in ("msg", "stderr")]
    return ": ".join(part for part in parts if part) or "no message"


class FilterModule:
    def filters(self) -> dict:
        return {"stack_failure_reason": stack_failure_reason}
