#!/usr/bin/python
# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: grafana_content
short_description: Provision Grafana datasources, folders and dashboards in one task
version_added: 1.1.0
description:
  - Makes the given datasources, folders and dashboards of one Grafana organization exist as described, in one
    task, reading what exists and writing only what differs.
  - Each object is read, compared and written by the same code as its single-object module
    (M(data2ai.grafana_stack.grafana_datasource), M(data2ai.grafana_stack.grafana_folder),
    M(data2ai.grafana_stack.grafana_dashboard)), so an entry means what the same options mean there. Objects are
    never deleted.
  - Objects are handled O(concurrency) at a time over one client, with one login for the whole run (not in check
    mode). A folder waits for its parent folder and a dashboard for its folder, when that folder is in the task too.
  - A failing object does not stop the others. The task fails at the end with one line per failed object, naming
    it, the HTTP status and Grafana's message; the objects that need a failed one are skipped, and one more line
    names them. RV(results) holds one entry per object.
  - The grafana role (C(data2ai.grafana_stack.grafana), C(tasks/content.yml)) provisions its content with one call
    of this module.
author:
  - data2ai training team (@data2ai)
extends_documentation_fragment:
  - data2ai.grafana_stack.grafana
  - data2ai.grafana_stack.grafana.org
  - data2ai.grafana_stack.grafana.attributes
options:
  datasources:
    description:
      - Datasources, each as M(data2ai.grafana_stack.grafana_datasource) with O(ignore:state=present).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the data source, unique in the organization.
        type: str
        required: true
      uid:
        description:
          - Fixed uid of the data source, so dashboards and other data sources can link to it.
          - At most 40 characters of C([a-zA-Z0-9_-]).
          - Without it Grafana generates one and the data source is found by O(datasources[].name).
        type: str
      type:
        description:
          - Plugin id of the data source, for example V(prometheus), V(loki), V(tempo), V(influxdb) or
            V(alertmanager). Required to create the data source.
        type: str
      access:
        description:
          - V(proxy) makes Grafana's backend query the data source; V(direct) makes the browser do it.
          - Unlike M(data2ai.grafana_stack.grafana_datasource), where it is not compared when unset, V(proxy) by
            default, as the grafana role has always provisioned its datasources.
        type: str
        choices: [proxy, direct]
        default: proxy
      data_source_url:
        description: URL of the data source as Grafana's backend reaches it, for example V(http://prometheus:9090).
        type: str
        aliases: [ds_url]
      user:
        description: Database user, for SQL and InfluxQL data sources.
        type: str
      database:
        description: Database name, for SQL and InfluxQL data sources.
        type: str
      basic_auth:
        description:
          - Whether Grafana authenticates to the data source with HTTP basic auth.
          - Put the password into O(datasources[].secure_json_data) as C(basicAuthPassword).
        type: bool
      basic_auth_user:
        description: User for basic auth to the data source.
        type: str
      with_credentials:
        description: Whether the browser sends cookies and credentials with cross-site requests.
        type: bool
      is_default:
        description:
          - Whether this is the default data source of the organization. Not compared when unset.
        type: bool
      json_data:
        description:
          - Plugin settings (C(jsonData)). Compared as a whole, the stored C(jsonData) must equal this dictionary.
        type: dict
      secure_json_data:
        description:
          - Secret plugin settings (C(secureJsonData)), for example C(basicAuthPassword) or C(token).
          - Never shown in the results, the diff or an error. Grafana never returns secrets, only which keys are
            set, so values cannot be compared. See O(datasources[].secure_json_data_update).
        type: dict
      secure_json_data_update:
        description:
          - When to send O(datasources[].secure_json_data), as in M(data2ai.grafana_stack.grafana_datasource).
          - V(on_create) sends it when the data source is created, or when one of its keys is not stored yet.
          - V(always) sends it on every run, which reports C(changed) every time. Use it once to rotate a secret.
          - Unset, O(secure_json_data_update) applies.
        type: str
        choices: [always, on_create]
  secure_json_data_update:
    description:
      - When to send the secrets of the datasources that do not set O(datasources[].secure_json_data_update).
    type: str
    choices: [always, on_create]
    default: on_create
  folders:
    description:
      - Folders, each as M(data2ai.grafana_stack.grafana_folder) with O(ignore:state=present). A folder waits for its
        parent folder when the parent is in the task too.
    type: list
    elements: dict
    default: []
    suboptions:
      uid:
        description: Uid of the folder, at most 40 characters of C([a-zA-Z0-9_-]).
        type: str
        required: true
      title:
        description: Title shown in Grafana.
        type: str
        required: true
      description:
        description: Description of the folder. Not compared when unset.
        type: str
      parent_uid:
        description:
          - Uid of the parent folder; empty is the top level. Unset, an existing folder is not moved.
        type: str
  dashboards:
    description:
      - Dashboards, each as M(data2ai.grafana_stack.grafana_dashboard) with O(ignore:state=present). A dashboard waits
        for its folder when the folder is in the task too, and is skipped when that folder failed.
    type: list
    elements: dict
    default: []
    suboptions:
      dashboard:
        description:
          - The dashboard model, as a dictionary or a JSON string. Its C(id) and C(version) are ignored.
          - One of O(dashboards[].dashboard) and O(dashboards[].src) is required.
        type: dict
      src:
        description:
          - Path of a dashboard JSON file on the B(controller), read by the module's action plugin and sent as
            O(dashboards[].dashboard). Relative paths are searched in the role's or playbook's C(files/) directory.
          - The alias O(dashboards[].file) lets the grafana role's C(grafana_dashboards) entries be passed as they
            are.
        type: path
        aliases: [file]
      uid:
        description: Uid of the dashboard. Overrides the C(uid) of the JSON, which is used otherwise.
        type: str
      folder_uid:
        description: Uid of the folder that holds the dashboard. The empty string is the top level (General).
        type: str
        default: ""
      commit_message:
        description: Message stored in the dashboard's version history when it is saved.
        type: str
        default: Saved by data2ai.grafana_stack
  concurrency:
    description:
      - How many requests are in flight at once.
    type: int
    default: 8
