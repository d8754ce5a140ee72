# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Permission modes as the collection's file-writing plugins take them (controller_files, stack_secret_files)."""

from __future__ import annotations


def octal_mode(text, option):
    """``'0600'`` -> 0o600; anything else than an octal permission raises ValueError with a one-line reason."""
    try:
        mode = int(str(text), 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o7777:
        raise ValueError(f'{option} must be an octal mode such as 0600, not {text!r}')
    return mode
