#!/usr/bin/python
# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: postgresql_roles
short_description: Grafana's PostgreSQL role and the admin superuser, in one task
version_added: 1.0.0
description:
  - Brings the roles of the PostgreSQL container that the postgresql role runs to its layout. Grafana's role
    (O(user)) logs in, owns O(database) and everything in it, and is no superuser (NOSUPERUSER NOCREATEDB
    NOCREATEROLE NOREPLICATION NOBYPASSRLS); the admin superuser (O(admin_user)) stays for administration; both log
    in with the configured passwords.
  - Waits for O(health_check) first (as M(data2ai.grafana_stack.service_health) does, up to O(health_timeout)
    seconds).
  - Reads the roles with O(state_sql) through C(docker exec -i <container> psql) over the container's local socket
    (trusted), as the first of O(admin_user), O(user) and O(transient_role) that connects.
  - Tries both passwords over the network (the container's alias C(postgresql)), where the server asks for them,
    with C(PGCONNECT_TIMEOUT=10). A check that fails for another reason than the password stops the run.
  - Moves a volume where O(user) is the bootstrap superuser (earlier versions of the postgresql role) to the layout,
    keeping its data; refuses when the reading role is no superuser, or when O(admin_user) exists beside such a
    bootstrap O(user).
  - Runs the steps that differ as one psql script on stdin (C(psql -f -)), as the bootstrap superuser.
  - Passwords go on stdin only, never on a command line, and are SQL literals there; they are never returned and
    are masked in every message.
  - Runs C(docker) on the target (the Docker CLI must be installed there).
author:
  - data2ai training team (@data2ai)
options:
  container:
    description: Name of the PostgreSQL container.
    type: str
    required: true
  database:
    description: Grafana's database, which O(user) owns.
    type: str
    required: true
  admin_user:
    description: The admin superuser kept for administration. Must differ from O(user).
    type: str
    required: true
  admin_password:
    description: Its password.
    type: str
    required: true
  user:
    description: Grafana's role.
    type: str
    required: true
  password:
    description: Its password.
    type: str
    required: true
  transient_role:
    description:
      - The superuser a move of the earlier layout makes for a moment (a session cannot rename its own role); it is
        dropped in the same run, and a transient role left by an interrupted run is dropped.
    type: str
    default: data2ai_grafana_stack_migration
  state_sql:
    description:
      - The SQL that reads the roles' state as one JSON line (the postgresql role's C(files/roles_state.sql)), run
        with the psql variables C(admin), C(user) and C(tmp).
    type: str
    required: true
  health_check:
    description:
      - The container's health check, as one entry of the C(checks) of M(data2ai.grafana_stack.service_health);
        for PostgreSQL C(name) and C(container), which waits for Docker's healthcheck.
    type: dict
    required: true
  health_timeout:
    description: Seconds to wait for O(health_check).
    type: float
    default: 120
attributes:
  check_mode:
    support: full
    description:
      - Waits, reads and checks the passwords as a real run does (that changes nothing), and reports RV(changes)
        and RV(ignore:changed) without running them.
  diff_mode:
    support: full
    description:
      - The roles' layout before and after, see RV(diff). Role names, attributes and owners; of a password only
        whether it is set anew.
  idempotent:
    support: full
    description:
      - A second run finds the layout in place and changes nothing.
notes:
  - The psql script keeps failing statements out of the server's log (C(log_min_error_statement)), so no password
    reaches it.
seealso:
  - module: data2ai.grafana_stack.service_health
    description: The wait this module does first.
"""

EXAMPLES = r"""
- name: Give Grafana a role of its own and keep the superuser for administration
  data2ai.grafana_stack.postgresql_roles:
    container: postgresql
    database: grafana
    admin_user: postgres
    admin_password: "{{ postgresql_admin_password }}"
    user: grafana
    password: "{{ postgresql_password }}"
    state_sql: "{{ lookup('ansible.builtin.file', 'roles_state.sql') }}"
    health_check: {name: postgresql, container: postgresql}
    health_timeout: 120
"""

RETURN = r"""
changes:
  description:
    - The steps run (in check mode, that a real run would run), in order; empty when the roles are in place.
    - C(migrate), C(admin_attributes), C(admin_password), C(create_user), C(user_attributes), C(user_password),
      C(database_owner), C(objects_owner), C(drop_transient_role); the filter
      C(data2ai.grafana_stack.postgresql_role_changes) describes each.
  returned: success
  type: list
  elements: str
  sample: [create_user, database_owner]
diff:
  description:
    - With C(--diff), the layout before and after; each has C(bootstrap_superuser), C(roles) (by name, its
      C(attributes) and whether its C(password) is set anew), C(database_owner) and
      C(objects_owned_by_a_superuser). No password.
  returned: success, in diff mode
  type: dict
msg:
  description: What was done, or would be done in check mode, or why the module failed.
  returned: always
  type: str
  sample: "postgresql: changed: create_user, database_owner"
"""

# Ansible modules keep their imports after the documentation strings.
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.health import (  # noqa: E402
    HealthConfigError,
    build_checks,
    wait_for_services,
    with_container_logs,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.postgresql_roles import (  # noqa: E402
    RolesError,
    manage_roles,
    secrets_of,
)

ARGUMENT_SPEC = {
    "container": {"type": "str", "required": True},
    "database": {"type": "str", "required": True},
    "admin_user": {"type": "str", "required": True},
    "admin_password": {"type": "str", "required": True, "no_log": True},
    "user": {"type": "str", "required": True},
    "password": {"type": "str", "required": True, "no_log": True},
    "transient_role": {"type": "str", "default": "data2ai_grafana_stack_migration"},
    "state_sql": {"type": "str", "required": True},
    "health_check": {"type": "dict", "required": True},
    "health_timeout": {"type": "float", "default": 120},
}
# As service_health's defaults.
HEALTH_INTERVAL = 1.0
HEALTH_REQUEST_TIMEOUT = 5.0
HEALTH_LOG_LINES = 10


def wait_until_healthy(module: AnsibleModule) -> None:
    try:
        checks = build_checks([module.params["health_check"]])
    except HealthConfigError as exc:
        module.fail_json(msg=f"health_check: {exc}")
    report = wait_for_services(checks, timeout=module.params["health_timeout"], interval=HEALTH_INTERVAL,
                               request_timeout=HEALTH_REQUEST_TIMEOUT)
    if report.unhealthy:
        module.fail_json(msg="\n".join(with_container_logs(checks, report, HEALTH_LOG_LINES)))


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    # The SQL-literal forms of the passwords are masked too.
    module.no_log_values.update(secrets_of(params["admin_password"], params["password"]))
    wait_until_healthy(module)

    def run(argv: list[str], stdin: str) -> tuple[int, str, str]:
        # binary_data: stdin goes as given, without a newline added (a password's end is its own).
        return module.run_command(argv, data=stdin, binary_data=True)

    options = {
        "container": params["container"], "database": params["database"], "admin_user": params["admin_user"],
        "admin_password": params["admin_password"], "user": params["user"], "password": params["password"],
        "transient_role": params["transient_role"], "state_sql": params["state_sql"],
    }
    try:
        result = manage_roles(run, options, module.check_mode)
    except RolesError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
