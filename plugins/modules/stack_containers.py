#!/usr/bin/python
# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This file only documents the module: the action plugin plugins/action/stack_containers.py does the work.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: stack_containers
short_description: Apply the stack components that stack_container tasks prepared, all in one task
description:
  - Internal to the collection's site.yml. While the variable C(stack_containers_deferred) is true, each
    M(data2ai.grafana_stack.stack_container) and M(data2ai.grafana_stack.stack_secret_files) task of the component
    roles only prepares its component or secret directory on the controller. This task then applies everything
    prepared for the host since the last one, in the order the tasks ran.
  - One run of M(data2ai.grafana_stack.stack_component) on the host writes the secret directories (contents never
    shown), then brings about the components' directories, files (each checked by its C(validate) command before
    it goes live) and volumes, and reads their containers, several components at a time. Then
    M(community.docker.docker_container) runs for each container that is not current, and removes the container of
    each component that is turned off.
  - A component that fails (a refused configuration, a container that cannot start) leaves its container as it
    was; the others are still applied, and the task then fails naming each component that failed and why.
  - For each component whose configuration changed while its container was not created or recreated (a running
    container that must restart or reload to read it), the task notifies the handlers that component's
    M(data2ai.grafana_stack.stack_container) task names in its C(notify); for each secret directory that changed,
    those its M(data2ai.grafana_stack.stack_secret_files) task names. Handlers are notified by the task's
    result, which is how ansible-core itself passes on a task's C(notify).
  - With nothing prepared, the task does nothing.
author:
  - data2ai training team (@data2ai)
version_added: 1.3.0
options: {}
attributes:
  check_mode:
    support: full
    description: M(data2ai.grafana_stack.stack_container) defers nothing in check mode, so there is nothing to
      apply then.
  diff_mode:
    support: full
    description: Returns the diffs of every component's steps.
notes:
  - Runs on the target through the modules named above; community.docker must be installed.
seealso:
  - module: data2ai.grafana_stack.stack_container
  - module: data2ai.grafana_stack.stack_component
"""

EXAMPLES = r"""
- name: Prepare Loki and Tempo (their roles' stack_container tasks), then apply both in one task
  vars:
    stack_containers_deferred: true
  block:
    - name: Loki
      ansible.builtin.import_role:
        name: data2ai.grafana_stack.loki
    - name: Tempo
      ansible.builtin.import_role:
        name: data2ai.grafana_stack.tempo
    - name: Apply the prepared containers, their configurations and volumes
      data2ai.grafana_stack.stack_containers:
      register: stack_containers_applied
"""

RETURN = r"""
containers:
  description: Each applied component's result, by container name, as M(data2ai.grafana_stack.stack_container)
    returns it.
  returned: always
  type: dict
secret_files:
  description: Each applied secret directory's result (names, never contents), by C(secrets <path>), as
    M(data2ai.grafana_stack.stack_secret_files) returns it.
  returned: always
  type: dict
recreated:
  description: The containers that were created, recreated, started or removed.
  returned: always
  type: list
  elements: str
notified:
  description: The handlers notified, for the components whose configuration changed in a container that was not
    recreated, and for the secret directories that changed.
  returned: always
  type: list
  elements: str
"""
