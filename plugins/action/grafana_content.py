# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of grafana_content: reads each dashboard's ``src`` (alias ``file``) on the controller.

The module then receives each JSON as that entry's ``dashboard``, as grafana_dashboard's action plugin does for its
one dashboard (both read through plugin_utils/dashboard_files.py).
"""

from __future__ import annotations

from typing import Any, Dict

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.data2ai.grafana_stack.plugins.plugin_utils.dashboard_files import read_dashboard

MODULE = 'data2ai.grafana_stack.grafana_content'
#: the names of a dashboard entry's file option (``file``: the grafana role's grafana_dashboards entries)
SRC_NAMES = ('src', 'file')


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        dashboards = args.get('dashboards')
        if isinstance(dashboards, list):
            args['dashboards'] = [self._with_model(entry, number) for number, entry in enumerate(dashboards, 1)]
        result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        return result

    def _with_model(self, entry: Any, number: int) -> Any:
        """The entry with its file's JSON as ``dashboard``; an entry without a file is left to the module."""
        if not isinstance(entry, dict):
            return entry
        named = [name for name in SRC_NAMES if entry.get(name) is not None]
        if not named:
            return entry
        src = entry[named[0]]
        if len(named) > 1 or entry.get('dashboard') is not None:
            raise AnsibleActionFail(f'grafana_content: dashboards[{number}] ({src}): set one of dashboard, src '
                                    '(alias file)')
        model: Dict[str, Any] = {k: v for k, v in entry.items() if k not in SRC_NAMES}
        model['dashboard'] = read_dashboard(self, src, 'grafana_content')
        return model
