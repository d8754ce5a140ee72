#!/usr/bin/python
# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: grafana_cohort
short_description: Provision many Grafana users, organizations, teams, folders, datasources and dashboards at once
version_added: 1.1.0
description:
  - Takes a desired set of objects (users, organizations with their members' roles, teams with their members,
    datasources, folders with their permissions, dashboards) and the objects to remove, reads what exists, and
    creates, updates or removes only what differs, in one task.
  - Each object is read, compared and written by the same code as its single-object module
    (M(data2ai.grafana_stack.grafana_user), M(data2ai.grafana_stack.grafana_organization),
    M(data2ai.grafana_stack.grafana_team), M(data2ai.grafana_stack.grafana_datasource),
    M(data2ai.grafana_stack.grafana_folder), M(data2ai.grafana_stack.grafana_dashboard)), so an entry means what
    the same options mean there.
  - Objects are handled O(concurrency) at a time over one client. An object waits for the objects of the set it
    needs; users and organizations come before memberships, organizations before what lives in them, teams and
    parent folders before folders, folders before their dashboards. Removals come last, dashboards, then folders,
    then organizations, then users.
  - A failing object does not stop the others. The task fails at the end with one line per failed object, naming the
    object, the HTTP status and Grafana's message. The objects that need a failed object are skipped, and the
    message names them in one more line. RV(results) holds one entry per object.
  - Before the objects, Grafana's users and organizations are read in one list each (C(GET /api/users),
    C(GET /api/orgs)), so they are not looked up one request at a time. When a list holds fewer than a page (1000),
    an object it lacks does not exist; a user the task makes is looked up once afterwards.
  - Needs a Grafana server admin (basic authentication), as users and organizations do.
  - The cohort role (C(data2ai.grafana_stack.cohort)) provisions a whole cohort with one call of this module.
author:
  - data2ai training team (@data2ai)
extends_documentation_fragment:
  - data2ai.grafana_stack.grafana
  - data2ai.grafana_stack.grafana.attributes
