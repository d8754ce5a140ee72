#!/usr/bin/python
# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: grafana_team
short_description: Manage Grafana teams and their members
version_added: 1.0.0
description:
  - Create, update and delete a team in a Grafana organization, and manage its members.
  - The team is found by its O(name) in the selected organization.
  - Members are looked up with C(GET /api/users/lookup), which needs a Grafana server admin.
author:
  - data2ai training team (@data2ai)
extends_documentation_fragment:
  - data2ai.grafana_stack.grafana
  - data2ai.grafana_stack.grafana.org
  - data2ai.grafana_stack.grafana.attributes
options:
  state:
    description:
      - V(present) creates or updates the team, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Name of the team, unique in the organization.
    type: str
    required: true
  email:
    description:
      - Email address of the team. Not compared when unset.
    type: str
  members:
    description:
      - Logins or emails of the members. The users must exist and belong to the organization.
      - An entry names the user with that login, compared case-insensitively as Grafana does; only when no user has
        it as login, the user with that email.
      - Members not listed are left alone unless O(enforce_members=true).
    type: list
    elements: str
    default: []
  enforce_members:
    description:
      - Remove members that are not in O(members). Grafana adds the user who creates a team as a member;
        with this option that user is removed again unless listed.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Team of the students of a cohort
  data2ai.grafana_stack.grafana_team:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    org_name: cohort-2025-01
    name: students
    members: [alice, bob@example.org]
    enforce_members: true

- name: Delete the team
  data2ai.grafana_stack.grafana_team:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    org_name: cohort-2025-01
    name: students
    state: absent
'''

RETURN = r'''
team:
  description: The team after the run with its members' logins, sorted; empty after O(state=absent).
  returned: always
  type: dict
  sample: {name: students, email: "", members: [alice, bob], id: 4}
diff:
  description: Name, email and member logins before and after.
  returned: when diff mode is on
  type: dict
'''

from typing import Any, Dict, List, Optional  # noqa: E402

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import same_login  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import (  # noqa: E402
    GrafanaResource,
    run_resource,
)


class Team(GrafanaResource):
    kind = 'team'

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resolved: Dict[str, str] = {}

    @property
    def label(self) -> str:
        return "team '{}'".format(self.params['name'])

    def read(self) -> Optional[Dict[str, Any]]:
        search = self.api('GET', '/api/teams/search', query={'name': self.params['name']}) or {}
        for team in search.get('teams') or []:
            if team.get('name') == self.params['name']:
                return dict(team, members=self._members(team['id']))
        return None

    def _members(self, team_id: int) -> List[Dict[str, Any]]:
        return self.api('GET', f'/api/teams/{team_id}/members') or []

    def owned(self, current: Dict[str, Any]) -> Dict[str, Any]:
        return {'name': current['name'], 'email': current.get('email') or '',
                'members': sorted(m['login'] for m in current['members'])}

    def _member_login(self, ident: str, members: List[Dict[str, Any]]) -> str:
        """The login of the user an entry names: a member with that login, else the user with that login, else
        the user with that email (logins and emails compared case-insensitively, as Grafana does); an unknown
        user stays as written (adding it fails, or, in check mode, an earlier task may create it)."""
        for member in members:
            if same_login(member.get('login'), ident):
                return member['login']
        if ident not in self._resolved:
            user = self.client.find_user(ident, f'{self.label} member', by_email=True)
            self._resolved[ident] = user['login'] if user else ident
        return self._resolved[ident]

    def _wanted_members(self, members: List[Dict[str, Any]]) -> List[str]:
        logins = set()
        for ident in self.params['members']:
            logins.add(self._member_login(ident, members))
        if not self.params['enforce_members']:
            logins.update(m['login'] for m in members)
        return sorted(logins)

    def wanted(self, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        wanted = {'name': self.params['name'], 'members': self._wanted_members(current['members'] if current else [])}
        if self.params['email'] is not None:
            wanted['email'] = self.params['email']
        elif current is None:
            wanted['email'] = ''
        return wanted

    def _sync_members(self, team_id: int, members: List[Dict[str, Any]]) -> None:
        stored = {m['login']: m['userId'] for m in members}
        wanted = self._wanted_members(members)
        for login in wanted:
            if login not in stored:
                user = self.client.user_by_login(login, f'{self.label} member', by_email=False)
                self.api('POST', f'/api/teams/{team_id}/members', body={'userId': user['id']})
        for login in sorted(set(stored) - set(wanted)):
            self.api('DELETE', f'/api/teams/{team_id}/members/{stored[login]}')

    def create(self, after: Dict[str, Any]) -> None:
        created = self.api('POST', '/api/teams', body={'name': after['name'], 'email': after['email']})
        team_id = created['teamId']
        self._sync_members(team_id, self._members(team_id))

    def update(self, current: Dict[str, Any], before: Dict[str, Any], after: Dict[str, Any]) -> None:
        if before['email'] != after['email']:
            self.api('PUT', f"/api/teams/{current['id']}", body={'name': after['name'], 'email': after['email']})
        if before['members'] != after['members']:
            self._sync_members(current['id'], current['members'])

    def delete(self, current: Dict[str, Any]) -> None:
        self.api('DELETE', f"/api/teams/{current['id']}")

    def present_result(self, after: Dict[str, Any]) -> Dict[str, Any]:
        current = None if self.check_mode else self.read()
        return dict(self.owned(current), id=current['id']) if current else after


def main() -> None:
    run_resource(Team, dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        name=dict(type='str', required=True),
        email=dict(type='str'),
        members=dict(type='list', elements='str', default=[]),
        enforce_members=dict(type='bool', default=False),
    ))


if __name__ == '__main__':
    main()
