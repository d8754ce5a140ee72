# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
name: stack_secret
author:
  - data2ai training team (@data2ai)
short_description: A per-host secret, generated once and kept on the controller with mode 0600
description:
  - Returns the secret named by each term for the current host. The first call generates a random value and
    stores it in C(<credentials dir>/<inventory_hostname>/<name>), mode 0600 in a 0700 directory; later calls
    read it back, so every run and every role sees the same value.
  - The credentials directory is C(stack_credentials_dir) when set. Otherwise it is
    C(<inventory dir>/../credentials/<inventory dir name>), one directory per inventory (per cohort), beside the
    inventory rather than inside it, so Ansible never reads a secret file as an inventory source. The repository
    ignores C(inventories/credentials/).
  - In check mode nothing is written; a secret that does not exist yet is returned as a random value for that run.
options:
  _terms:
    description: Names of the secrets, such as C(grafana_admin_password).
    required: true
  length:
    description: Length of a generated secret.
    type: int
    default: 32
  want:
    description:
      - C(value) returns the secrets, generating those that do not exist yet.
      - C(path) returns the path of each secret's file on the controller and neither reads nor writes it.
      - C(host_dir) returns the host's credentials directory, C(cohort_dir) the inventory's (the parent of every
        host's); both ignore the terms and write nothing.
    type: str
    choices: [value, path, host_dir, cohort_dir]
    default: value
"""

EXAMPLES = r"""
- name: The admin password of this host's Grafana, generated once
  ansible.builtin.debug:
    msg: "{{ lookup('data2ai.grafana_stack.stack_secret', 'grafana_admin_password', length=24) }}"
  no_log: true

- name: Where that password is kept on the controller (nothing is read or written)
  ansible.builtin.debug:
    msg: "{{ lookup('data2ai.grafana_stack.stack_secret', 'grafana_admin_password', want='path') }}"
"""

RETURN = r"""
_raw:
  description: The secrets (or their paths), in the order of the terms; one directory for C(host_dir) and C(cohort_dir).
  type: list
  elements: str
"""

import os  # noqa: E402
import secrets  # noqa: E402
import string  # noqa: E402

from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402

ALPHABET = string.ascii_letters + string.digits
SAFE_NAME = set(ALPHABET + "_-.")


def credentials_dir(variables: dict) -> str:
    configured = variables.get("stack_credentials_dir")
    if configured:
        return str(configured)
    inventory_dir = variables.get("inventory_dir") or variables.get("playbook_dir") or os.getcwd()
    inventory_dir = os.path.abspath(str(inventory_dir))
    return os.path.join(os.path.dirname(inventory_dir), "credentials", os.path.basename(inventory_dir))


def read_or_create(path: str, length: int, write: bool) -> str:
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            return handle.read().rstrip("\n")
    value = "".join(secrets.choice(ALPHABET) for _index in range(length))
    if write:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(value)
    return value


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        host = str(variables.get("inventory_hostname") or "localhost")
        # Variables reach a lookup untemplated: "{{ ... }}" in stack_credentials_dir must be resolved first, or
        # the secret would land in a directory literally named after the expression.
        resolved = dict(variables)
        for name in ("stack_credentials_dir", "inventory_dir", "playbook_dir"):
            if isinstance(resolved.get(name), str):
                resolved[name] = self._templar.template(resolved[name])
        cohort = credentials_dir(resolved)
        base = os.path.join(cohort, host)
        want = self.get_option("want")
        if want == "cohort_dir":
            return [cohort]
        if want == "host_dir":
            return [base]
        write = not variables.get("ansible_check_mode", False)
        values = []
        for name in terms:
            if not name or set(str(name)) - SAFE_NAME or str(name).strip(".") == "":
                raise AnsibleLookupError(f"stack_secret: '{name}' is not a valid secret name (letters, digits, _-.)")
            path = os.path.join(base, str(name))
            values.append(path if want == "path" else read_or_create(path, int(self.get_option("length")), write))
        return values
