#!/usr/bin/python
# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: grafana_service_account
short_description: Manage Grafana service accounts and their tokens
version_added: 1.0.0
description:
  - Create, update and delete a service account in a Grafana organization, and create or delete its tokens.
  - Service accounts and their tokens replace the API keys that Grafana 11 removed.
  - The service account is found by its O(name) in the selected organization. A token is identified by its name.
  - Grafana shows a token's secret only once, when it is created. The module returns new secrets in
    RV(new_tokens) and never again, so register the result and set C(no_log=true) on the task.
author:
  - data2ai training team (@data2ai)
extends_documentation_fragment:
  - data2ai.grafana_stack.grafana
  - data2ai.grafana_stack.grafana.org
  - data2ai.grafana_stack.grafana.attributes
options:
  state:
    description:
      - V(present) creates or updates the service account, V(absent) deletes it with its tokens.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Name of the service account, unique in the organization.
    type: str
    required: true
  role:
    description:
      - Organization role of the service account. Not compared when unset; V(Viewer) on creation.
    type: str
    choices: [Admin, Editor, Viewer]
  is_disabled:
    description:
      - Whether the service account is disabled. Not compared when unset; V(false) on creation.
    type: bool
  tokens:
    description:
      - Tokens the service account must have, by name. A missing token is created.
      - Tokens are compared by name only; an existing token is never re-created, even if expired.
      - Tokens not listed are left alone unless O(enforce_tokens=true).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - Name of the token, unique for the service account.
        type: str
        required: true
      seconds_to_live:
        description:
          - Lifetime of a new token in seconds. Unset or V(0) means the token does not expire, unless the
            server sets a maximum.
        type: int
  enforce_tokens:
    description:
      - Delete tokens that are not in O(tokens).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Service account for the provisioning pipeline, with one token
  data2ai.grafana_stack.grafana_service_account:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    org_name: cohort-2025-01
    name: provisioner
    role: Admin
    tokens:
      - name: ansible
        seconds_to_live: 86400
  register: provisioner
  no_log: true

- name: Use the token once it was created
  data2ai.grafana_stack.grafana_folder:
    url: http://127.0.0.1:3000
    token: "{{ provisioner.new_tokens.ansible }}"
    uid: labs
    title: Labs
  when: "'ansible' in provisioner.new_tokens"
  no_log: true
'''

RETURN = r'''
service_account:
  description: The service account after the run with its token names; empty after O(state=absent).
  returned: always
  type: dict
  sample: {name: provisioner, role: Admin, is_disabled: false, tokens: [ansible], id: 2}
new_tokens:
  description:
    - Secrets of the tokens created by this run, by token name. Grafana never shows them again.
    - Empty in check mode and when no token was created.
  returned: always
  type: dict
  sample: {ansible: glsa_0123456789abcdef_01234567}
diff:
  description: Name, role, disabled flag and token names before and after.
  returned: when diff mode is on
  type: dict
'''

from typing import Any, Dict, List, Optional  # noqa: E402

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import (  # noqa: E402
    GrafanaResource,
    drop_none,
    run_resource,
)


class ServiceAccount(GrafanaResource):
    kind = 'service_account'

    def __init__(self, module: Any, client: Any) -> None:
        super().__init__(module, client)
        self.new_tokens: Dict[str, str] = {}

    @property
    def label(self) -> str:
        return "service account '{}'".format(self.params['name'])

    def read(self) -> Optional[Dict[str, Any]]:
        search = self.api('GET', '/api/serviceaccounts/search', query={'query': self.params['name']}) or {}
        for account in search.get('serviceAccounts') or []:
            if account.get('name') == self.params['name']:
                return dict(account, token_list=self._tokens(account['id']))
        return None

    def _tokens(self, account_id: int) -> List[Dict[str, Any]]:
        return self.api('GET', f'/api/serviceaccounts/{account_id}/tokens') or []

    def owned(self, current: Dict[str, Any]) -> Dict[str, Any]:
        return {'name': current['name'], 'role': current.get('role'), 'is_disabled': bool(current.get('isDisabled')),
                'tokens': sorted(t['name'] for t in current['token_list'])}

    def wanted(self, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        wanted = drop_none({'name': self.params['name'], 'role': self.params['role'],
                            'is_disabled': self.params['is_disabled']})
        if current is None:
            wanted.setdefault('role', 'Viewer')
            wanted.setdefault('is_disabled', False)
        tokens = set(t['name'] for t in self.params['tokens'])
        if not self.params['enforce_tokens'] and current is not None:
            tokens.update(t['name'] for t in current['token_list'])
        wanted['tokens'] = sorted(tokens)
        return wanted

    def _sync_tokens(self, account_id: int, stored: List[Dict[str, Any]], wanted: List[str]) -> None:
        stored_ids = {t['name']: t['id'] for t in stored}
        lifetimes = {t['name']: t.get('seconds_to_live') for t in self.params['tokens']}
        base = f'/api/serviceaccounts/{account_id}/tokens'
        for name in wanted:
            if name not in stored_ids:
                body = drop_none({'name': name, 'secondsToLive': lifetimes.get(name)})
                created = self.api('POST', base, body=body)
                self.new_tokens[name] = created['key']
        for name in sorted(set(stored_ids) - set(wanted)):
            self.api('DELETE', f'{base}/{stored_ids[name]}')

    def create(self, after: Dict[str, Any]) -> None:
        body = {'name': after['name'], 'role': after['role'], 'isDisabled': after['is_disabled']}
        created = self.api('POST', '/api/serviceaccounts', body=body)
        self._sync_tokens(created['id'], [], after['tokens'])

    def update(self, current: Dict[str, Any], before: Dict[str, Any], after: Dict[str, Any]) -> None:
        profile = ('role', 'is_disabled')
        if any(before[k] != after[k] for k in profile):
            body = {'name': after['name'], 'role': after['role'], 'isDisabled': after['is_disabled']}
            self.api('PATCH', f"/api/serviceaccounts/{current['id']}", body=body)
        if before['tokens'] != after['tokens']:
            self._sync_tokens(current['id'], current['token_list'], after['tokens'])

    def delete(self, current: Dict[str, Any]) -> None:
        self.api('DELETE', f"/api/serviceaccounts/{current['id']}")

    def present_result(self, after: Dict[str, Any]) -> Dict[str, Any]:
        current = None if self.check_mode else self.read()
        return dict(self.owned(current), id=current['id']) if current else after

    def extra_result(self) -> Dict[str, Any]:
        return {'new_tokens': self.new_tokens}


def main() -> None:
    run_resource(ServiceAccount, dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        name=dict(type='str', required=True),
        role=dict(type='str', choices=['Admin', 'Editor', 'Viewer']),
        is_disabled=dict(type='bool'),
        tokens=dict(type='list', elements='dict', default=[], no_log=False, options=dict(
            name=dict(type='str', required=True),
            seconds_to_live=dict(type='int'),
        )),
        enforce_tokens=dict(type='bool', default=False),
    ))


if __name__ == '__main__':
    main()