options:
  users:
    description:
      - Users (server-wide), as M(data2ai.grafana_stack.grafana_user) with O(ignore:state=present). A password is
        set only when the user is created, unless O(users[].password_update=always).
    type: list
    elements: dict
    default: []
    suboptions:
      login:
        description: Login of the user.
        type: str
        required: true
      name:
        description: Display name. Not compared when unset.
        type: str
      email:
        description: Email address. Not compared when unset.
        type: str
      password:
        description: Password, set when the user is created only (see O(users[].password_update)). Required to create
          the user.
        type: str
      password_update:
        description:
          - V(on_create) sets O(users[].password) only when the user is created, so a user who changed theirs keeps it.
          - V(always) sets it on every run (C(PUT /api/admin/users/{id}/password)), which reports C(changed) every
            time. The cohort role uses it to give one student a new initial password (its student entry point).
        type: str
        choices: [always, on_create]
        default: on_create
      label:
        description: How the object is named in the diff; by default its kind and name.
        type: str
  organizations:
    description:
      - Organizations and their members' roles, as M(data2ai.grafana_stack.grafana_organization).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the organization.
        type: str
        required: true
      users:
        description: Members and their roles; others are left alone unless O(organizations[].enforce_users=true).
        type: list
        elements: dict
        default: []
        suboptions:
          login:
            description: Login (or email) of the user.
            type: str
            required: true
          role:
            description: Role of the user in the organization.
            type: str
            choices: [Admin, Editor, Viewer]
            default: Viewer
      enforce_users:
        description: Remove the members not listed (never the connecting user).
        type: bool
        default: false
      label:
        description: How the object is named in the diff; by default its kind and name.
        type: str
  teams:
    description:
      - Teams and their members, as M(data2ai.grafana_stack.grafana_team).
    type: list
    elements: dict
    default: []
    suboptions:
      org_name:
        description: Organization of the team.
        type: str
        required: true
      name:
        description: Name of the team.
        type: str
        required: true
      email:
        description: Email of the team. Not compared when unset.
        type: str
      members:
        description: Logins (or emails) of the members.
        type: list
        elements: str
        default: []
      enforce_members:
        description: Remove the members not listed.
        type: bool
        default: false
      label:
        description: How the object is named in the diff; by default its kind and name.
        type: str
  datasources:
    description:
      - Datasources, as M(data2ai.grafana_stack.grafana_datasource).
    type: list
    elements: dict
    default: []
    suboptions:
      org_name:
        description: Organization of the datasource.
        type: str
        required: true
      label:
        description: How the object is named in the diff; by default its kind and name.
        type: str
      name:
        description:
          - Name of the data source, unique in the organization.
        type: str
        required: true
      uid:
        description:
          - Fixed uid of the data source, so dashboards and other data sources can link to it.
          - At most 40 characters of C([a-zA-Z0-9_-]). Grafana 12 rejects anything else.
          - Without it Grafana generates one and the data source is found by O(datasources[].name).
        type: str
      type:
        description:
          - Plugin id of the data source, for example V(prometheus), V(loki), V(tempo), V(influxdb) or
            V(alertmanager).
          - Required to create the data source.
        type: str
      access:
        description:
          - V(proxy) makes Grafana's backend query the data source; V(direct) makes the browser do it.
        type: str
        choices: [proxy, direct]
      data_source_url:
        description:
          - URL of the data source as Grafana's backend reaches it, for example V(http://prometheus:9090).
        type: str
        aliases: [ds_url]
      user:
        description:
          - Database user, for SQL and InfluxQL data sources.
        type: str
      database:
        description:
          - Database name, for SQL and InfluxQL data sources.
        type: str
      basic_auth:
        description:
          - Whether Grafana authenticates to the data source with HTTP basic auth.
          - Put the password into O(datasources[].secure_json_data) as C(basicAuthPassword).
        type: bool
      basic_auth_user:
        description:
          - User for basic auth to the data source.
        type: str
      with_credentials:
        description:
          - Whether the browser sends cookies and credentials with cross-site requests.
        type: bool
      is_default:
        description:
          - Whether this is the default data source of the organization.
          - Grafana makes the first data source of an organization the default one, whatever you send;
            leave this unset to not compare it.
        type: bool
      json_data:
        description:
          - Plugin settings (C(jsonData)), for example C(httpMethod), C(derivedFields), C(tracesToLogsV2).
          - Compared as a whole, the stored C(jsonData) must equal this dictionary.
        type: dict
      secure_json_data:
        description:
          - Secret plugin settings (C(secureJsonData)), for example C(basicAuthPassword) or C(token).
          - Grafana never returns secrets, only which keys are set, so values cannot be compared.
            See O(datasources[].secure_json_data_update).
        type: dict
      secure_json_data_update:
        description:
          - When to send O(datasources[].secure_json_data).
          - V(on_create) sends it when the data source is created, or when one of its keys is not stored
            yet. A changed value of a stored key is B(not) detected. This keeps the module idempotent.
          - V(always) sends it on every run, which reports C(changed) every time. Use it once to rotate a secret.
        type: str
        choices: [always, on_create]
        default: on_create
  folders:
    description:
      - Folders and their permissions, as M(data2ai.grafana_stack.grafana_folder). A folder waits for its parent
        folder when the parent is in the set too.
    type: list
    elements: dict
    default: []
    suboptions:
      org_name:
        description: Organization of the folder.
        type: str
        required: true
      uid:
        description: Uid of the folder.
        type: str
        required: true
      title:
        description: Title of the folder.
        type: str
        required: true
      description:
        description: Description. Not compared when unset.
        type: str
      parent_uid:
        description: Uid of the parent folder; empty is the top level. Unset, an existing folder is not moved.
        type: str
      permissions:
        description:
          - The whole permission list of the folder; unset, the permissions are left alone. See
            M(data2ai.grafana_stack.grafana_folder).
        type: list
        elements: dict
        suboptions:
          user:
            description: Login (or email) of a user.
            type: str
          team:
            description: Name of a team of the folder's organization.
            type: str
          role:
            description: Basic org role.
            type: str
            choices: [Viewer, Editor]
          permission:
            description: The permission.
            type: str
            choices: [View, Edit, Admin]
            required: true
      label:
        description: How the object is named in the diff; by default its kind and name.
        type: str
  dashboards:
    description:
      - Dashboards, as M(data2ai.grafana_stack.grafana_dashboard), each a copy of a model of O(dashboard_models).
    type: list
    elements: dict
    default: []
    suboptions:
      org_name:
        description: Organization of the dashboard.
        type: str
        required: true
      uid:
        description: Uid of the dashboard (replaces the model's).
        type: str
        required: true
      model:
        description: Key of the dashboard's model in O(dashboard_models).
        type: str
        required: true
      folder_uid:
        description: Uid of its folder; empty is the top level.
        type: str
        default: ''
      overwrite:
        description:
          - Make an existing dashboard equal to the model again.
          - Off, a dashboard that exists is left as it is (a copy made once, which its user may change).
        type: bool
        default: false
      commit_message:
        description: Message stored in the dashboard's version history.
        type: str
        default: Saved by data2ai.grafana_stack
      label:
        description: How the object is named in the diff; by default its kind and name.
        type: str
  dashboard_models:
    description:
      - Dashboard JSON models by key, which O(dashboards[].model) names, so a model copied many times is sent once.
    type: dict
    default: {}
  remove_dashboards:
    description: Dashboards to delete, before O(remove_folders).
    type: list
    elements: dict
    default: []
    suboptions:
      org_name:
        description: Organization of the dashboard.
        type: str
        required: true
      uid:
        description: Uid of the dashboard.
        type: str
        required: true
  remove_folders:
    description: Folders to delete, with their dashboards, after O(remove_dashboards).
    type: list
    elements: dict
    default: []
    suboptions:
      org_name:
        description: Organization of the folder.
        type: str
        required: true
      uid:
        description: Uid of the folder.
        type: str
        required: true
  remove_organizations:
    description: Names of organizations to delete, after O(remove_folders).
    type: list
    elements: str
    default: []
  remove_users:
    description: Logins of users to delete, after O(remove_organizations).
    type: list
    elements: str
    default: []
  concurrency:
    description: How many objects are read and written at the same time.
    type: int
    default: 8
'''

EXAMPLES = r'''
- name: Two students, each with an organization, a folder and a copy of a dashboard
  data2ai.grafana_stack.grafana_cohort:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    users:
      - {login: alice, name: Alice Martin, email: alice@example.org, password: "{{ alice_password }}"}
      - {login: bob, name: Bob Durand, email: bob@example.org, password: "{{ bob_password }}"}
    organizations:
      - {name: c42-alice, users: [{login: alice, role: Admin}]}
      - {name: c42-bob, users: [{login: bob, role: Admin}]}
    folders:
      - {org_name: c42-alice, uid: c42-alice, title: Alice, permissions: [{user: alice, permission: Edit}]}
      - {org_name: c42-bob, uid: c42-bob, title: Bob, permissions: [{user: bob, permission: Edit}]}
    dashboard_models:
      starter: "{{ lookup('ansible.builtin.file', 'starter.json') | from_json }}"
    dashboards:
      - {org_name: c42-alice, uid: c42-alice-starter, folder_uid: c42-alice, model: starter}
      - {org_name: c42-bob, uid: c42-bob-starter, folder_uid: c42-bob, model: starter}

- name: Remove a student who left
  data2ai.grafana_stack.grafana_cohort:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    remove_organizations: [c42-bob]
    remove_users: [bob]
'''

RETURN = r'''
results:
  description: One entry per object, in the order of the options (users, organizations, teams, datasources, folders,
    dashboards, then the removals).
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: V(user), V(organization), V(team), V(datasource), V(folder) or V(dashboard).
      type: str
    name:
      description: Login, name or uid of the object.
      type: str
    org:
      description: Organization of the object; empty for users and organizations.
      type: str
    action:
      description: V(created), V(updated), V(unchanged), V(deleted), V(failed), or V(skipped) (an object it needs
        failed). In check mode, what would be done.
      type: str
    msg:
      description: Why the object failed or was skipped.
      type: str
      returned: when failed or skipped
  sample:
    - {kind: user, name: alice, org: '', action: created}
    - {kind: folder, name: c42-alice, org: c42-alice, action: unchanged}
changes:
  description: One line per object created, updated or deleted (in check mode, that would be), naming it and
    the action; unchanged objects are left out.
  returned: always
  type: list
  elements: str
  sample: ["user 'alice' created", "folder 'c42-alice' in organization 'c42-alice' created"]
failures:
  description: One line per failed object, naming it, the HTTP status and Grafana's message.
  returned: always
  type: list
  elements: str
  sample: ["folder 'c42-bob': HTTP 400 parent folder not found"]
diff:
  description: The objects that change, each before and after, headed by its kind and name. Passwords and
    secrets being set show masked.
  returned: when diff mode is on
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import (  # noqa: E402
    GrafanaClient,
    grafana_argument_spec,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_batch import run_module  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_cohort_plan import (  # noqa: E402
    argument_spec,
    build_jobs,
)


def read_lists(client: GrafanaClient) -> None:
    """Two lists read once (users; organizations by name) spare a lookup per student, user and organization. A
    login or organization they do not hold (made by this run) is looked up as it is needed."""
    client.read_user_list()
    client.read_org_ids()


def main() -> None:
    spec = grafana_argument_spec()
    spec.update(argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    if not module.params.get('token') and module.params.get('url_password') is None:
        module.fail_json(msg='grafana: set either token (service account token) or url_password')
    try:
        jobs = build_jobs(module.params)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    run_module(module, jobs, prepare=read_lists)


if __name__ == '__main__':
    main()
