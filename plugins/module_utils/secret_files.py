# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A component's secret files and their directory, brought about on the host: the module stack_secret_files, and
stack_component (for the secret files stack_containers applies with the containers), both call ``reconcile``."""

from __future__ import annotations

import fnmatch
import grp
import os
import pwd
import stat

from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible_collections.data2ai.grafana_stack.plugins.module_utils import file_modes

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


def apply(params, check):
    """``reconcile``, with any failure as SecretFilesError whose one line names the directory and never a content."""
    try:
        return reconcile(params, check)
    except SecretFilesError as error:
        raise SecretFilesError(f"stack_secret_files {params['path']}: {error}") from None
    except OSError as error:
        raise SecretFilesError(f"stack_secret_files {params['path']}: {error.strerror}: {error.filename}") from None
