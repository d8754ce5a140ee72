#!/usr/bin/python
# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: stack_secret_files
short_description: A component's secret files, their directory and the removal of those no longer wanted, in one task
description:
  - Internal to the collection's component roles (Alertmanager's receivers, Grafana's grafana.ini secrets,
    InfluxDB's setup), which call it with their own data instead of one task per step.
  - Creates O(path) with O(mode), O(directory_owner) and O(directory_group), or sets them on the existing directory.
  - Writes each of O(files) in O(path) with O(file_mode), O(owner) and O(group). A file is written only when its
    content differs, atomically, and readable by nobody else from the start (a temporary file beside it, owned and
    moded first, then renamed); a file whose content is the same only gets its mode and owner set when they differ.
  - Removes every file of O(path) whose name matches one of O(remove) and that is not in O(files).
  - The task changes only when the directory, a file's content, mode or owner, or a removal changes anything.
  - The contents never appear in the task's result, its diff or its logged arguments (O(files) is a C(no_log)
    option), so the task needs no C(no_log) of its own and still shows its diff.
author:
  - data2ai training team (@data2ai)
version_added: 1.1.0
options:
  path:
    description: The directory of the secret files on the host.
    type: path
    required: true
  mode:
    description: The mode of O(path), in octal.
    type: str
    default: '0700'
  owner:
    description: The owner (a user name or a numeric id) of the files, and of O(path) unless O(directory_owner) says
      otherwise. Omitted, it is left as it is (a new file belongs to the user the module runs as).
    type: str
  group:
    description: The group (a name or a numeric id) of the files, and of O(path) unless O(directory_group) says
      otherwise. Omitted, it is left as it is.
    type: str
  directory_owner:
    description: The owner of O(path) when it is not O(owner).
    type: str
  directory_group:
    description: The group of O(path) when it is not O(group).
    type: str
  file_mode:
    description: The mode of each of O(files), in octal.
    type: str
    default: '0400'
  files:
    description: The files wanted in O(path), each name (no C(/)) with the file's whole content, as text (UTF-8).
      The contents are never shown.
    type: dict
    default: {}
  remove:
    description: Shell patterns (C(fnmatch)) of file names in O(path) that are removed unless O(files) names them.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Reports what would change and changes nothing.
  diff_mode:
    support: full
    description: Shows the directory and each file by name, mode and owner before and after, and whether its content
      changes; never the content.
"""

EXAMPLES = r"""
- name: Write InfluxDB's setup secrets
  data2ai.grafana_stack.stack_secret_files:
    path: "{{ influxdb_config_dir }}/secrets"
    owner: "{{ influxdb_secrets_owner }}"
    files:
      admin_password: "{{ influxdb_admin_password_effective }}"
      admin_token: "{{ influxdb_admin_token_effective }}"

- name: Write the receivers' secrets and remove those of receivers that are off
  data2ai.grafana_stack.stack_secret_files:
    path: "{{ alertmanager_config_dir }}/secrets"
    owner: "{{ alertmanager_secrets_owner }}"
    file_mode: "0600"
    files: "{{ alertmanager_secret_files | selectattr('needed') | items2dict(key_name='name', value_name='value') }}"
    remove: "{{ alertmanager_secret_files | map(attribute='name') }}"
  notify: Reload alertmanager
"""

RETURN = r"""
directory_changed:
  description: Whether O(path) was created or its mode or owner set.
  returned: always
  type: bool
files_changed:
  description: The names of O(files) written or whose mode or owner was set (would be, in check mode).
  returned: always
  type: list
  elements: str
files_removed:
  description: The names of the files removed (would be, in check mode).
  returned: always
  type: list
  elements: str
"""

import fnmatch  # noqa: E402
import grp  # noqa: E402
import os  # noqa: E402
import pwd  # noqa: E402
import stat  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_bytes, to_text  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils import file_modes  # noqa: E402

ARGUMENT_SPEC = {
    'path': {'type': 'path', 'required': True},
    'mode': {'type': 'str', 'default': '0700'},
    'owner': {'type': 'str'},
    'group': {'type': 'str'},
    'directory_owner': {'type': 'str'},
    'directory_group': {'type': 'str'},
    'file_mode': {'type': 'str', 'default': '0400'},
    'files': {'type': 'dict', 'default': {}, 'no_log': True},
    'remove': {'type': 'list', 'elements': 'str', 'default': []},
}


class SecretFilesError(Exception):
    """A problem with the task's arguments or the host, told in one line without any content."""


def octal_mode(text, option):
    try:
        return file_modes.octal_mode(text, option)
    except ValueError as error:
        raise SecretFilesError(str(error)) from None


