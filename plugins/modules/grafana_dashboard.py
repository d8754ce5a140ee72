#!/usr/bin/python
# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: grafana_dashboard
short_description: Manage Grafana dashboards from JSON
version_added: 1.0.0
description:
  - Create, update, move and delete a dashboard in a Grafana organization.
  - The dashboard is identified by its uid, from O(uid) or from the C(uid) field of the JSON. A dashboard
    without a uid cannot be managed idempotently, so the uid is required.
  - Only what you own is compared, the dashboard JSON and its folder. The JSON's C(id) and C(version),
    which Grafana rewrites on every save, and the server's metadata are never compared. A dashboard that
    differs only in those is unchanged.
  - The folder is addressed by uid (O(folder_uid)), never by its numeric id or title.
  - An update sends the stored version, so a concurrent change in the UI makes Grafana answer
    HTTP 412 (legacy API) or HTTP 409 (C(/apis)) instead of being overwritten silently.
  - The API is chosen from the version Grafana reports at C(GET /api/health), never from an option. Grafana 13 and
    later are driven through C(/apis/dashboard.grafana.app/v1/namespaces/<namespace>/dashboards[/<uid>]) (namespace
    C(default) for org 1, C(org-<id>) for the others; the folder in the C(grafana.app/folder) annotation, the commit
    message in C(grafana.app/message), updates conditional on C(metadata.resourceVersion)); Grafana 11 and 12, or a
    Grafana that hides its version, through C(/api/dashboards/db) and C(/api/dashboards/uid/<uid>).
  - Both ways the module is idempotent and supports check mode and diff mode; the same user-owned view (uid,
    folder uid, JSON model without C(id) and C(version)) is compared, and nothing is written in check mode.
author:
  - data2ai training team (@data2ai)
extends_documentation_fragment:
  - data2ai.grafana_stack.grafana
  - data2ai.grafana_stack.grafana.org
  - data2ai.grafana_stack.grafana.attributes
