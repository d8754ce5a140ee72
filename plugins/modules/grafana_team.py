#!/usr/bin/python
# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: grafana_team
short_description: Manage Grafana teams and their members
version_added: 1.0.0
description:
  - Create, update and delete a team in a Grafana organization, and manage its members.
  - The team is found by its O(name) in the selected organization.
  - Members are looked up with C(GET /api/users/lookup), which needs a Grafana server admin.
author:
  - data2ai training team (@data2ai)
extends_documentation_fragment:
  - data2ai.grafana_stack.grafana
  - data2ai.grafana_stack.grafana.org
  - data2ai.grafana_stack.grafana.attributes
options:
  state:
    description:
      - V(present) creates or updates the team, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Name of the team, unique in the organization.
    type: str
    required: true
  email:
    description:
      - Email address of the team. Not compared when unset.
    type: str
  members:
    description:
      - Logins or emails of the members. The users must exist and belong to the organization.
      - An entry names the user with that login, compared case-insensitively as Grafana does; only when no user has
        it as login, the user with that email.
      - Members not listed are left alone unless O(enforce_members=true).
    type: list
    elements: str
    default: []
  enforce_members:
    description:
      - Remove members that are not in O(members). Grafana adds the user who creates a team as a member;
        with this option that user is removed again unless listed.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Team of the students of a cohort
  data2ai.grafana_stack.grafana_team:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    org_name: cohort-2025-01
    name: students
    members: [alice, bob@example.org]
    enforce_members: true

- name: Delete the team
  data2ai.grafana_stack.grafana_team:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    org_name: cohort-2025-01
    name: students
    state: absent
'''

RETURN = r'''
team:
  description: The team after the run with its members' logins, sorted; empty after O(state=absent).
  returned: always
  type: dict
  sample: {name: students, email: "", members: [alice, bob], id: 4}
diff:
  description: Name, email and member logins before and after.
  returned: when diff mode is on
  type: dict
'''

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_objects import (  # noqa: E402
    TEAM_OPTIONS,
    Team,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import run_resource  # noqa: E402


def main() -> None:
    run_resource(Team, TEAM_OPTIONS)


if __name__ == '__main__':
    main()