def account_id(value, database, kind):
    """A numeric id as it is, a name through ``database`` (pwd or grp); None (left as it is) is -1, as for chown."""
    if value is None:
        return -1
    if str(value).isdigit():
        return int(value)
    try:
        return (database.getpwnam(value).pw_uid if database is pwd else database.getgrnam(value).gr_gid)
    except KeyError:
        raise SecretFilesError(f'{kind} {value!r} is no {kind} on the host') from None


def describe(name, mode, uid, gid):
    return f'{name} mode={mode:04o} owner={uid} group={gid}'


def reconcile(params, check):
    """Brings the directory and files of ``params`` (the module's arguments) about; the result never holds content."""
    path = params['path']
    mode = octal_mode(params['mode'], 'mode')
    file_mode = octal_mode(params['file_mode'], 'file_mode')
    uid, gid = account_id(params['owner'], pwd, 'user'), account_id(params['group'], grp, 'group')
    dir_uid = account_id(params['directory_owner'], pwd, 'user') if params.get('directory_owner') is not None else uid
    dir_gid = account_id(params['directory_group'], grp, 'group') if params.get('directory_group') is not None else gid
    wanted = {}
    for name, content in (params['files'] or {}).items():
        name = to_text(name)
        if not name or '/' in name or name in ('.', '..'):
            raise SecretFilesError(f'the keys of files must be plain file names, not {name!r}')
        wanted[name] = to_bytes(to_text(content, errors='surrogate_or_strict'), errors='surrogate_or_strict')

    result = {'changed': False, 'directory_changed': False, 'files_changed': [], 'files_removed': []}
    before, after = [], []

    st = file_modes.lstat_or_none(path)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise SecretFilesError(f'{path} exists and is not a directory')
    if st is None:
        result['directory_changed'] = True
        before.append(f'{path}/ absent')
        after.append(describe(path + '/', mode, dir_uid if dir_uid != -1 else os.geteuid(),
                              dir_gid if dir_gid != -1 else os.getegid()))
        if not check:
            os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
            os.mkdir(path, 0o700)
            os.chown(path, dir_uid, dir_gid)
            os.chmod(path, mode)
    elif file_modes.attributes_differ(st, mode, dir_uid, dir_gid):
        result['directory_changed'] = True
        before.append(describe(path + '/', stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid))
        after.append(describe(path + '/', mode, dir_uid if dir_uid != -1 else st.st_uid,
                              dir_gid if dir_gid != -1 else st.st_gid))
        if not check:
            os.chown(path, dir_uid, dir_gid)
            os.chmod(path, mode)

    for name, data in wanted.items():
        target = os.path.join(path, name)
        current = None
        file_st = file_modes.lstat_or_none(target) if st is not None else None
        if file_st is not None and not stat.S_ISREG(file_st.st_mode):
            raise SecretFilesError(f'{target} exists and is not a regular file')
        if file_st is not None:
            with open(target, 'rb') as handle:
                current = handle.read()
        content_differs = current != data
        if not content_differs and not file_modes.attributes_differ(file_st, file_mode, uid, gid):
            continue
        result['files_changed'].append(name)
        new_uid = uid if uid != -1 else (file_st.st_uid if file_st else os.geteuid())
        new_gid = gid if gid != -1 else (file_st.st_gid if file_st else os.getegid())
        before.append(describe(name, stat.S_IMODE(file_st.st_mode), file_st.st_uid, file_st.st_gid)
                      if file_st else f'{name} absent')
        after.append(describe(name, file_mode, new_uid, new_gid)
                     + (' content changed' if content_differs and file_st else ''))
        if check:
            continue
        if content_differs:
            file_modes.write_atomically(target, data, file_mode, uid, gid)
        else:
            os.chmod(target, file_mode)
            os.chown(target, uid, gid)

    if params['remove'] and st is not None:
        for name in sorted(os.listdir(path)):
            target = os.path.join(path, name)
            if name in wanted or not any(fnmatch.fnmatchcase(name, pattern) for pattern in params['remove']):
                continue
            if os.path.isdir(target) and not os.path.islink(target):
                continue
            result['files_removed'].append(name)
            before.append(f'{name} present')
            after.append(f'{name} absent')
            if not check:
                os.unlink(target)

    result['changed'] = bool(result['directory_changed'] or result['files_changed'] or result['files_removed'])
    if result['changed']:
        result['diff'] = {'before_header': path, 'after_header': path,
                          'before': ''.join(line + '\n' for line in before),
                          'after': ''.join(line + '\n' for line in after)}
    return result


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = reconcile(module.params, module.check_mode)
    except SecretFilesError as error:
        module.fail_json(msg=f'stack_secret_files {module.params["path"]}: {error}')
    except OSError as error:
        # strerror and the file name only: never the data being written.
        module.fail_json(msg=f'stack_secret_files {module.params["path"]}: {error.strerror}: {error.filename}')
    if not module._diff:
        result.pop('diff', None)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