options:
  state:
    description:
      - V(present) creates, updates or moves the dashboard, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  dashboard:
    description:
      - The dashboard model, as a dictionary or as a JSON string (for example from P(ansible.builtin.template#lookup)).
      - Its C(id) and C(version) are ignored.
      - Mutually exclusive with O(src). One of them is required with O(state=present).
    type: dict
  src:
    description:
      - Path of a dashboard JSON file on the B(controller), read by the module's action plugin and
        sent as O(dashboard). Relative paths are searched in the role's or playbook's C(files/) directory.
      - Mutually exclusive with O(dashboard).
    type: path
  uid:
    description:
      - Uid of the dashboard. Overrides the C(uid) of the JSON.
      - Required with O(state=absent) when no JSON is given.
    type: str
  folder_uid:
    description:
      - Uid of the folder that holds the dashboard. The empty string is the top level (General).
      - A dashboard found in another folder is moved, which reports C(changed).
    type: str
    default: ""
  commit_message:
    description:
      - Message stored in the dashboard's version history when it is saved.
    type: str
    default: Saved by data2ai.grafana_stack
attributes:
  action:
    support: full
    description: The action plugin reads O(src) on the controller and sends its content as O(dashboard).
'''

EXAMPLES = r'''
- name: Dashboard from a JSON file on the controller (files/node.json)
  data2ai.grafana_stack.grafana_dashboard:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    src: node.json
    folder_uid: stack

- name: Dashboard from a template, in a cohort organization
  data2ai.grafana_stack.grafana_dashboard:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    org_name: cohort-2025-01
    dashboard: "{{ lookup('ansible.builtin.template', 'logs.json.j2') }}"
    folder_uid: cohort-labs

- name: Inline dashboard
  data2ai.grafana_stack.grafana_dashboard:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    dashboard:
      uid: hello
      title: Hello
      panels: []
      schemaVersion: 39

- name: Delete a dashboard
  data2ai.grafana_stack.grafana_dashboard:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    uid: hello
    state: absent
'''

RETURN = r'''
dashboard:
  description:
    - The dashboard as the user manages it after the run; empty after O(state=absent).
  returned: always
  type: dict
  contains:
    uid:
      description: Uid of the dashboard.
      type: str
      returned: success
    folder_uid:
      description: Uid of its folder, empty at the top level.
      type: str
      returned: success
    model:
      description: The dashboard JSON without C(id) and C(version).
      type: dict
      returned: success
  sample:
    uid: hello
    folder_uid: ""
    model: {uid: hello, title: Hello, panels: []}
diff:
  description: Dashboard (uid, folder and JSON model) before and after.
  returned: when diff mode is on
  type: dict
'''

import json  # noqa: E402
from typing import Any, Dict, Optional  # noqa: E402

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import (  # noqa: E402
    DASHBOARD_GROUP,
    FOLDER_ANNOTATION,
    MESSAGE_ANNOTATION,
    app_object,
    quote_path,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import (  # noqa: E402
    GrafanaResource,
    run_resource,
    strip,
)

# Grafana rewrites these on every save; they are not the user's
DASHBOARD_SERVER_FIELDS = ('id', 'version')


class Dashboard(GrafanaResource):
    kind = 'dashboard'

    def __init__(self, module: Any, client: Any) -> None:
        super().__init__(module, client)
        self.model = self._load_model()
        self.uid = self.params['uid'] or self.model.get('uid')
        if not self.uid:
            module.fail_json(msg='dashboard: set uid, or a uid in the dashboard JSON')

    def _load_model(self) -> Dict[str, Any]:
        model = self.params['dashboard']
        if self.params['src']:
            # Only reached without the action plugin: the file is read where the module runs.
            try:
                with open(self.params['src'], 'rb') as handle:
                    model = json.loads(handle.read().decode('utf-8'))
            except (OSError, ValueError) as exc:
                self.module.fail_json(msg='dashboard: cannot read {}: {}'.format(self.params['src'], exc))
        if isinstance(model, dict) and isinstance(model.get('dashboard'), dict):
            model = model['dashboard']  # accept an export with its "dashboard"/"meta" envelope
        return dict(model or {})

    @property
    def label(self) -> str:
        return "dashboard '%s'" % (self.uid or self.model.get('title'))

    @property
    def legacy_path(self) -> str:
        return f'/api/dashboards/uid/{quote_path(self.uid)}'

    def object_path(self, named: bool = True) -> str:
        return self.client.apis_path(DASHBOARD_GROUP, 'dashboards', self.uid if named else None)

    def read(self) -> Optional[Dict[str, Any]]:
        """The dashboard in the legacy shape (``dashboard``, ``meta.folderUid``), from whichever API is served."""
        if not self.serves_app_apis():
            return self.api_get(self.legacy_path)
        found = self.api_get(self.object_path())
        if found is None:
            return None
        metadata = found.get('metadata') or {}
        return {'dashboard': dict(found.get('spec') or {}, uid=self.uid),
                'meta': {'folderUid': (metadata.get('annotations') or {}).get(FOLDER_ANNOTATION) or ''},
                'resourceVersion': metadata.get('resourceVersion')}

    def owned(self, current: Dict[str, Any]) -> Dict[str, Any]:
        meta = current.get('meta') or {}
        return {
            'uid': self.uid,
            'folder_uid': meta.get('folderUid') or '',
            'model': strip(current.get('dashboard'), DASHBOARD_SERVER_FIELDS),
        }

    def wanted(self, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        if not self.model:
            self.module.fail_json(msg=f'{self.label}: dashboard or src is required with state=present')
        model = strip(self.model, DASHBOARD_SERVER_FIELDS)
        model['uid'] = self.uid
        return {'uid': self.uid, 'folder_uid': self.params['folder_uid'] or '', 'model': model}

    def _save(self, after: Dict[str, Any], version: Optional[int]) -> None:
        model = dict(after['model'])
        if version is not None:
            model['version'] = version
        body = {'dashboard': model, 'folderUid': after['folder_uid'], 'overwrite': False,
                'message': self.params['commit_message']}
        self.api('POST', '/api/dashboards/db', body=body)

    def _save_object(self, after: Dict[str, Any], resource_version: Optional[str]) -> None:
        """Create (POST) or update (PUT, only the version read: 409 on a concurrent change) the /apis object."""
        spec = {k: v for k, v in after['model'].items() if k != 'uid'}  # metadata.name carries the uid
        annotations = {MESSAGE_ANNOTATION: self.params['commit_message']}
        if after['folder_uid']:
            annotations[FOLDER_ANNOTATION] = after['folder_uid']
        body = app_object(DASHBOARD_GROUP, 'Dashboard', self.uid, spec, annotations, resource_version)
        if resource_version is None:
            self.api('POST', self.object_path(named=False), body=body)
        else:
            self.api('PUT', self.object_path(), body=body)

    def create(self, after: Dict[str, Any]) -> None:
        if self.serves_app_apis():
            self._save_object(after, None)
        else:
            self._save(after, None)

    def update(self, current: Dict[str, Any], before: Dict[str, Any], after: Dict[str, Any]) -> None:
        if self.serves_app_apis():
            self._save_object(after, str(current.get('resourceVersion') or ''))
        else:
            self._save(after, (current.get('dashboard') or {}).get('version'))

    def delete(self, current: Dict[str, Any]) -> None:
        self.api('DELETE', self.object_path() if self.serves_app_apis() else self.legacy_path)


def main() -> None:
    run_resource(Dashboard, dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        dashboard=dict(type='dict'),
        src=dict(type='path'),
        uid=dict(type='str'),
        folder_uid=dict(type='str', default=''),
        commit_message=dict(type='str', default='Saved by data2ai.grafana_stack'),
    ), mutually_exclusive=[['dashboard', 'src']])


if __name__ == '__main__':
    main()
