#!/usr/bin/python
# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: grafana_user
short_description: Manage Grafana users
version_added: 1.0.0
description:
  - Create, update and delete a Grafana user (server-wide) through the admin API.
  - Users are global in Grafana; give them roles in organizations with
    M(data2ai.grafana_stack.grafana_organization) and put them in teams with M(data2ai.grafana_stack.grafana_team).
    The module has no org selection options.
  - Needs a Grafana server admin (basic authentication).
  - The user is found by O(login), compared as Grafana compares logins (case-insensitively). Grafana's user
    lookup also matches emails; a user whose B(email) is O(login) is not taken for it, so O(state=absent) never
    deletes, and O(state=present) never renames, another user. Since Grafana 11 logins and emails are stored in
    lower case; a login or email that differs only in case is not a change.
author:
  - data2ai training team (@data2ai)
extends_documentation_fragment:
  - data2ai.grafana_stack.grafana
  - data2ai.grafana_stack.grafana.attributes
options:
  state:
    description:
      - V(present) creates or updates the user, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  login:
    description:
      - Login of the user.
    type: str
    required: true
  name:
    description:
      - Display name. Not compared when unset.
    type: str
  email:
    description:
      - Email address. Not compared when unset; Grafana uses the login when a user is created without one.
    type: str
  password:
    description:
      - Password of the user. Required to create the user.
      - Grafana never returns passwords, so they cannot be compared. See O(password_update).
    type: str
  password_update:
    description:
      - V(on_create) sets O(password) only when the user is created, so a user who changed their password
        keeps it, and the module stays idempotent.
      - V(always) sets it on every run, which reports C(changed) every time and ends the user's sessions.
    type: str
    choices: [always, on_create]
    default: on_create
  is_admin:
    description:
      - Whether the user is a Grafana server admin. Not compared when unset.
    type: bool
'''

EXAMPLES = r'''
- name: A student
  data2ai.grafana_stack.grafana_user:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    login: alice
    name: Alice Martin
    email: alice@example.org
    password: "{{ student_initial_password }}"

- name: Reset a forgotten password
  data2ai.grafana_stack.grafana_user:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    login: alice
    password: "{{ new_password }}"
    password_update: always

- name: Remove a user
  data2ai.grafana_stack.grafana_user:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    login: alice
    state: absent
'''

RETURN = r'''
user:
  description: The user after the run (never its password); empty after O(state=absent).
  returned: always
  type: dict
  sample: {login: alice, name: Alice Martin, email: alice@example.org, is_admin: false, id: 3}
diff:
  description: Login, name, email and admin flag before and after; a password being set shows masked.
  returned: when diff mode is on
  type: dict
'''

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_objects import (  # noqa: E402
    USER_OPTIONS,
    User,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import run_resource  # noqa: E402


def main() -> None:
    run_resource(User, USER_OPTIONS, org_scoped=False)


if __name__ == '__main__':
    main()
