#!/usr/bin/python
# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: grafana_alert_rule_group
short_description: Manage a Grafana-managed alert rule group
version_added: 1.0.0
description:
  - Create, replace and delete a group of Grafana-managed alert rules in a folder, through the alerting
    provisioning API (C(/api/v1/provisioning/folder/<folder_uid>/rule-groups/<name>)).
  - The group holds exactly the rules in O(rules); rules that are not listed are deleted with the next change.
  - A rule is matched to a stored one by its C(uid) when given, else by its C(title). Only the fields you set
    are compared; fields Grafana fills in (C(id), C(orgID), C(updated), C(provenance), a generated C(uid),
    default states) are not, so a second run reports no change.
  - Durations compare by value, V(5m) equals V(300s).
author:
  - data2ai training team (@data2ai)
extends_documentation_fragment:
  - data2ai.grafana_stack.grafana
  - data2ai.grafana_stack.grafana.org
  - data2ai.grafana_stack.grafana.attributes
options:
  state:
    description:
      - V(present) creates or replaces the group, V(absent) deletes all its rules.
    type: str
    choices: [present, absent]
    default: present
  folder_uid:
    description:
      - Uid of the folder that holds the group, see M(data2ai.grafana_stack.grafana_folder).
    type: str
    required: true
  name:
    description:
      - Name (title) of the rule group, unique in the folder.
    type: str
    required: true
  interval:
    description:
      - Evaluation interval of the group, as seconds or a duration such as V(1m). A multiple of 10 seconds.
    type: str
    default: 1m
  rules:
    description:
      - The rules, each in the provisioning API's JSON form (C(ProvisionedAlertRule)), with C(title), C(condition),
        C(data) (the queries and expressions), and optionally C(uid), C(for), C(noDataState),
        C(execErrState), C(labels), C(annotations), C(isPaused).
      - C(folderUID), C(ruleGroup) and C(orgID) are set by the module.
      - New rules default to C(for=0s), C(noDataState=NoData) and C(execErrState=Error).
      - Required with O(state=present).
    type: list
    elements: dict
  disable_provenance:
    description:
      - V(true) sends the C(X-Disable-Provenance) header, so the rules stay editable in Grafana's UI.
      - V(false) stores them with provenance C(api), which locks them in the UI.
      - Grafana refuses (HTTP 409) to change or delete a rule with another provenance than the one it was
        stored with, so keep this the same for a group's lifetime.
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Rule group that fires when a scrape target is down
  data2ai.grafana_stack.grafana_alert_rule_group:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    folder_uid: stack
    name: availability
    interval: 1m
    rules:
      - uid: target-down
        title: Scrape target down
        condition: B
        for: 5m
        labels: {severity: critical}
        annotations: {summary: "{{ '{{' }} $labels.instance {{ '}}' }} is down"}
        data:
          - refId: A
            datasourceUid: prometheus
            relativeTimeRange: {from: 600, to: 0}
            model: {refId: A, expr: up == 0, instant: true}
          - refId: B
            datasourceUid: __expr__
            model:
              refId: B
              type: threshold
              expression: A
              conditions:
                - evaluator: {type: gt, params: [0]}
'''

RETURN = r'''
alert_rule_group:
  description: The group after the run (rules without server-managed fields); empty after O(state=absent).
  returned: always
  type: dict
  sample:
    folder_uid: stack
    name: availability
    interval: 60
    rules: [{uid: target-down, title: Scrape target down, condition: B, for: 5m}]
diff:
  description: The group (interval and rules) before and after.
  returned: when diff mode is on
  type: dict
