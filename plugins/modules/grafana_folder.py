#!/usr/bin/python
# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: grafana_folder
short_description: Manage Grafana folders, nested ones included
version_added: 1.0.0
description:
  - Create, rename, move and delete a dashboard folder in a Grafana organization.
  - The folder is identified by its O(uid), never by its title. Changing O(title) renames the folder
    and keeps its uid, so dashboards and alert rules that point at it keep working.
  - Folders nest through O(parent_uid) (Grafana 10 and later with nested folders, at most 8 levels).
author:
  - data2ai training team (@data2ai)
extends_documentation_fragment:
  - data2ai.grafana_stack.grafana
  - data2ai.grafana_stack.grafana.org
  - data2ai.grafana_stack.grafana.attributes
options:
  state:
    description:
      - V(present) creates, renames or moves the folder, V(absent) deletes it with its dashboards.
    type: str
    choices: [present, absent]
    default: present
  uid:
    description:
      - Uid of the folder, at most 40 characters of C([a-zA-Z0-9_-]).
    type: str
    required: true
  title:
    description:
      - Title shown in Grafana. Titles need not be unique from Grafana 11.3 on.
      - Required with O(state=present).
    type: str
  description:
    description:
      - Description of the folder. Not compared when unset.
    type: str
  parent_uid:
    description:
      - Uid of the parent folder. An empty string means the top level.
      - When unset, the folder is created at the top level and an existing folder is not moved.
      - A different value moves the folder (C(POST /api/folders/<uid>/move)).
    type: str
  force_delete_rules:
    description:
      - With O(state=absent), also delete the alert rules stored in the folder. Without it Grafana
        refuses to delete a folder that holds alert rules.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Folder of a cohort
  data2ai.grafana_stack.grafana_folder:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    org_name: cohort-2025-01
    uid: cohort-labs
    title: Labs

- name: Nested folder for one exercise
  data2ai.grafana_stack.grafana_folder:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    org_name: cohort-2025-01
    uid: cohort-labs-variables
    title: Template variables
    parent_uid: cohort-labs

- name: Delete the folder and its alert rules
  data2ai.grafana_stack.grafana_folder:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    uid: cohort-labs
    force_delete_rules: true
    state: absent
'''

RETURN = r'''
folder:
  description: The folder as the user manages it after the run; empty after O(state=absent).
  returned: always
  type: dict
  sample: {uid: cohort-labs, title: Labs, parent_uid: ""}
diff:
  description: The folder before and after (uid, title, parent uid, description).
  returned: when diff mode is on
  type: dict
'''

from typing import Any, Dict, Optional  # noqa: E402

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import quote_path  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import (  # noqa: E402
    GrafanaResource,
    drop_none,
    run_resource,
)


class Folder(GrafanaResource):
    kind = 'folder'

    @property
    def label(self) -> str:
        return "folder '{}'".format(self.params['uid'])

    @property
    def path(self) -> str:
        return f"/api/folders/{quote_path(self.params['uid'])}"

    def read(self) -> Optional[Dict[str, Any]]:
        return self.api_get(self.path)

    def owned(self, current: Dict[str, Any]) -> Dict[str, Any]:
        # Grafana omits an empty description from its answer.
        return {'uid': current['uid'], 'title': current.get('title'), 'parent_uid': current.get('parentUid') or '',
                'description': current.get('description') or ''}

    def wanted(self, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        wanted = drop_none({k: self.params[k] for k in ('uid', 'title', 'description', 'parent_uid')})
        if current is None:
            wanted.setdefault('parent_uid', '')
            wanted.setdefault('description', '')
        return wanted

    def create(self, after: Dict[str, Any]) -> None:
        body = {'uid': after['uid'], 'title': after['title']}
        if after['description']:
            body['description'] = after['description']
        if after['parent_uid']:
            body['parentUid'] = after['parent_uid']
        self.api('POST', '/api/folders', body=body)

    def update(self, current: Dict[str, Any], before: Dict[str, Any], after: Dict[str, Any]) -> None:
        if (before['title'], before['description']) != (after['title'], after['description']):
            body = drop_none({'title': after['title'], 'description': after['description'],
                              'version': current.get('version'), 'overwrite': False})
            self.api('PUT', self.path, body=body)
        if before['parent_uid'] != after['parent_uid']:
            self.api('POST', self.path + '/move', body={'parentUid': after['parent_uid']})

    def delete(self, current: Dict[str, Any]) -> None:
        query = {'forceDeleteRules': 'true'} if self.params['force_delete_rules'] else None
        self.api('DELETE', self.path, query=query)


def main() -> None:
    run_resource(Folder, dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        uid=dict(type='str', required=True),
        title=dict(type='str'),
        description=dict(type='str'),
        parent_uid=dict(type='str'),
        force_delete_rules=dict(type='bool', default=False),
    ), required_if=[('state', 'present', ['title'])])


if __name__ == '__main__':
    main()
