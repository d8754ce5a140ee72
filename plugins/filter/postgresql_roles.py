# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the postgresql role changes in the roles of a volume, from the state its roles_state.sql reads."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: postgresql_role_changes
author:
  - data2ai training team (@data2ai)
short_description: The steps that bring a PostgreSQL volume's roles to the postgresql role's layout
version_added: 1.0.0
description:
  - Takes the state that the postgresql role's C(files/roles_state.sql) reads (the bootstrap superuser, the
    attributes of the admin, Grafana's and the transient role, the owner of Grafana's database and how many objects
    in it a superuser owns) and returns the steps, in the order they run.
  - The module M(data2ai.grafana_stack.postgresql_roles), which the postgresql role runs, decides with the same
    code (C(plugins/module_utils/postgresql_roles.py)).
  - C(migrate) when Grafana's role is the bootstrap superuser (an earlier layout); C(admin_attributes) when the admin
    exists without superuser or login; C(admin_password) and C(user_password) when O(wrong_passwords) names them;
    C(create_user) when Grafana's role is missing or is being migrated, else C(user_attributes) when it is a
    superuser, cannot log in or may create databases or roles, replicate or bypass row security, and
    C(user_password); C(database_owner) and C(objects_owner) when Grafana's role does not own the database or a
    superuser owns objects in it (always on a migration); C(drop_transient_role) when a transient role is left.
options:
  _input:
    description: The state roles_state.sql reads (its JSON line).
    type: dict
    required: true
  admin:
    description: The admin superuser's name (C(postgresql_admin_user)).
    type: str
    required: true
  user:
    description: Grafana's role (C(postgresql_user)).
    type: str
    required: true
  transient:
    description: The role a migration makes for a moment (C(postgresql_roles_tmp)).
    type: str
    required: true
  wrong_passwords:
    description: Which configured passwords did not log in, C(admin_password) and/or C(user_password).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Work out what would change, from a state read earlier and the passwords that did not log in
  ansible.builtin.set_fact:
    roles_todo: >-
      {{ roles_read.stdout | from_json
         | data2ai.grafana_stack.postgresql_role_changes('postgres', 'grafana', 'data2ai_grafana_stack_migration',
             ['user_password']) }}
"""

RETURN = r"""
_value:
  description: The steps, in order; empty when the volume is in the layout.
  type: list
  elements: str
"""

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.postgresql_roles import (  # noqa: E402
    role_changes as postgresql_role_changes,
)


class FilterModule:
    def filters(self) -> dict:
        return {"postgresql_role_changes": postgresql_role_changes}
