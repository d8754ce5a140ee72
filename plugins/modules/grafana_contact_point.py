#!/usr/bin/python
# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: grafana_contact_point
short_description: Manage Grafana alerting contact points
version_added: 1.0.0
description:
  - Create, update and delete one contact point (one integration such as a webhook, email or Slack) through
    the alerting provisioning API.
  - The contact point is found by O(uid) when given, else by O(name). Several integrations may share a name;
    then set O(uid).
  - O(settings) is compared as a whole, except for secure settings. Grafana returns those as
    C([REDACTED]), so they cannot be compared; see O(secure_settings) and O(secure_settings_update).
author:
  - data2ai training team (@data2ai)
extends_documentation_fragment:
  - data2ai.grafana_stack.grafana
  - data2ai.grafana_stack.grafana.org
  - data2ai.grafana_stack.grafana.attributes
options:
  state:
    description:
      - V(present) creates or updates the contact point, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Name of the contact point, used by notification policies as their receiver.
    type: str
    required: true
  uid:
    description:
      - Uid of the contact point. Without it Grafana generates one and the contact point is found by O(name).
    type: str
  type:
    description:
      - Integration type, for example V(webhook), V(email), V(slack), V(pagerduty).
      - Required with O(state=present).
    type: str
  settings:
    description:
      - Settings of the integration, for example C(url) for a webhook or C(addresses) for email.
    type: dict
    default: {}
  secure_settings:
    description:
      - Secret settings, for example C(password) or C(authorization_credentials) of a webhook, C(url) or
        C(token) of Slack, C(integrationKey) of PagerDuty. They are merged into O(settings) when sent.
      - Grafana returns secrets as C([REDACTED]), so they are never compared. A setting Grafana redacts
        is treated as secret even when it is given in O(settings).
    type: dict
  secure_settings_update:
    description:
      - V(on_create) sends O(secure_settings) when the contact point is created, when one of their keys is not
        stored yet, or together with any other change. A changed secret value alone is B(not) detected.
      - V(always) sends them on every run, which reports C(changed) every time.
    type: str
    choices: [always, on_create]
    default: on_create
  disable_resolve_message:
    description:
      - Whether to skip the notification sent when an alert resolves.
    type: bool
    default: false
  disable_provenance:
    description:
      - V(true) sends the C(X-Disable-Provenance) header, so the contact point stays editable in Grafana's UI.
      - V(false) stores it with provenance C(api), which locks it in the UI.
      - Grafana refuses (HTTP 409) to change or delete it with another provenance than it was stored with.
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Webhook contact point
  data2ai.grafana_stack.grafana_contact_point:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    name: ops-webhook
    uid: ops-webhook
    type: webhook
    settings:
      url: http://alert-sink:8080/hook
      httpMethod: POST
    secure_settings:
      authorization_credentials: "{{ webhook_token }}"

- name: Email contact point, locked in the UI
  data2ai.grafana_stack.grafana_contact_point:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    name: instructors
    type: email
    settings:
      addresses: instructor@example.org
    disable_provenance: false
