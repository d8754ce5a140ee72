# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
name: cohort_passwords
author:
  - data2ai training team (@data2ai)
short_description: Each student's initial password, generated once on the controller when the inventory gives none
description:
  - The cohort role's students' initial passwords, as one dictionary of login to password.
  - A student with a C(password) in the inventory has that password.
  - Otherwise the password is the one the controller keeps in C(<directory>/<login>.txt), generated there (letters and
    digits, mode 0600, with M(ansible.builtin.password)'s file format and locking) the first time.
  - A student whose password came from the inventory (O(from_inventory)) and no longer does, and who has no file,
    gets an empty password (C(grafana_cohort) asks for one when the user is new); in check mode a student without a
    file gets a placeholder, and nothing is written.
options:
  students:
    description: The students (C(cohort_students)), each with its C(login) and, maybe, its C(password).
    type: list
    elements: dict
    required: true
  directory:
    description: The cohort's credentials directory on the controller (C(cohort_credentials_dir)).
    type: path
    required: true
  from_inventory:
    description: The logins recorded as having their password from the inventory.
    type: list
    elements: str
    default: []
  length:
    description: Length of a generated password (C(cohort_password_length)).
    type: int
    default: 16
"""

EXAMPLES = r"""
- name: The students' initial passwords
  ansible.builtin.set_fact:
    passwords: >-
      {{ lookup('data2ai.grafana_stack.cohort_passwords', students=cohort_students,
                directory=cohort_credentials_dir, length=16) }}
  no_log: true
"""

RETURN = r"""
_raw:
  description: One dictionary, login to initial password.
  type: list
  elements: dict
"""

import os  # noqa: E402

from ansible.plugins.loader import lookup_loader  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402

#: What a student without a password file gets in check mode, which writes none.
CHECK_MODE_PLACEHOLDER = "not-generated-in-check-mode"


def password_sources(students, directory, from_inventory, check_mode):
    """Where each student's password comes from: (login, 'given', password), (login, 'none', ''),
    (login, 'placeholder', CHECK_MODE_PLACEHOLDER) or (login, 'file', path)."""
    recorded = {str(login) for login in from_inventory or []}
    sources = []
    for student in students:
        login = str(student.get("login"))
        path = os.path.join(str(directory), f"{login}.txt")
        given = student.get("password")
        if given and str(given):
            sources.append((login, "given", str(given)))
        elif login in recorded and not os.path.isfile(path):
            sources.append((login, "none", ""))
        elif check_mode and not os.path.isfile(path):
            sources.append((login, "placeholder", CHECK_MODE_PLACEHOLDER))
        else:
            sources.append((login, "file", path))
    return sources


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        sources = password_sources(self.get_option("students"), self.get_option("directory"),
                                   self.get_option("from_inventory"), bool(variables.get("ansible_check_mode")))
        generator = lookup_loader.get("ansible.builtin.password", loader=self._loader, templar=self._templar)
        passwords = {}
        for login, source, value in sources:
            if source == "file":
                # Reads the file, or writes a new password into it (with its lock, as the lookup does for any file).
                value = generator.run([value], variables, length=self.get_option("length"),
                                      chars=["ascii_letters", "digits"])[0]
            passwords[login] = value
        return [passwords]
