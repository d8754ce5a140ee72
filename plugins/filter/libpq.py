# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A value of a PostgreSQL key/value connection string, quoted when lib/pq would otherwise misread it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: libpq_value
author:
  - data2ai training team (@data2ai)
short_description: A value for a PostgreSQL key/value connection string, quoted only when it must be
version_added: 1.0.0
description:
  - lib/pq (and libpq) read an unquoted value of a C(key=value) connection string up to the first white space, and
    read a backslash as an escape (lib/pq conn.go, parseOpts; PostgreSQL's libpq-connect, Keyword/Value Connection
    Strings). A value with white space, a backslash or a single quote, and an empty value, is returned in single
    quotes with its backslashes and single quotes escaped by a backslash. Any other value is returned as it is.
  - Grafana appends its database password unquoted to such a string (C(" password=") + value, Grafana's
    pkg/services/sqlstore/database_config.go), so the grafana role gives it this filter's result.
  - Never put the result in a message, as it is the secret.
options:
  _input:
    description: The value, for example a password.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Write the database password as lib/pq reads it
  ansible.builtin.copy:
    content: "{{ grafana_database_password | data2ai.grafana_stack.libpq_value }}"  # it's me -> 'it\'s me'
    dest: /etc/grafana/secrets/database_password
    mode: "0400"
  no_log: true
"""

RETURN = r"""
_value:
  description: The value, quoted when it must be.
  type: str
"""

BACKSLASH = "\\"


def libpq_value(value: str) -> str:
    text = str(value)
    if text and not any(char.isspace() or char in (BACKSLASH, "'") for char in text):
        return text
    return "'" + text.replace(BACKSLASH, BACKSLASH * 2).replace("'", BACKSLASH + "'") + "'"


class FilterModule:
    def filters(self) -> dict:
        return {"libpq_value": libpq_value}
