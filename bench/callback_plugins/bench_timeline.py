# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Callback for bench/bench_converge.py: one JSON line per play, task and result, with wall-clock timestamps.

Enabled only by the benchmark (ANSIBLE_CALLBACKS_ENABLED=bench_timeline,
ANSIBLE_CALLBACK_PLUGINS=bench/callback_plugins); writes to the file named by BENCH_TIMELINE_FILE. The benchmark
counts a task's time from its start to the start of the next task (or the end of the run), so the strategy's own
work between tasks is counted too and the times add up to the run's wall time less Ansible's start-up.
"""

from __future__ import annotations

DOCUMENTATION = """
---
name: bench_timeline
type: aggregate
short_description: timestamps of every play, task and result, for the converge benchmark
description:
  - Writes one JSON object a line to the file named by the environment variable E(BENCH_TIMELINE_FILE).
author: data2ai contributors
requirements:
  - enable in the benchmark's environment only
"""

import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

from ansible.plugins.callback import CallbackBase  # noqa: E402


class CallbackModule(CallbackBase):
    """Appends one JSON line per event to BENCH_TIMELINE_FILE."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timeline"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._path = os.environ.get("BENCH_TIMELINE_FILE")

    def _emit(self, **event):
        if not self._path:
            return
        event["t"] = time.time()
        with open(self._path, "a", encoding="utf-8") as out:
            out.write(json.dumps(event) + "\n")

    def v2_playbook_on_play_start(self, play):
        self._emit(event="play", name=play.get_name())

    def _task(self, task, handler):
        role = task._role.get_name(include_role_fqcn=False) if task._role else ""
        self._emit(event="task", name=task.get_name(), role=role, path=task.get_path() or "", action=task.action,
                   handler=handler)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task(task, False)

    def v2_playbook_on_handler_task_start(self, task):
        self._task(task, True)

    def _result(self, result, status):
        changed = bool(result._result.get("changed", False)) and status == "ok"
        self._emit(event="result", host=result._host.get_name(), status="changed" if changed else status)

    def v2_runner_on_ok(self, result):
        self._result(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed.keys())
        self._emit(event="stats", hosts={host: stats.summarize(host) for host in hosts})
