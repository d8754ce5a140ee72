# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of influxdb_tokens: the controller's side of the influxdb role's token task.

The module talks to InfluxDB from the managed host (InfluxDB is published on the host's loopback). The read-only
token it keeps valid lives on the controller, so this plugin reads it there before the module runs, writes a new one
there after (mode 0600, in a directory of mode 0700, atomically, with the collection's file helpers) and returns it as a
fact. No token value leaves this plugin in its result, diff or errors. Documented in plugins/modules/influxdb_tokens.py.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible_collections.data2ai.grafana_stack.plugins.action.controller_files import current_state
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.file_modes import write_atomically

MODULE = 'data2ai.grafana_stack.influxdb_tokens'
#: the kept read-only token's file in credentials_dir
READ_TOKEN_FILE = 'influxdb_read_token'
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def read_kept_token(path: str) -> str | None:
    """The token kept in ``path`` (surrounding whitespace removed), or None when there is none."""
    data, _mode = current_state(path)
    if data is None:
        return None
    return to_text(data, errors='surrogate_or_replace').strip() or None


def keep_token(directory: str, token: str) -> None:
    """Writes ``token`` into the directory's token file (0600), making the directory (0700) when it is missing."""
    if not os.path.isdir(directory):
        if os.path.exists(directory):
            raise AnsibleActionFail(f'influxdb_tokens: {directory} exists and is not a directory')
        os.makedirs(directory, mode=DIRECTORY_MODE)
        os.chmod(directory, DIRECTORY_MODE)
    write_atomically(os.path.join(directory, READ_TOKEN_FILE), to_bytes(token, errors='surrogate_or_strict'),
                     FILE_MODE)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = dict(self._task.args)
        args.pop('read_token', None)
        settle = boolean(args.get('settle_read_token', True), strict=False)
        directory = args.get('credentials_dir')
        if settle and directory:
            directory = os.path.expanduser(str(directory))
            args['read_token'] = read_kept_token(os.path.join(directory, READ_TOKEN_FILE))

        module_result = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        # The module's read_token is the value for the rest of the play: it goes into the fact and nowhere else.
        token = module_result.pop('read_token', None)
        result.update(module_result)
        if result.get('failed'):
            if result.get('admin_token_refused'):
                result['msg'] = self._refused_message(task_vars, directory)
                # The module's error summary holds its own message, which Ansible would show first.
                result.pop('exception', None)
            return result
        if not settle:
            return result
        if token and result.get('read_token_created') and not self._task.check_mode:
            try:
                keep_token(directory, token)
            except OSError as exc:
                # The new token is not kept: the next run finds none and makes another one.
                raise AnsibleActionFail(f'influxdb_tokens: InfluxDB made a new read-only token, but it could not '
                                        f'be kept in {os.path.join(directory, READ_TOKEN_FILE)}: '
                                        f'{exc.strerror or exc}') from None
        if token:
            facts = {'influxdb_read_token': token}
            if result.get('read_token_created'):
                facts['influxdb_read_token_changed'] = True
            result['ansible_facts'] = facts
            # A fact is shown with the result (-v): hide the whole result, as no_log would, when it holds a token.
            result['_ansible_no_log'] = True
        return result

    @staticmethod
    def _refused_message(task_vars, directory):
        host = task_vars.get('inventory_hostname', 'this host')
        kept = f', or the one kept in {directory}/influxdb_admin_token' if directory else ''
        return (f'InfluxDB on {host} refuses the admin token (influxdb_admin_token{kept}). InfluxDB 2 makes its '
                'tokens itself and reads DOCKER_INFLUXDB_INIT_ADMIN_TOKEN on its first start only, so changing the '
                'variable does not change the token: set it back to the token InfluxDB holds, then rotate with '
                '-e influxdb_admin_token_rotate=true.')
