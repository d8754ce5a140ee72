#!/usr/bin/python
# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: grafana_notification_policy
short_description: Manage the notification policy tree of a Grafana organization
version_added: 1.0.0
description:
  - Set the notification policy tree (the root policy and its nested policies) of a Grafana organization
    through the alerting provisioning API. An organization has exactly one tree.
  - Options of the root policy that you leave unset keep their stored value. O(routes) replaces all nested
    policies when set.
  - Empty fields and C(continue=false) compare equal to missing ones, the way Grafana omits them.
  - O(state=absent) resets the tree to Grafana's default (C(DELETE /api/v1/provisioning/policies)). A tree is
    considered absent when it has no nested policies and the default root receiver and grouping,
    see O(default_receiver).
author:
  - data2ai training team (@data2ai)
extends_documentation_fragment:
  - data2ai.grafana_stack.grafana
  - data2ai.grafana_stack.grafana.org
  - data2ai.grafana_stack.grafana.attributes
options:
  state:
    description:
      - V(present) sets the tree, V(absent) resets it to Grafana's default.
    type: str
    choices: [present, absent]
    default: present
  receiver:
    description:
      - Contact point name of the root policy, the default receiver of every alert.
      - Required with O(state=present).
    type: str
  group_by:
    description:
      - Labels that group alerts into one notification. V(...) groups by all labels.
    type: list
    elements: str
  group_wait:
    description:
      - How long to wait before the first notification of a new group, for example V(30s).
    type: str
  group_interval:
    description:
      - How long to wait before notifying about new alerts of a group, for example V(5m).
    type: str
  repeat_interval:
    description:
      - How long to wait before repeating a notification, for example V(4h).
    type: str
  routes:
    description:
      - Nested policies in the API's JSON form (C(Route)), with C(receiver), C(object_matchers)
        (a list of C([label, operator, value])), C(group_by), C(continue), C(routes), C(mute_time_intervals)...
    type: list
    elements: dict
  disable_provenance:
    description:
      - V(true) sends the C(X-Disable-Provenance) header, so the tree stays editable in Grafana's UI.
      - V(false) stores it with provenance C(api), which locks it in the UI.
    type: bool
    default: true
  default_receiver:
    description:
      - Receiver of Grafana's default tree, used to recognise a reset tree with O(state=absent).
    type: str
    default: grafana-default-email
'''

EXAMPLES = r'''
- name: Critical alerts to the webhook, everything else by email
  data2ai.grafana_stack.grafana_notification_policy:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    receiver: instructors
    group_by: [grafana_folder, alertname]
    group_wait: 30s
    repeat_interval: 4h
    routes:
      - receiver: ops-webhook
        object_matchers:
          - [severity, "=", critical]

- name: Back to Grafana's default tree
  data2ai.grafana_stack.grafana_notification_policy:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    state: absent
'''

RETURN = r'''
notification_policy:
  description: The policy tree after the run, without provenance and empty fields.
  returned: always
  type: dict
  sample:
    receiver: instructors
    group_by: [grafana_folder, alertname]
    routes: [{receiver: ops-webhook, object_matchers: [[severity, "=", critical]]}]
diff:
  description: The policy tree before and after.
  returned: when diff mode is on
  type: dict
'''

from typing import Any, Dict, Optional  # noqa: E402

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import (  # noqa: E402
    GrafanaResource,
    drop_none,
    prune,
    run_resource,
)

PATH = '/api/v1/provisioning/policies'
ROOT_OPTIONS = ('receiver', 'group_by', 'group_wait', 'group_interval', 'repeat_interval', 'routes')
DEFAULT_GROUP_BY = ['grafana_folder', 'alertname']


def normalise_route(route: Dict[str, Any]) -> Dict[str, Any]:
    """A route without provenance, empty fields or ``continue: false``, nested routes included."""
    view = {k: v for k, v in route.items() if k != 'provenance' and not (k == 'continue' and v is False)}
    if view.get('routes'):
        view['routes'] = [normalise_route(r) for r in view['routes']]
    return prune(view)


class NotificationPolicy(GrafanaResource):
    kind = 'notification_policy'

    @property
    def label(self) -> str:
        return 'notification policy'

    def read(self) -> Optional[Dict[str, Any]]:
        tree = self.api_get(PATH)
        if tree is None or (self.params['state'] == 'absent' and self._is_default(tree)):
            return None
        return tree

    def _is_default(self, tree: Dict[str, Any]) -> bool:
        view = normalise_route(tree)
        return (not view.get('routes') and view.get('receiver') == self.params['default_receiver']
                and view.get('group_by', []) == DEFAULT_GROUP_BY)

    def owned(self, current: Dict[str, Any]) -> Dict[str, Any]:
        view = normalise_route(current)
        view.setdefault('routes', [])
        return view

    def wanted(self, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        if not self.params['receiver']:
            self.module.fail_json(msg=f"{self.label}: option 'receiver' is required with state=present")
        wanted = drop_none({k: self.params[k] for k in ROOT_OPTIONS})
        if 'routes' in wanted:
            wanted['routes'] = [normalise_route(r) for r in wanted['routes']]
        return wanted

    def _put(self, after: Dict[str, Any]) -> None:
        self.api('PUT', PATH, body=after, disable_provenance=self.params['disable_provenance'])

    def create(self, after: Dict[str, Any]) -> None:
        self._put(after)

    def update(self, current: Dict[str, Any], before: Dict[str, Any], after: Dict[str, Any]) -> None:
        self._put(after)

    def delete(self, current: Dict[str, Any]) -> None:
        self.api('DELETE', PATH, disable_provenance=self.params['disable_provenance'])

    def present_result(self, after: Dict[str, Any]) -> Dict[str, Any]:
        current = None if self.check_mode else self.read()
        return self.owned(current) if current else after


def main() -> None:
    run_resource(NotificationPolicy, dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        receiver=dict(type='str'),
        group_by=dict(type='list', elements='str'),
        group_wait=dict(type='str'),
        group_interval=dict(type='str'),
        repeat_interval=dict(type='str'),
        routes=dict(type='list', elements='dict'),
        disable_provenance=dict(type='bool', default=True),
        default_receiver=dict(type='str', default='grafana-default-email'),
    ))


if __name__ == '__main__':
    main()
