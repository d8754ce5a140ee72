# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of stack_containers: applies, in one task, every component that stack_container tasks prepared for
the host (documented in plugins/modules/stack_containers.py)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.data2ai.grafana_stack.plugins.action.stack_container import StackComponents, take_plans


class ActionModule(StackComponents):

    def _run(self, tmp, task_vars):
        result = ActionBase.run(self, tmp, task_vars)
        del tmp
        self.validate_argument_spec(argument_spec={})
        plans = take_plans(task_vars)
        applied, failures = self._apply(plans, task_vars)
        notified, diffs = [], []
        for plan, done in zip(plans, applied):
            diffs.extend(done.pop('diff', []))
            # A container made or remade in this run has read its configuration; a running one must restart or
            # reload, which its role's handlers do. Changed secret files notify their task's handlers, which skip a
            # container made in this run themselves (they read `recreated`).
            if done['changed'] and not done.get('container_changed') and not done.get('failed'):
                notified.extend(name for name in plan['notify'] if name not in notified)
        containers = [(plan, done) for plan, done in zip(plans, applied) if plan.get('kind') != 'secrets']
        result.update(changed=any(done['changed'] for done in applied),
                      containers={plan['name']: done for plan, done in containers},
                      secret_files={plan['name']: done for plan, done in zip(plans, applied)
                                    if plan.get('kind') == 'secrets'},
                      recreated=[plan['name'] for plan, done in containers if done['container_changed']],
                      notified=notified)
        if diffs:
            result['diff'] = diffs
        if notified:
            # What ansible-core's task executor puts in a result for the task's own `notify`; the strategy notifies
            # these handlers when the result is changed.
            result['_ansible_notify'] = notified
        if failures:
            raise AnsibleActionFail('; '.join(failures), result=result)
        return result
