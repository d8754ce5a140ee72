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

from typing import Any, Dict, Optional, Tuple  # noqa: E402

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import same_login  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import (  # noqa: E402
    MASK,
    SECRET_UPDATE_CHOICES,
    GrafanaResource,
    drop_none,
    run_resource,
)


class User(GrafanaResource):
    kind = 'user'

    @property
    def label(self) -> str:
        return "user '{}'".format(self.params['login'])

    def read(self) -> Optional[Dict[str, Any]]:
        return self.client.find_user(self.params['login'], '')

    def owned(self, current: Dict[str, Any]) -> Dict[str, Any]:
        return {'login': current.get('login'), 'name': current.get('name', ''), 'email': current.get('email', ''),
                'is_admin': bool(current.get('isGrafanaAdmin'))}

    def wanted(self, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        if current is None and not self.params['password']:
            self.module.fail_json(msg=f"{self.label}: option 'password' is required to create a user")
        wanted = drop_none({k: self.params[k] for k in ('login', 'name', 'email', 'is_admin')})
        if current is None:
            wanted.setdefault('is_admin', False)
            self._refuse_taken_email(wanted.get('email') or wanted['login'])
            return wanted
        # Grafana compares logins and emails case-insensitively (and lowers them since Grafana 11).
        for key in ('login', 'email'):
            if key in wanted and same_login(wanted[key], current.get(key)):
                wanted[key] = current[key]
        return wanted

    def _refuse_taken_email(self, email: str) -> None:
        """Grafana refuses a new user whose email another user has (HTTP 412): say which user, in one line."""
        other = self.api_get('/api/users/lookup', query={'loginOrEmail': email}, use_org=False)
        if other and same_login(other.get('email'), email):
            self.module.fail_json(msg=f"{self.label}: no user has this login, and Grafana cannot create it: user "
                                      f"'{other.get('login')}' has the email '{email}'; "
                                      "give this user another one (option 'email')")

    def _send_password(self) -> bool:
        return bool(self.params['password']) and self.params['password_update'] == 'always'

    def differs(self, before: Dict[str, Any], after: Dict[str, Any]) -> bool:
        return before != after or self._send_password()

    def create(self, after: Dict[str, Any]) -> None:
        body = drop_none({'login': after['login'], 'name': after.get('name'), 'email': after.get('email'),
                          'password': self.params['password']})
        created = self.api('POST', '/api/admin/users', body=body, use_org=False)
        if after['is_admin']:
            self._set_admin(created['id'], True)

    def _set_admin(self, user_id: int, is_admin: bool) -> None:
        self.api('PUT', f'/api/admin/users/{user_id}/permissions', body={'isGrafanaAdmin': is_admin}, use_org=False)

    def update(self, current: Dict[str, Any], before: Dict[str, Any], after: Dict[str, Any]) -> None:
        user_id = current['id']
        profile = ('login', 'name', 'email')
        if any(before[k] != after[k] for k in profile):
            self.api('PUT', f'/api/users/{user_id}', body={k: after[k] for k in profile}, use_org=False)
        if before['is_admin'] != after['is_admin']:
            self._set_admin(user_id, after['is_admin'])
        if self._send_password():
            self.api('PUT', f'/api/admin/users/{user_id}/password', body={'password': self.params['password']},
                     use_org=False)

    def delete(self, current: Dict[str, Any]) -> None:
        self.api('DELETE', f"/api/admin/users/{current['id']}", use_org=False)

    def present_result(self, after: Dict[str, Any]) -> Dict[str, Any]:
        current = None if self.check_mode else self.read()
        return dict(self.owned(current), id=current['id']) if current else after

    def diff_views(self, before: Dict[str, Any], after: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        if after and (not before or self._send_password()):
            after = dict(after, password=MASK)
        return before, after


def main() -> None:
    run_resource(User, dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        login=dict(type='str', required=True),
        name=dict(type='str'),
        email=dict(type='str'),
        password=dict(type='str', no_log=True),
        password_update=dict(type='str', choices=SECRET_UPDATE_CHOICES, default='on_create'),
        is_admin=dict(type='bool'),
    ), org_scoped=False)


if __name__ == '__main__':
    main()
