# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of controller_files: several small files on the controller in one task.

The cohort role keeps its records and handouts on the controller. With ``ansible.builtin.copy`` each file was a task
that shipped a module to the controller itself (about 0.4 s each); this plugin writes them in the controller's own
process, only the files whose content or mode differs, each atomically (a temporary file in the same directory,
then a rename). Documented in plugins/modules/controller_files.py.
"""

from __future__ import annotations

import os
import stat
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase
from ansible_collections.data2ai.grafana_stack.plugins.module_utils import file_modes

ARGUMENT_SPEC = {
    'directory': {'type': 'path'},
    'directory_mode': {'type': 'str', 'default': '0700'},
    'files': {
        'type': 'list',
        'elements': 'dict',
        'default': [],
        'options': {
            'path': {'type': 'path', 'required': True},
            'content': {'type': 'str', 'required': True},
            'mode': {'type': 'str', 'default': '0600'},
        },
    },
}


def octal_mode(text: str, option: str) -> int:
    """``'0600'`` -> 0o600; anything else than an octal permission fails the task in one line."""
    try:
        return file_modes.octal_mode(text, option)
    except ValueError as error:
        raise AnsibleActionFail(f'controller_files: {error}') from None


def current_state(path: str) -> tuple[bytes | None, int | None]:
    """The file's bytes and permission bits, or (None, None) when there is no such file."""
    try:
        with open(path, 'rb') as handle:
            return handle.read(), stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
    except FileNotFoundError:
        return None, None
    except IsADirectoryError:
        raise AnsibleActionFail(f'controller_files: {path} is a directory') from None


def write_atomically(path: str, data: bytes, mode: int) -> None:
    """Writes ``data`` to a temporary file beside ``path`` (with ``mode`` from the start), then renames it."""
    handle, temporary = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', dir=os.path.dirname(path))
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, 'wb') as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        del validation
        check = self._task.check_mode
        directory = args['directory']
        directory_mode = octal_mode(args['directory_mode'], 'directory_mode')
        result.update(changed=False, directory_created=False, files=[])
        diffs = []

        if directory and not os.path.isdir(directory):
            if os.path.exists(directory):
                raise AnsibleActionFail(f'controller_files: {directory} exists and is not a directory')
            result.update(changed=True, directory_created=True)
            diffs.append({'before': {'path': directory, 'state': 'absent'},
                          'after': {'path': directory, 'state': 'directory'}})
            if not check:
                os.makedirs(directory, mode=directory_mode)
                os.chmod(directory, directory_mode)

        for item in args['files']:
            path = item['path']
            if directory and not os.path.isabs(path):
                path = os.path.join(directory, path)
            data = to_bytes(item['content'], errors='surrogate_or_strict')
            mode = octal_mode(item['mode'], 'files[].mode')
            before, before_mode = current_state(path)
            content_differs, mode_differs = before != data, before_mode != mode
            result['files'].append({'path': path, 'changed': content_differs or mode_differs})
            if not (content_differs or mode_differs):
                continue
            result['changed'] = True
            diffs.append({'before_header': path, 'after_header': path,
                          'before': to_text(before, errors='surrogate_or_replace') if before is not None else '',
                          'after': to_text(data, errors='surrogate_or_replace')})
            if check:
                continue
            if not os.path.isdir(os.path.dirname(path) or '.'):
                raise AnsibleActionFail(f'controller_files: the directory of {path} does not exist')
            if content_differs:
                write_atomically(path, data, mode)
            else:
                os.chmod(path, mode)
        if self._task.diff and diffs:
            result['diff'] = diffs
        return result
