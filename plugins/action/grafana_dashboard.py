# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of grafana_dashboard: reads ``src`` on the controller.

The module then receives the JSON as its ``dashboard`` option, so dashboard
files live next to the playbook or role, not on the managed host.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.data2ai.grafana_stack.plugins.plugin_utils.dashboard_files import read_dashboard

MODULE = 'data2ai.grafana_stack.grafana_dashboard'


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        src = args.pop('src', None)
        if src is not None:
            if args.get('dashboard') is not None:
                raise AnsibleActionFail('grafana_dashboard: parameters are mutually exclusive: dashboard|src')
            args['dashboard'] = read_dashboard(self, src, 'grafana_dashboard')
        result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        return result
