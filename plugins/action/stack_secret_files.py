# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of stack_secret_files: runs the module, or, where site.yml defers the layers' host steps
(``stack_containers_deferred``, not in check mode), keeps the secret directory for stack_containers to apply with the
containers in one run (documented in plugins/modules/stack_secret_files.py)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible_collections.data2ai.grafana_stack.plugins.action.stack_container import (
    OneRun,
    deferring,
    empty_secrets_result,
    save_plan,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.secret_files import ARGUMENT_SPEC


class ActionModule(OneRun):

    def _run(self, tmp, task_vars):
        result = ActionBase.run(self, tmp, task_vars)
        del tmp
        if not deferring(task_vars, self._task.check_mode):
            result.update(self._execute_module(module_name='data2ai.grafana_stack.stack_secret_files',
                                               module_args=self._task.args, task_vars=task_vars))
            return result
        # The module's own checks of its options, here: a plan is applied later, far from this task. The messages
        # name options, never values.
        # The plan keeps the arguments as the task has them; the host side checks them again and expands the path
        # there.
        errors = ArgumentSpecValidator(ARGUMENT_SPEC).validate(dict(self._task.args)).error_messages
        if errors:
            raise AnsibleActionFail(f"stack_secret_files: {'; '.join(errors)}")
        params = dict(self._task.args)
        save_plan(task_vars, {'kind': 'secrets', 'name': f"secrets {params['path']}", 'params': params,
                              'notify': list(self._task.notify or [])})
        result.update(empty_secrets_result(), deferred=True,
                      msg='prepared; data2ai.grafana_stack.stack_containers applies it')
        return result
