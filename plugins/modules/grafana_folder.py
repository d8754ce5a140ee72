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
  - With O(permissions), the folder's permission list (ACL) is made equal to the given one through Grafana's
    folder permissions API (C(GET|POST /api/folders/<uid>/permissions)); without it the permissions are left alone.
  - The API is chosen from the version Grafana reports at C(GET /api/health), never from an option. Grafana 13 and
    later are driven through C(/apis/folder.grafana.app/v1/namespaces/<namespace>/folders[/<uid>]) (namespace
    C(default) for org 1, C(org-<id>) for the others; the parent in the C(grafana.app/folder) annotation, so one
    conditional C(PUT) renames and moves; a concurrent change answers HTTP 409). Grafana 11 and 12, or a Grafana that
    hides its version, use C(/api/folders). The permissions API and O(force_delete_rules) (which C(/apis) lacks) use
    the legacy routes, which Grafana 13 still serves.
  - Both ways the module is idempotent and supports check mode and diff mode; the same view (uid, title, parent uid,
    description, permissions) is compared, and nothing is written in check mode.
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
      - A different value moves the folder (C(POST /api/folders/<uid>/move), or the C(grafana.app/folder) annotation
        on Grafana 13).
    type: str
  force_delete_rules:
    description:
      - With O(state=absent), also delete the alert rules stored in the folder. Without it Grafana
        refuses to delete a folder that holds alert rules.
    type: bool
    default: false
  permissions:
    description:
      - The whole permission list of the folder. Entries not listed are removed, so an empty list leaves only the
        access Grafana gives by itself (org Admins always administer every folder).
      - "Compared with the folder's own entries as C(GET /api/folders/<uid>/permissions) returns them: entries
        marked C(inherited) (from parent folders or, on older Grafana, the dashboard ACL) are ignored, and users
        Grafana hides (C([users] hidden_users)) are never listed nor removed."
      - A new top-level folder starts with C(Editor) -> C(Edit) and C(Viewer) -> C(View), and Grafana also gives
        the user who created it C(Admin); list the role entries to keep them.
      - Users are looked up with C(GET /api/users/lookup), which needs a Grafana server admin; teams with
        C(GET /api/teams/search) in the folder's organization. An unknown user or team fails the task (in check
        mode, where it may be created by an earlier task, it is a warning).
      - Each entry names exactly one of O(permissions[].user), O(permissions[].team) or O(permissions[].role).
        Unset, the permissions are not compared nor changed. Ignored with O(state=absent).
    type: list
    elements: dict
    suboptions:
      user:
        description:
          - Login (or email) of a user. The result shows the login.
          - It names the user with that login, compared case-insensitively as Grafana does; only when no user has it
            as login, the user with that email.
        type: str
      team:
        description:
          - Name of a team of the folder's organization.
        type: str
      role:
        description:
          - Basic org role. A role's entry applies to every member with that role or a higher one.
        type: str
        choices: [Viewer, Editor]
      permission:
        description:
          - V(View) reads the folder and its dashboards, V(Edit) also creates, saves and deletes dashboards in it,
            V(Admin) also manages the folder and its permissions.
        type: str
        choices: [View, Edit, Admin]
        required: true
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

- name: A student's own folder, which they edit even as an org Viewer
  data2ai.grafana_stack.grafana_folder:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    org_name: cohort-2025-01
    uid: cohort-2025-01-u-bob
    title: Bob
    permissions:
      - user: bob
        permission: Edit
      - team: team-a
        permission: View
      - role: Editor
        permission: Edit

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
  sample: {uid: cohort-labs, title: Labs, parent_uid: "", description: "",
           permissions: [{user: bob, permission: Edit}, {role: Editor, permission: Edit}]}
  contains:
    permissions:
      description:
        - The folder's own permission entries, sorted (users, then teams, then roles), each with one of C(user),
          C(team) or C(role) and C(permission).
      returned: when O(permissions) is set
      type: list
      elements: dict
diff:
  description: The folder before and after (uid, title, parent uid, description, and permissions when managed).
  returned: when diff mode is on
  type: dict
'''

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_objects import (  # noqa: E402
    FOLDER_OPTIONS,
    FOLDER_REQUIRED_IF,
    Folder,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import run_resource  # noqa: E402


def main() -> None:
    run_resource(Folder, FOLDER_OPTIONS, required_if=FOLDER_REQUIRED_IF)


if __name__ == '__main__':
    main()
