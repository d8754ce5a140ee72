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

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_objects import (  # noqa: E402
    DASHBOARD_MUTUALLY_EXCLUSIVE,
    DASHBOARD_OPTIONS,
    Dashboard,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import run_resource  # noqa: E402


def main() -> None:
    run_resource(Dashboard, DASHBOARD_OPTIONS, mutually_exclusive=DASHBOARD_MUTUALLY_EXCLUSIVE)


if __name__ == '__main__':
    main()
