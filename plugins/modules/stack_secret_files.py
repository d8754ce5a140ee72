#!/usr/bin/python
# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: stack_secret_files
short_description: A component's secret files, their directory and the removal of those no longer wanted, in one task
description:
  - Internal to the collection's component roles (Alertmanager's receivers, Grafana's grafana.ini secrets,
    InfluxDB's setup), which call it with their own data instead of one task per step.
  - Creates O(path) with O(mode), O(directory_owner) and O(directory_group), or sets them on the existing directory.
  - Writes each of O(files) in O(path) with O(file_mode), O(owner) and O(group). A file is written only when its
    content differs, atomically, and readable by nobody else from the start (a temporary file beside it, owned and
    moded first, then renamed); a file whose content is the same only gets its mode and owner set when they differ.
  - Removes every file of O(path) whose name matches one of O(remove) and that is not in O(files).
  - The task changes only when the directory, a file's content, mode or owner, or a removal changes anything.
  - The contents never appear in the task's result, its diff or its logged arguments (O(files) is a C(no_log)
    option), so the task needs no C(no_log) of its own and still shows its diff.
  - While the variable C(stack_containers_deferred) is true (site.yml sets it for the data and collection layers),
    and not in check mode, the task only checks its options and keeps the directory for
    M(data2ai.grafana_stack.stack_containers), which writes it in its one run on the host, before the containers,
    and notifies this task's handlers when it changed. The task itself then changes nothing and returns
    C(deferred=true). The kept directory, contents included, waits in a file of mode 0600 in the ansible-playbook
    run's own private temporary directory on the controller, and is removed when it is applied.
author:
  - data2ai training team (@data2ai)
version_added: 1.1.0
options:
  path:
    description: The directory of the secret files on the host.
    type: path
    required: true
  mode:
    description: The mode of O(path), in octal.
    type: str
    default: '0700'
  owner:
    description: The owner (a user name or a numeric id) of the files, and of O(path) unless O(directory_owner) says
      otherwise. Omitted, it is left as it is (a new file belongs to the user the module runs as).
    type: str
  group:
    description: The group (a name or a numeric id) of the files, and of O(path) unless O(directory_group) says
      otherwise. Omitted, it is left as it is.
    type: str
  directory_owner:
    description: The owner of O(path) when it is not O(owner).
    type: str
  directory_group:
    description: The group of O(path) when it is not O(group).
    type: str
  file_mode:
    description: The mode of each of O(files), in octal.
    type: str
    default: '0400'
  files:
    description: The files wanted in O(path), each name (no C(/)) with the file's whole content, as text (UTF-8).
      The contents are never shown.
    type: dict
    default: {}
  remove:
    description: Shell patterns (C(fnmatch)) of file names in O(path) that are removed unless O(files) names them.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Reports what would change and changes nothing.
  diff_mode:
    support: full
    description: Shows the directory and each file by name, mode and owner before and after, and whether its content
      changes; never the content.
"""

EXAMPLES = r"""
- name: Write InfluxDB's setup secrets
  data2ai.grafana_stack.stack_secret_files:
    path: "{{ influxdb_config_dir }}/secrets"
    owner: "{{ influxdb_secrets_owner }}"
    files:
      admin_password: "{{ influxdb_admin_password_effective }}"
      admin_token: "{{ influxdb_admin_token_effective }}"

- name: Write the receivers' secrets and remove those of receivers that are off
  data2ai.grafana_stack.stack_secret_files:
    path: "{{ alertmanager_config_dir }}/secrets"
    owner: "{{ alertmanager_secrets_owner }}"
    file_mode: "0600"
    files: "{{ alertmanager_secret_files | selectattr('needed') | items2dict(key_name='name', value_name='value') }}"
    remove: "{{ alertmanager_secret_files | map(attribute='name') }}"
  notify: Reload alertmanager
"""

RETURN = r"""
directory_changed:
  description: Whether O(path) was created or its mode or owner set.
  returned: always
  type: bool
files_changed:
  description: The names of O(files) written or whose mode or owner was set (would be, in check mode).
  returned: always
  type: list
  elements: str
files_removed:
  description: The names of the files removed (would be, in check mode).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils import secret_files  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.secret_files import ARGUMENT_SPEC  # noqa: E402


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = secret_files.apply(module.params, module.check_mode)
    except secret_files.SecretFilesError as error:
        # the directory, strerror and the file name only: never the data being written.
        module.fail_json(msg=str(error))
    if not module._diff:
        result.pop('diff', None)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