attributes:
  action:
    support: full
    description: The action plugin reads each O(dashboards[].src) on the controller and sends its content as
      O(dashboards[].dashboard).
'''

EXAMPLES = r'''
- name: Datasources, folders and dashboards in one task
  data2ai.grafana_stack.grafana_content:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    datasources:
      - {name: Prometheus, uid: prometheus, type: prometheus, data_source_url: "http://prometheus:9090",
         is_default: true}
      - name: InfluxDB
        uid: influxdb
        type: influxdb
        data_source_url: http://influxdb:8086
        json_data: {version: Flux, organization: data2ai, defaultBucket: training}
        secure_json_data: {token: "{{ influxdb_read_token }}"}
    folders:
      - {uid: stack, title: Stack}
    dashboards:
      - {src: dashboards/host.json, folder_uid: stack}
  register: content

- name: Show what was created or updated
  ansible.builtin.debug:
    msg: "{{ content.changes }}"
  when: content.changes | length > 0
'''

RETURN = r'''
results:
  description: One entry per object, datasources, then folders, then dashboards, each in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: V(datasource), V(folder) or V(dashboard).
      type: str
    name:
      description: Uid of the object (a datasource without uid, its name).
      type: str
    org:
      description: Always empty; the objects live in the organization of O(org_id) or O(org_name).
      type: str
    action:
      description: V(created), V(updated), V(unchanged), V(failed), or V(skipped) (the folder it needs failed). In
        check mode, what would be done.
      type: str
    msg:
      description: Why the object failed or was skipped.
      type: str
      returned: when failed or skipped
  sample:
    - {kind: datasource, name: prometheus, org: '', action: created}
    - {kind: folder, name: stack, org: '', action: unchanged}
    - {kind: dashboard, name: data2ai-host, org: '', action: updated}
changes:
  description: One line per object created, updated or deleted (in check mode, that would be), naming it and
    the action; unchanged objects are left out.
  returned: always
  type: list
  elements: str
  sample: ["datasource 'prometheus' created", "dashboard 'data2ai-host' updated"]
