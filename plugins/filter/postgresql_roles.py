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
    in it a superuser owns) and returns the steps, in the order the role's C(roles.sql.j2) runs them.
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
- name: Work out what to change
  ansible.builtin.set_fact:
    postgresql_roles_todo: >-
      {{ postgresql_roles_read.stdout | from_json
         | data2ai.grafana_stack.postgresql_role_changes(postgresql_admin_user, postgresql_user, postgresql_roles_tmp,
             postgresql_password_checks.results | rejectattr('rc', 'equalto', 0) | map(attribute='item.key') | list) }}
"""

RETURN = r"""
_value:
  description: The steps, in order; empty when the volume is in the layout.
  type: list
  elements: str
"""

from collections.abc import Iterable, Mapping  # noqa: E402
from typing import Any  # noqa: E402

_USER_EXTRA_RIGHTS = ("superuser", "createdb", "createrole", "replication", "bypassrls")


def postgresql_role_changes(state: Mapping[str, Any], admin: str, user: str, transient: str,
                            wrong_passwords: Iterable[str] = ()) -> list[str]:
    roles = state.get("roles") or {}
    wrong = set(wrong_passwords)
    migrate = state.get("bootstrap") == user
    admin_role, user_role = roles.get(admin), roles.get(user)
    steps = ["migrate"] if migrate else []
    if admin_role is not None and not (admin_role.get("superuser") and admin_role.get("login")):
        steps.append("admin_attributes")
    if "admin_password" in wrong:
        steps.append("admin_password")
    if migrate or user_role is None:
        steps.append("create_user")
    else:
        if not user_role.get("login") or any(user_role.get(right) for right in _USER_EXTRA_RIGHTS):
            steps.append("user_attributes")
        if "user_password" in wrong:
            steps.append("user_password")
    if migrate or state.get("database_owner") != user:
        steps.append("database_owner")
    if migrate or (state.get("superuser_objects") or 0) > 0:
        steps.append("objects_owner")
    if transient in roles:
        steps.append("drop_transient_role")
    return steps


class FilterModule:
    def filters(self) -> dict:
        return {"postgresql_role_changes": postgresql_role_changes}
