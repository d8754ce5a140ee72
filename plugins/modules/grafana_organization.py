#!/usr/bin/python
# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: grafana_organization
short_description: Manage Grafana organizations and their members' roles
version_added: 1.0.0
description:
  - Create and delete a Grafana organization, and manage which users belong to it with which role.
  - One organization per cohort is the collection's multi-org pattern; users, teams, folders and data
    sources are then created in it with O(ignore:org_name).
  - Needs a Grafana server admin (basic authentication); service account tokens cannot manage organizations.
  - The organization is identified by its O(name). It has no org selection options of its own.
author:
  - data2ai training team (@data2ai)
extends_documentation_fragment:
  - data2ai.grafana_stack.grafana
  - data2ai.grafana_stack.grafana.attributes
options:
  state:
    description:
      - V(present) creates the organization and sets its members, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Name of the organization, unique in Grafana.
    type: str
    required: true
  users:
    description:
      - Members and their roles. Users must exist, see M(data2ai.grafana_stack.grafana_user).
      - Members not listed are left alone unless O(enforce_users=true).
    type: list
    elements: dict
    default: []
    suboptions:
      login:
        description:
          - Login or email of the user. It names the user with that login, compared case-insensitively as Grafana
            does; only when no user has it as login, the user with that email.
        type: str
        required: true
      role:
        description:
          - Role of the user in the organization.
        type: str
        choices: [Admin, Editor, Viewer]
        default: Viewer
  enforce_users:
    description:
      - Remove members that are not in O(users).
      - The user the module connects as (O(url_username)) is never removed, so the run cannot lock itself out
        and the organization keeps an admin.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Organization of a cohort with its instructor and students
  data2ai.grafana_stack.grafana_organization:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    name: cohort-2025-01
    users:
      - login: instructor
        role: Admin
      - login: alice
        role: Editor
      - login: bob@example.org
    enforce_users: true

- name: Delete the organization
  data2ai.grafana_stack.grafana_organization:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    name: cohort-2024-12
    state: absent
'''

RETURN = r'''
organization:
  description: The organization after the run, with its members sorted by login; empty after O(state=absent).
  returned: always
  type: dict
  sample:
    name: cohort-2025-01
    id: 2
    users: [{login: admin, role: Admin}, {login: alice, role: Editor}]
diff:
  description: Name and members (login and role) before and after.
  returned: when diff mode is on
  type: dict
'''

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_objects import (  # noqa: E402
    ORGANIZATION_OPTIONS,
    Organization,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import run_resource  # noqa: E402


def main() -> None:
    run_resource(Organization, ORGANIZATION_OPTIONS, org_scoped=False)


if __name__ == '__main__':
    main()
