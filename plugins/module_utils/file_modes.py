# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Permission modes and atomic writes, as the collection's file-writing plugins use them (controller_files,
stack_secret_files, stack_component)."""

from __future__ import annotations

import os
import stat
import tempfile


def octal_mode(text, option):
    """``'0600'`` -> 0o600; anything else than an octal permission raises ValueError with a one-line reason."""
    try:
        mode = int(str(text), 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o7777:
        raise ValueError(f'{option} must be an octal mode such as 0600, not {text!r}')
    return mode


def attributes_differ(st, mode, uid, gid):
    """Whether the ``os.stat`` result ``st`` differs from ``mode`` or from ``uid``/``gid`` (-1: left as it is)."""
    return (stat.S_IMODE(st.st_mode) != mode or (uid != -1 and st.st_uid != uid)
            or (gid != -1 and st.st_gid != gid))


def write_atomically(path, data, mode, uid=-1, gid=-1, check=None):
    """Writes ``data`` to a temporary file beside ``path``, owned and moded before any byte, then renames it.

    ``check``, when given, is called with the temporary file's path before the rename; whatever it raises leaves the
    live file as it was (the temporary file is removed).
    """
    handle, temporary = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', dir=os.path.dirname(path))
    try:
        os.fchmod(handle, mode)
        os.fchown(handle, uid, gid)
        with os.fdopen(handle, 'wb') as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if check is not None:
            check(temporary)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def lstat_or_none(path):
    """``os.lstat(path)``, or None when nothing is there."""
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