'''

from typing import Any, Dict, List, Optional  # noqa: E402

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import quote_path  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import (  # noqa: E402
    GrafanaResource,
    duration_seconds,
    prune,
    run_resource,
    strip,
)

RULE_SERVER_FIELDS = ('id', 'orgID', 'folderUID', 'ruleGroup', 'updated', 'provenance')
NEW_RULE_DEFAULTS = {'for': '0s', 'noDataState': 'NoData', 'execErrState': 'Error'}
_UNITS = (('w', 604800), ('d', 86400), ('h', 3600), ('m', 60), ('s', 1))


def format_duration(value: Any) -> Any:
    """Seconds -> ``1h30m``, the way Grafana (Prometheus' model.Duration) prints durations."""
    seconds = duration_seconds(value)
    if not isinstance(seconds, int):
        return value
    if seconds == 0:
        return '0s'
    parts = []
    for unit, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f'{count}{unit}')
    return ''.join(parts)


def normalise_rule(rule: Dict[str, Any]) -> Dict[str, Any]:
    view = prune(strip(rule, RULE_SERVER_FIELDS))
    if 'for' in view:
        view['for'] = format_duration(view['for'])
    return view


class AlertRuleGroup(GrafanaResource):
    kind = 'alert_rule_group'

    @property
    def label(self) -> str:
        return "alert rule group '{}/{}'".format(self.params['folder_uid'], self.params['name'])

    @property
    def path(self) -> str:
        return '/api/v1/provisioning/folder/{}/rule-groups/{}'.format(
            quote_path(self.params['folder_uid']), quote_path(self.params['name']))

    def read(self) -> Optional[Dict[str, Any]]:
        group = self.api_get(self.path)
        return group if group and group.get('rules') else None

    def owned(self, current: Dict[str, Any]) -> Dict[str, Any]:
        return {'folder_uid': self.params['folder_uid'], 'name': self.params['name'],
                'interval': duration_seconds(current.get('interval')),
                'rules': [normalise_rule(r) for r in current.get('rules') or []]}

    def _match(self, rule: Dict[str, Any], stored: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        key = 'uid' if rule.get('uid') else 'title'
        for candidate in stored:
            if candidate.get(key) == rule.get(key):
                return candidate
        return None

    def wanted(self, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        if not self.params['rules']:
            self.module.fail_json(msg=f'{self.label}: rules is required with state=present')
        stored = self.owned(current)['rules'] if current else []
        rules = []
        for rule in self.params['rules']:
            desired = normalise_rule(rule)
            match = self._match(desired, stored)
            rules.append(dict(match, **desired) if match else dict(NEW_RULE_DEFAULTS, **desired))
        interval = duration_seconds(self.params['interval'])
        if not isinstance(interval, int):
            self.module.fail_json(msg='{}: interval {!r} is not a duration'.format(self.label, self.params['interval']))
        return {'folder_uid': self.params['folder_uid'], 'name': self.params['name'],
                'interval': interval, 'rules': rules}

    def _org_id(self) -> int:
        org_id = self.client.resolve_org()
        if org_id is None:
            org_id = self.api('GET', '/api/org')['id']
        return org_id

    def _put(self, after: Dict[str, Any]) -> None:
        org_id = self._org_id()
        rules = [dict(rule, folderUID=after['folder_uid'], ruleGroup=after['name'], orgID=org_id)
                 for rule in after['rules']]
        body = {'title': after['name'], 'folderUid': after['folder_uid'], 'interval': after['interval'],
                'rules': rules}
        self.api('PUT', self.path, body=body, disable_provenance=self.params['disable_provenance'])

    def create(self, after: Dict[str, Any]) -> None:
        self._put(after)

    def update(self, current: Dict[str, Any], before: Dict[str, Any], after: Dict[str, Any]) -> None:
        self._put(after)

    def delete(self, current: Dict[str, Any]) -> None:
        # Rule by rule: the group DELETE endpoint is missing from older Grafana releases.
        for rule in current.get('rules') or []:
            self.api('DELETE', f"/api/v1/provisioning/alert-rules/{quote_path(rule['uid'])}",
                     disable_provenance=self.params['disable_provenance'])

    def present_result(self, after: Dict[str, Any]) -> Dict[str, Any]:
        current = None if self.check_mode else self.read()
        return self.owned(current) if current else after


def main() -> None:
    run_resource(AlertRuleGroup, dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        folder_uid=dict(type='str', required=True),
        name=dict(type='str', required=True),
        interval=dict(type='str', default='1m'),
        rules=dict(type='list', elements='dict'),
        disable_provenance=dict(type='bool', default=True),
    ))


if __name__ == '__main__':
    main()
