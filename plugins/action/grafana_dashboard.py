# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of grafana_dashboard: reads ``src`` on the controller.

The module then receives the JSON as its ``dashboard`` option, so dashboard
files live next to the playbook or role, not on the managed host.
"""

from __future__ import annotations

import json

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.plugins.action import ActionBase

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
            args['dashboard'] = self._read_dashboard(src)
        result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        return result

    def _read_dashboard(self, src):
        try:
            path = self._find_needle('files', src)
            with open(path, 'rb') as handle:
                content = to_text(handle.read(), errors='surrogate_or_strict')
        except (AnsibleError, OSError) as exc:
            raise AnsibleActionFail(f'grafana_dashboard: cannot read {src}: {to_native(exc)}') from exc
        try:
            return json.loads(content)
        except ValueError as exc:
            raise AnsibleActionFail(f'grafana_dashboard: {src} is not valid JSON: {to_native(exc)}') from exc