'''

RETURN = r'''
contact_point:
  description:
    - The contact point after the run; empty after O(state=absent).
    - Secrets are never returned; RV(contact_point.secure_fields) lists the keys Grafana holds as secret.
  returned: always
  type: dict
  sample:
    uid: ops-webhook
    name: ops-webhook
    type: webhook
    settings: {url: http://alert-sink:8080/hook, httpMethod: POST}
    secure_fields: [authorization_credentials]
    disable_resolve_message: false
  contains:
    uid:
      description: Uid of the contact point.
      type: str
      returned: success
    secure_fields:
      description: Keys of the settings Grafana holds as secret (never their values).
      type: list
      elements: str
      returned: success
diff:
  description: The contact point before and after; secrets being sent show masked.
  returned: when diff mode is on
  type: dict
'''

from typing import Any, Dict, Optional, Tuple  # noqa: E402

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import quote_path  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import (  # noqa: E402
    MASK,
    SECRET_UPDATE_CHOICES,
    GrafanaResource,
    drop_none,
    run_resource,
    secret_keys_changed,
)

# What Grafana puts in place of a secret setting in its answers (not a mask of this collection's: see MASK).
GRAFANA_REDACTED = '[REDACTED]'
BASE = '/api/v1/provisioning/contact-points'


class ContactPoint(GrafanaResource):
    kind = 'contact_point'

    @property
    def label(self) -> str:
        return "contact point '%s'" % (self.params['uid'] or self.params['name'])

    def read(self) -> Optional[Dict[str, Any]]:
        uid = self.params['uid']
        query = None if uid else {'name': self.params['name']}
        found = [cp for cp in self.api('GET', BASE, query=query) or []
                 if (cp.get('uid') == uid if uid else cp.get('name') == self.params['name'])]
        if len(found) > 1:
            self.module.fail_json(msg=f'{self.label}: {len(found)} contact points have this name, set uid')
        return found[0] if found else None

    def owned(self, current: Dict[str, Any]) -> Dict[str, Any]:
        settings = current.get('settings') or {}
        # Redacted by Grafana, or declared secret by the user: either way never compared.
        secret = set(k for k, v in settings.items() if v == GRAFANA_REDACTED or k in self._secret_names())
        return {'uid': current.get('uid'), 'name': current.get('name'), 'type': current.get('type'),
                'settings': {k: v for k, v in settings.items() if k not in secret},
                'secure_fields': sorted(secret),
                'disable_resolve_message': bool(current.get('disableResolveMessage'))}

    def _secret_names(self) -> Dict[str, Any]:
        return self.params['secure_settings'] or {}

    def wanted(self, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        if not self.params['type']:
            self.module.fail_json(msg=f"{self.label}: option 'type' is required with state=present")
        stored_secret = self.owned(current)['secure_fields'] if current else []
        settings = {k: v for k, v in self.params['settings'].items() if k not in stored_secret}
        wanted = drop_none({'uid': self.params['uid'], 'name': self.params['name'], 'type': self.params['type'],
                            'settings': settings,
                            'disable_resolve_message': self.params['disable_resolve_message']})
        wanted['secure_fields'] = sorted(set(stored_secret) | set(self._secret_names()))
        return wanted

    def _send_secrets(self, before: Dict[str, Any]) -> bool:
        return secret_keys_changed(self._secret_names(), before.get('secure_fields', []),
                                   self.params['secure_settings_update'])

    def differs(self, before: Dict[str, Any], after: Dict[str, Any]) -> bool:
        return before != after or self._send_secrets(before)

    def _body(self, after: Dict[str, Any]) -> Dict[str, Any]:
        settings = dict(self.params['settings'])
        settings.update(self._secret_names())
        return drop_none({'uid': after.get('uid'), 'name': after['name'], 'type': after['type'],
                          'settings': settings, 'disableResolveMessage': after['disable_resolve_message']})

    def create(self, after: Dict[str, Any]) -> None:
        self.api('POST', BASE, body=self._body(after), disable_provenance=self.params['disable_provenance'])

    def update(self, current: Dict[str, Any], before: Dict[str, Any], after: Dict[str, Any]) -> None:
        body = self._body(after)
        body['uid'] = current['uid']
        self.api('PUT', '{}/{}'.format(BASE, quote_path(current['uid'])), body=body,
                 disable_provenance=self.params['disable_provenance'])

    def delete(self, current: Dict[str, Any]) -> None:
        self.api('DELETE', '{}/{}'.format(BASE, quote_path(current['uid'])),
                 disable_provenance=self.params['disable_provenance'])

    def present_result(self, after: Dict[str, Any]) -> Dict[str, Any]:
        current = None if self.check_mode else self.read()
        return self.owned(current) if current else after

    def diff_views(self, before: Dict[str, Any], after: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        if after and self._secret_names() and (self._send_secrets(before) or before != after):
            after = dict(after, secure_settings={k: MASK for k in self._secret_names()})
        return before, after


def main() -> None:
    run_resource(ContactPoint, dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        name=dict(type='str', required=True),
        uid=dict(type='str'),
        type=dict(type='str'),
        settings=dict(type='dict', default={}),
        secure_settings=dict(type='dict', no_log=True),
        secure_settings_update=dict(type='str', choices=SECRET_UPDATE_CHOICES, default='on_create'),
        disable_resolve_message=dict(type='bool', default=False),
        disable_provenance=dict(type='bool', default=True),
    ))


if __name__ == '__main__':
    main()
