#!/usr/bin/python
# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: grafana_organization
short_description: Manage Grafana organizations and their members' roles
version_added: 1.0.0
description:
  - Create and delete a Grafana organization, and manage which users belong to it with which role.
  - One organization per cohort is the collection's multi-org pattern; users, teams, folders and data
    sources are then created in it with O(ignore:org_name).
  - Needs a Grafana server admin (basic authentication); service account tokens cannot manage organizations.
  - The organization is identified by its O(name). It has no org selection options of its own.
author:
  - data2ai training team (@data2ai)
extends_documentation_fragment:
  - data2ai.grafana_stack.grafana
  - data2ai.grafana_stack.grafana.attributes
options:
  state:
    description:
      - V(present) creates the organization and sets its members, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Name of the organization, unique in Grafana.
    type: str
    required: true
  users:
    description:
      - Members and their roles. Users must exist, see M(data2ai.grafana_stack.grafana_user).
      - Members not listed are left alone unless O(enforce_users=true).
    type: list
    elements: dict
    default: []
    suboptions:
      login:
        description:
          - Login or email of the user. It names the user with that login, compared case-insensitively as Grafana
            does; only when no user has it as login, the user with that email.
        type: str
        required: true
      role:
        description:
          - Role of the user in the organization.
        type: str
        choices: [Admin, Editor, Viewer]
        default: Viewer
  enforce_users:
    description:
      - Remove members that are not in O(users).
      - The user the module connects as (O(url_username)) is never removed, so the run cannot lock itself out
        and the organization keeps an admin.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Organization of a cohort with its instructor and students
  data2ai.grafana_stack.grafana_organization:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    name: cohort-2025-01
    users:
      - login: instructor
        role: Admin
      - login: alice
        role: Editor
      - login: bob@example.org
    enforce_users: true

- name: Delete the organization
  data2ai.grafana_stack.grafana_organization:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    name: cohort-2024-12
    state: absent
'''

RETURN = r'''
organization:
  description: The organization after the run, with its members sorted by login; empty after O(state=absent).
  returned: always
  type: dict
  sample:
    name: cohort-2025-01
    id: 2
    users: [{login: admin, role: Admin}, {login: alice, role: Editor}]
diff:
  description: Name and members (login and role) before and after.
  returned: when diff mode is on
  type: dict
'''

from typing import Any, Dict, List, Optional  # noqa: E402

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import (  # noqa: E402
    quote_path,
    same_login,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import (  # noqa: E402
    GrafanaResource,
    run_resource,
)


def _by_login(users: List[Dict[str, Any]]) -> Dict[str, str]:
    return {u['login']: u['role'] for u in users}


def _as_list(roles: Dict[str, str]) -> List[Dict[str, str]]:
    return [{'login': login, 'role': roles[login]} for login in sorted(roles)]


class Organization(GrafanaResource):
    kind = 'organization'

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resolved: Dict[str, str] = {}

    @property
    def label(self) -> str:
        return "organization '{}'".format(self.params['name'])

    def read(self) -> Optional[Dict[str, Any]]:
        org = self.api_get(f"/api/orgs/name/{quote_path(self.params['name'])}", use_org=False)
        if org is None:
            return None
        members = self.api('GET', f"/api/orgs/{org['id']}/users", use_org=False) or []
        return dict(org, members=members)

    def owned(self, current: Dict[str, Any]) -> Dict[str, Any]:
        roles = {m['login']: m['role'] for m in current['members']}
        return {'name': current['name'], 'users': _as_list(roles)}

    def _member_login(self, ident: str, members: List[Dict[str, Any]]) -> str:
        """The login of the user an entry names: a member with that login, else the user with that login, else the
        user with that email (compared case-insensitively, as Grafana does); an unknown user stays as written."""
        for member in members:
            if same_login(member.get('login'), ident):
                return member['login']
        if ident not in self._resolved:
            user = self.client.find_user(ident, self.label, by_email=True)
            self._resolved[ident] = user['login'] if user else ident
        return self._resolved[ident]

    def wanted(self, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        members = current['members'] if current else []
        listed = {self._member_login(u['login'], members): u['role'] for u in self.params['users']}
        stored = {m['login']: m['role'] for m in members}
        if self.params['enforce_users']:
            caller = self.params['url_username']
            roles = dict(listed)
            if not self.params['token'] and caller in stored and caller not in roles:
                roles[caller] = stored[caller]
        else:
            roles = dict(stored, **listed)
        return {'name': self.params['name'], 'users': _as_list(roles)}

    def present_result(self, after: Dict[str, Any]) -> Dict[str, Any]:
        current = None if self.check_mode else self.read()
        if current is None:
            return after
        return dict(self.owned(current), id=current['id'])

    def _org_users(self, org_id: int, before: Dict[str, str], after: Dict[str, str]) -> None:
        base = f'/api/orgs/{org_id}/users'
        members = self.api('GET', base, use_org=False) or []
        ids = {m['login']: m['userId'] for m in members}
        for login, role in sorted(after.items()):
            obj = f"{self.label} user '{login}'"
            if login not in before:
                self._add_user(base, obj, login, role)
            elif before[login] != role:
                self.client.request('PATCH', f'{base}/{ids[login]}', obj, body={'role': role}, use_org=False)
        for login in sorted(set(before) - set(after)):
            obj = f"{self.label} user '{login}'"
            self.client.request('DELETE', f'{base}/{ids[login]}', obj, use_org=False)

    def _add_user(self, base: str, obj: str, login: str, role: str) -> None:
        """Adds the user with this login. Grafana's POST takes a login *or an email* and tries the email first when
        the text holds an '@', so the user's own email (unique in Grafana) names it when it has one; the user
        Grafana added is checked, and taken out again if it is another one."""
        user = self.client.user_by_login(login, self.label, by_email=False)
        email = user.get('email') or ''
        key = email if '@' in email else login
        added = self.client.request('POST', base, obj, body={'loginOrEmail': key, 'role': role}, use_org=False) or {}
        if added.get('userId') not in (None, user['id']):
            self.client.request('DELETE', f"{base}/{added['userId']}", obj, use_org=False)
            self.module.fail_json(msg=f"{obj}: Grafana added another user (id {added['userId']}) for "
                                      f"'{key}'; it was removed again")

    def create(self, after: Dict[str, Any]) -> None:
        created = self.api('POST', '/api/orgs', body={'name': after['name']}, use_org=False)
        org_id = created['orgId']
        members = self.api('GET', f'/api/orgs/{org_id}/users', use_org=False) or []
        stored = {m['login']: m['role'] for m in members}
        wanted = _by_login(after['users'])
        if not self.params['enforce_users']:
            wanted = dict(stored, **wanted)
        elif not self.params['token'] and self.params['url_username'] in stored:
            wanted.setdefault(self.params['url_username'], stored[self.params['url_username']])
        self._org_users(org_id, stored, wanted)

    def update(self, current: Dict[str, Any], before: Dict[str, Any], after: Dict[str, Any]) -> None:
        self._org_users(current['id'], _by_login(before['users']), _by_login(after['users']))

    def delete(self, current: Dict[str, Any]) -> None:
        self.api('DELETE', f"/api/orgs/{current['id']}", use_org=False)


def main() -> None:
    run_resource(Organization, dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        name=dict(type='str', required=True),
        users=dict(type='list', elements='dict', default=[], options=dict(
            login=dict(type='str', required=True),
            role=dict(type='str', choices=['Admin', 'Editor', 'Viewer'], default='Viewer'),
        )),
        enforce_users=dict(type='bool', default=False),
    ), org_scoped=False)


if __name__ == '__main__':
    main()