failures:
  description: One line per failed object, naming it, the HTTP status and Grafana's message.
  returned: always
  type: list
  elements: str
  sample: ["datasource 'loki': HTTP 400 invalid URL"]
diff:
  description: The objects that change, each before and after, headed by its kind and name. Secrets being sent
    show masked.
  returned: when diff mode is on
  type: list
  elements: dict
'''

from typing import Any, Dict, List  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import (  # noqa: E402
    ORG_MUTUALLY_EXCLUSIVE,
    grafana_argument_spec,
    org_argument_spec,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_batch import Job, run_module  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_cohort_plan import (  # noqa: E402
    Plan,
    pick_options,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_objects import (  # noqa: E402
    DASHBOARD_MUTUALLY_EXCLUSIVE,
    DASHBOARD_OPTIONS,
    DATASOURCE_OPTIONS,
    FOLDER_OPTIONS,
    Dashboard,
    Datasource,
    Folder,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import (  # noqa: E402
    SECRET_UPDATE_CHOICES,
)


def argument_spec() -> Dict[str, Any]:
    """grafana_content's options, without the connection and organization options: each entry takes its
    single-object module's options (but ``state``); a datasource's access is proxy by default, and its
    secure_json_data_update defaults to the task's (the grafana role sets that one once)."""
    entries = dict(type='list', elements='dict', default=[])
    datasource = [name for name in DATASOURCE_OPTIONS if name != 'state']
    return dict(
        datasources=dict(entries, options=pick_options(DATASOURCE_OPTIONS, *datasource, access={'default': 'proxy'},
                                                       secure_json_data_update={'default': None})),
        secure_json_data_update=dict(type='str', choices=SECRET_UPDATE_CHOICES, default='on_create'),
        folders=dict(entries, options=pick_options(FOLDER_OPTIONS, 'uid', 'title', 'description', 'parent_uid',
                                                   title={'required': True})),
        dashboards=dict(entries, options=pick_options(DASHBOARD_OPTIONS, 'dashboard', 'src', 'uid', 'folder_uid',
                                                      'commit_message', src={'aliases': ['file']}),
                        mutually_exclusive=DASHBOARD_MUTUALLY_EXCLUSIVE, required_one_of=[['dashboard', 'src']]),
        concurrency=dict(type='int', default=8),
    )


def dashboard_uid(entry: Dict[str, Any]) -> str:
    """The uid a dashboard entry names (its option, else its JSON's, in an export's envelope too), else its file."""
    model = entry.get('dashboard') or {}
    if isinstance(model.get('dashboard'), dict):
        model = model['dashboard']
    return entry.get('uid') or model.get('uid') or entry.get('src') or ''


def build_jobs(params: Dict[str, Any]) -> List[Job]:
    """The jobs of grafana_content's validated ``params``: datasources, folders, dashboards; a folder needs its
    parent and a dashboard its folder, when they are in the task. ValueError names an object listed twice."""
    plan = Plan(params)
    for entry in params['datasources']:
        entry = dict(entry, secure_json_data_update=entry['secure_json_data_update']
                     or params['secure_json_data_update'])
        plan.add('datasource', Datasource, DATASOURCE_OPTIONS, entry, entry['uid'] or entry['name'], state='present')
    for entry in params['folders']:
        needs = [('folder', '', entry['parent_uid'])] if entry['parent_uid'] else []
        plan.add('folder', Folder, FOLDER_OPTIONS, entry, entry['uid'], needs=needs, state='present')
    for entry in params['dashboards']:
        needs = [('folder', '', entry['folder_uid'])] if entry['folder_uid'] else []
        plan.add('dashboard', Dashboard, DASHBOARD_OPTIONS, entry, dashboard_uid(entry), needs=needs,
                 state='present')
    return plan.unique()


def main() -> None:
    spec = grafana_argument_spec()
    spec.update(org_argument_spec())
    spec.update(argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, mutually_exclusive=ORG_MUTUALLY_EXCLUSIVE)
    if not module.params.get('token') and module.params.get('url_password') is None:
        module.fail_json(msg='grafana: set either token (service account token) or url_password')
    try:
        jobs = build_jobs(module.params)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    run_module(module, jobs)


if __name__ == '__main__':
    main()
