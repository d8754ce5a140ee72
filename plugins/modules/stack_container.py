#!/usr/bin/python
# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This file only documents the module: the action plugin plugins/action/stack_container.py does the work.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: stack_container
short_description: One component of the stack as a container, its configuration and volumes, in one task
description:
  - Internal to the collection's component roles, which call it with their own data. Check mode, diff mode and
    validation work as they do with separate M(ansible.builtin.template), M(community.docker.docker_volume) and
    M(community.docker.docker_container) tasks.
  - Renders each of O(templates) on the controller as M(ansible.builtin.template) would (from the calling role's
    templates directory, with the task's variables), and reads each of O(files) (from the calling role's files
    directory, or a path on the controller) as M(ansible.builtin.copy) would.
  - Hands them all to one run of M(data2ai.grafana_stack.stack_component) on the host, which creates O(config_dir)
    and O(directories), empties the exclusive ones of what is not wanted, and writes the files (O(files) first, then
    O(templates)) that differ. A file with a C(validate) command is checked by it before it replaces the live file;
    a failed check fails the task before the container is touched. The same run creates each missing volume of
    O(volumes) with O(labels), and reads the container.
  - The container's options are M(community.docker.docker_container)'s, O(container) plus O(name), O(image),
    O(labels), and O(network) with O(aliases) and C(networks_cli_compatible=true); C(state) defaults to
    C(started). The container also gets the label C(data2ai.grafana_stack.container_spec), a hash of all these
    options, as C(docker compose) labels its containers with a hash of their service.
  - A container that runs, carries the hash of today's options, runs the image that O(image) names on the host now,
    and is on O(network) is current, and M(community.docker.docker_container) is not run at all. Otherwise it is run
    with the options above, and creates, recreates or starts the container as it would in a task of its own. A
    container that an older release made has no hash label, so the first run of this release recreates it once
    (its volumes and data stay).
  - Leaves the container alone, and says so in RV(container_skipped), while the fact
    C(docker_host_network_pending) is true (check mode, before the docker_host role created the stack network).
  - With O(enabled=false) (a component the inventory turned off), removes the container only and does nothing else;
    its configuration directory and volumes stay, so turning it on again resumes where it stopped.
  - The task changes when any step changes. RV(container_changed) tells a created or recreated container (which
    has read its new configuration already) from a changed file that needs the role's restart or reload handler.
  - While the variable C(stack_containers_deferred) is true (site.yml sets it for the data and collection layers),
    and not in check mode, the task only prepares its component on the controller (renders the templates, reads
    the files, works out the container's options) and keeps it for M(data2ai.grafana_stack.stack_containers),
    which applies every prepared component of the host in one run and notifies this task's handlers for the
    components whose configuration changed. The task itself then changes nothing and returns RV(deferred).
author:
  - data2ai training team (@data2ai)
version_added: 1.1.0
options:
  name:
    description: The container's name.
    type: str
    required: true
  image:
    description: The container's image.
    type: str
    required: true
  labels:
    description: Labels of the container and of its O(volumes).
    type: dict
    default: {}
  network:
    description: The Docker network the container joins. Omit it for a container on the host's network.
    type: str
  aliases:
    description: The container's names on O(network).
    type: list
    elements: str
    default: []
  config_dir:
    description: The component's configuration directory on the host. Needed by O(templates).
    type: path
  config_dir_mode:
    description: The mode of O(config_dir).
    type: raw
    default: "0755"
  templates:
    description: Templates of the calling role rendered into O(config_dir).
    type: list
    elements: dict
    default: []
    suboptions:
      src:
        description: The template, in the calling role's C(templates) directory.
        type: str
        required: true
      dest:
        description: The file's name in O(config_dir).
        type: str
        required: true
      mode:
        description: The file's mode.
        type: raw
        default: "0644"
      validate:
        description: The command that checks the rendered file (C(%s) is its path) before it goes live.
        type: str
  files:
    description: Files of the calling role (or paths on the controller) copied into O(config_dir), before
      O(templates), so that a template's check can read them.
    type: list
    elements: dict
    default: []
    suboptions:
      src:
        description: The file, in the calling role's C(files) directory, or a path on the controller.
        type: str
        required: true
      dest:
        description: The file's path relative to O(config_dir), in it or in one of O(directories).
        type: str
        required: true
      mode:
        description: The file's mode.
        type: raw
        default: "0644"
      validate:
        description: The command that checks the file (C(%s) is its path) before it goes live.
        type: str
  absent:
    description:
      - Files that must not be in O(config_dir) (relative to it), such as the file of a setting that is no longer
        set, or one an earlier version of the role wrote. Each is removed before any file is written; a removal
        counts as a change of the configuration (the role's handler runs).
    type: list
    elements: str
    default: []
  directories:
    description: Directories inside O(config_dir).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The directory, relative to O(config_dir).
        type: str
        required: true
      mode:
        description: Its mode.
        type: raw
        default: "0755"
      exclusive:
        description: Remove whatever the directory holds that O(files) and O(templates) do not name, before any
          file is written.
        type: bool
        default: false
  volumes:
    description: Named volumes to create before the container.
    type: list
    elements: str
    default: []
  volume_owner:
    description:
      - A volume of O(volumes) that the component's process must own, because its image runs it as a user other
        than root (Tempo's uid 10001 cannot create its directories in a volume root owns). The host side hands it
        to O(volume_owner.owner) with a one-shot root container of O(volume_owner.image), without network, when
        its top directory belongs to someone else (C(chown -R)).
      - That check runs only when the volume is new or the container does not run (one that runs on its volume
        proves the ownership is right), and not in check mode.
    type: dict
    suboptions:
      volume:
        description: The volume, one of O(volumes).
        type: str
        required: true
      owner:
        description: Its owner, as C(uid:gid).
        type: str
        required: true
      image:
        description: An image with C(sh), C(stat) and C(chown).
        type: str
        required: true
      helper:
        description: The one-shot container's name.
        type: str
        required: true
  enabled:
    description: Whether the component runs. V(false) removes its container (and only that).
    type: bool
    default: true
  container:
    description:
      - Further options of M(community.docker.docker_container) (command, mounts, published_ports, healthcheck,
        env, ...). It may not set C(name), C(image), C(labels), C(networks) or C(networks_cli_compatible).
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Each step runs in check mode as its module does; nothing on the host changes.
  diff_mode:
    support: full
    description: Returns the diffs of the steps that have one (the directories, the files, the container).
notes:
  - Runs on the target through the modules named above; community.docker must be installed.
  - A change that docker_container would see but the hash cannot - for example C(docker update --restart) run by
    hand on the container - is not noticed while the container stays current. Remove the container, and the next
    run makes it again.
seealso:
  - module: data2ai.grafana_stack.stack_containers
  - module: data2ai.grafana_stack.stack_component
  - module: community.docker.docker_container
  - module: ansible.builtin.template
"""

EXAMPLES = r"""
- name: Loki's configuration, volume and container
  data2ai.grafana_stack.stack_container:
    name: "{{ loki_container_name }}"
    image: "{{ loki_image }}"
    labels: "{{ loki_labels }}"
    network: "{{ loki_network }}"
    aliases: [loki]
    config_dir: "{{ loki_config_dir }}"
    templates:
      - {src: config.yaml.j2, dest: config.yaml, validate: "{{ loki_verify_config_command }}"}
    volumes: ["{{ loki_volume }}"]
    container:
      command: ["-config.file=/etc/loki/config.yaml"]
      restart_policy: "{{ loki_restart_policy }}"
  register: loki_container
  notify: Restart loki
"""

RETURN = r"""
templates_changed:
  description: The files of O(templates) that changed (or would change, in check mode).
  returned: always
  type: list
  elements: str
files_changed:
  description: Every file of O(files) and O(templates) that changed (or would change), as paths on the host.
  returned: always
  type: list
  elements: str
files_removed:
  description: What was (or would be) removed from O(config_dir), as paths on the host - the files of O(absent),
    and what an exclusive directory held that was not wanted.
  returned: always
  type: list
  elements: str
volumes_changed:
  description: The O(volumes) that were created (in check mode, that would be created).
  returned: always
  type: list
  elements: str
volume_owner_changed:
  description: Whether the volume of O(volume_owner) was handed to its owner.
  returned: always
  type: bool
container_changed:
  description: Whether the container was created, recreated, started, changed or (O(enabled=false)) removed.
  returned: always
  type: bool
container_skipped:
  description: Whether the container was left alone because the stack network does not exist yet (check mode).
  returned: always
  type: bool
container:
  description: The container's inspect document, as M(community.docker.docker_container) returns it (or as the
    host side read it, when the container was current).
  returned: unless RV(container_skipped), O(enabled=false), or RV(deferred)
  type: dict
deferred:
  description: Whether the component was only prepared, for M(data2ai.grafana_stack.stack_containers) to apply.
  returned: when true
  type: bool
"""
