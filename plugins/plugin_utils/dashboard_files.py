# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Dashboard JSON files read on the controller, for the action plugins of grafana_dashboard and grafana_content.

A relative path is searched as ``ansible.builtin.copy`` searches its ``src``: the role's ``files/``, then the
playbook's. Any failure is an ``AnsibleActionFail`` in one line that names the module and the file.
"""

from __future__ import annotations

import json
from typing import Any

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.plugins.action import ActionBase
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.http_transport import one_line


def read_dashboard(action: ActionBase, src: str, module: str) -> Any:
    """The JSON of the dashboard file ``src``, found as ``action``'s task finds its files; ``module`` names the
    module in an error."""
    try:
        path = action._find_needle('files', src)  # pylint: disable=protected-access
        with open(path, 'rb') as handle:
            content = to_text(handle.read(), errors='surrogate_or_strict')
    except (AnsibleError, OSError) as exc:
        raise AnsibleActionFail(f'{module}: cannot read {src}: {one_line(to_native(exc))}') from exc
    try:
        return json.loads(content)
    except ValueError as exc:
        raise AnsibleActionFail(f'{module}: {src} is not valid JSON: {one_line(to_native(exc))}') from exc
