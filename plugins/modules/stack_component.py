#!/usr/bin/python
# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: stack_component
short_description: The host side of one stack component in one run - files, volumes, and its container's state
description:
  - Internal to M(data2ai.grafana_stack.stack_container), whose action plugin renders a component's templates and
    reads its files on the controller and hands them, the component's volumes and what its container must be, to
    this module at once, instead of one M(ansible.builtin.file), M(ansible.builtin.template),
    M(community.docker.docker_volume) or M(community.docker.docker_container) run each.
  - Creates O(path) with O(mode), and each of O(directories) in it, or sets their mode.
  - Empties each directory marked O(directories[].exclusive) of whatever O(files) does not name in it, before any
    file is written, so that a check of a later file sees only the files that stay.
  - Writes each of O(files), in order, only when its content or mode differs. The new content goes to a temporary
    file beside the live one; O(files[].validate) checks that file (C(%s) is its path) and only a passing check
    renames it over the live file. A failed check fails the module with C(failed to validate) and the checker's
    output, and leaves the live file as it was.
  - Creates each of O(volumes) that does not exist, with O(volume_labels). An existing volume is left as it is.
  - Reads the container named in O(container) and tells whether it is current (RV(container_current)) - it exists,
    runs, carries every label of O(container.labels), runs the image O(container.image) names on the host now, and
    is on O(container.network). It changes nothing about the container;
    M(data2ai.grafana_stack.stack_container) runs M(community.docker.docker_container) only when it is not current.
  - Talks to the Docker engine on its Unix socket, C(/var/run/docker.sock), with Python's standard library only.
  - Check mode changes nothing and runs no check; diff mode shows each changed file's old and new content, and each
    volume to create.
author:
  - data2ai training team (@data2ai)
version_added: 1.2.0
options:
  path:
    description: The component's configuration directory on the host. Required with O(directories) or O(files).
    type: path
  mode:
    description: The mode of O(path), in octal.
    type: str
    default: '0755'
  directories:
    description: Directories inside O(path).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The directory, relative to O(path).
        type: str
        required: true
      mode:
        description: Its mode, in octal.
        type: str
        default: '0755'
      exclusive:
        description: Remove every entry of the directory that O(files) does not name.
        type: bool
        default: false
  absent:
    description:
      - Files that must not be in O(path) (relative to it), such as a file a setting that is no longer set left, or
        one an earlier version wrote. Each is removed, before any file is written, when it is there.
    type: list
    elements: str
    default: []
  files:
    description: The files wanted, in the order they are written.
    type: list
    elements: dict
    default: []
    suboptions:
      dest:
        description: The file, relative to O(path); its directory must be O(path) or one of O(directories).
        type: str
        required: true
      content:
        description: The file's whole content, as text (UTF-8).
        type: str
        required: true
      mode:
        description: Its mode, in octal.
        type: str
        default: '0644'
      validate:
        description: The command that checks the new content (C(%s) is the path of a temporary file holding it)
          before it replaces the live file. Run without a shell.
        type: str
  volumes:
    description: Named volumes (local driver) that must exist.
    type: list
    elements: str
    default: []
  volume_labels:
    description: The labels a volume of O(volumes) is created with.
    type: dict
    default: {}
  container:
    description: The container to read. Not given, no container is read.
    type: dict
    suboptions:
      name:
        description: The container's name.
        type: str
        required: true
      image:
        description: The image it must run, as a name the engine resolves (C(name:tag)) or an image ID.
        type: str
        required: true
      labels:
        description: Labels it must carry, with these values.
        type: dict
        default: {}
      network:
        description: The network it must be on.
        type: str
"""

EXAMPLES = r"""
- name: Prometheus's configuration, volume and container state (what stack_container's action plugin sends)
  data2ai.grafana_stack.stack_component:
    path: /opt/grafana-stack/prometheus
    directories:
      - {name: rules, exclusive: true}
    files:
      - dest: rules/node.yml
        content: "{{ lookup('ansible.builtin.file', 'rules/node.yml') }}"
        validate: promtool check rules %s
      - dest: prometheus.yml
        content: "{{ lookup('ansible.builtin.template', 'prometheus.yml.j2') }}"
        validate: promtool check config %s
    volumes: [prometheus_data]
    container:
      name: prometheus
      image: prom/prometheus:v3.8.0
      labels: {data2ai.grafana_stack.container_spec: 3f1c0e9a}
      network: monitoring
"""

RETURN = r"""
directories_changed:
  description: The directories (O(path) as C(.), the others relative to it) created or given another mode.
  returned: always
  type: list
  elements: str
files_changed:
  description: The files (relative to O(path)) written or given another mode, in order.
  returned: always
  type: list
  elements: str
files_removed:
  description: The entries removed from exclusive directories, and the files of O(absent) removed (relative to O(path)).
  returned: always
  type: list
  elements: str
volumes_changed:
  description: The volumes of O(volumes) created (in check mode, to be created).
  returned: always
  type: list
  elements: str
container_current:
  description: Whether the container of O(container) exists, runs, carries its labels, runs its image and is on
    its network. False when O(container) is not given.
  returned: always
  type: bool
container_differs:
  description: Why the container is not current, in a few words (C(it does not exist), C(it is not running) ...).
  returned: when O(container) is given and the container is not current
  type: str
container:
  description: The container's inspect document, when it is current.
  returned: when RV(container_current) is true
  type: dict
"""

import os  # noqa: E402
import shutil  # noqa: E402
import stat  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_bytes, to_text  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils import docker_engine, file_modes  # noqa: E402

ARGUMENT_SPEC = {
    'path': {'type': 'path'},
    'mode': {'type': 'str', 'default': '0755'},
    'directories': {'type': 'list', 'elements': 'dict', 'default': [], 'options': {
        'name': {'type': 'str', 'required': True},
        'mode': {'type': 'str', 'default': '0755'},
        'exclusive': {'type': 'bool', 'default': False},
    }},
    'files': {'type': 'list', 'elements': 'dict', 'default': [], 'options': {
        'dest': {'type': 'str', 'required': True},
        'content': {'type': 'str', 'required': True},
        'mode': {'type': 'str', 'default': '0644'},
        'validate': {'type': 'str'},
    }},
    'absent': {'type': 'list', 'elements': 'str', 'default': []},
    'volumes': {'type': 'list', 'elements': 'str', 'default': []},
    'volume_labels': {'type': 'dict', 'default': {}},
    'container': {'type': 'dict', 'options': {
        'name': {'type': 'str', 'required': True},
        'image': {'type': 'str', 'required': True},
        'labels': {'type': 'dict', 'default': {}},
        'network': {'type': 'str'},
    }},
}


class FilesError(Exception):
    """A problem with the arguments, the host or a check, told in one line."""


def relative(name, option):
    """``name`` as a clean path inside the configuration directory, or FilesError."""
    norm = os.path.normpath(to_text(name))
    if os.path.isabs(norm) or norm == '..' or norm.startswith('../'):
        raise FilesError(f'{option} must be a path inside the configuration directory, not {name!r}')
    return norm


def octal_mode(text, option):
    try:
        return file_modes.octal_mode(text, option)
    except ValueError as error:
        raise FilesError(str(error)) from None


class Files:
    """Brings a configuration directory about; ``run_command`` is AnsibleModule's, for the checks."""

    def __init__(self, params, check, run_command):
        self.path = params['path']
        self.check = check
        self.run_command = run_command
        self.result = {'changed': False, 'directories_changed': [], 'files_changed': [], 'files_removed': []}
        self.diffs = []
        self.directories = [('.', octal_mode(params['mode'], 'mode'), False)] + [
            (relative(entry['name'], 'directories[].name'), octal_mode(entry['mode'], 'directories[].mode'),
             entry['exclusive']) for entry in params['directories']]
        known = {name for name, _mode, _exclusive in self.directories}
        self.files = []
        for entry in params['files']:
            dest = relative(entry['dest'], 'files[].dest')
            if (os.path.dirname(dest) or '.') not in known:
                raise FilesError(f'files[].dest {dest} is in no directory the task names')
            self.files.append((dest, to_bytes(entry['content'], errors='surrogate_or_strict'),
                               octal_mode(entry['mode'], 'files[].mode'), entry.get('validate')))

        self.absent = [relative(name, 'absent[]') for name in params['absent']]
        both = sorted(set(self.absent) & {dest for dest, _data, _mode, _validate in self.files})
        if both:
            raise FilesError(f"{', '.join(both)} is both in files and in absent")

    def target(self, name):
        return self.path if name == '.' else os.path.join(self.path, name)

    def run(self):
        for name, mode, _exclusive in self.directories:
            self.directory(name, mode)
        for name, _mode, exclusive in self.directories:
            if exclusive:
                self.prune(name)
        for name in self.absent:
            self.remove(name)
        for dest, data, mode, validate in self.files:
            self.file(dest, data, mode, validate)
        self.result['changed'] = any(self.result[key] for key in
                                     ('directories_changed', 'files_changed', 'files_removed'))
        return self.result, self.diffs

    def directory(self, name, mode):
        path = self.target(name)
        st = file_modes.lstat_or_none(path)
        if st is not None and not stat.S_ISDIR(st.st_mode):
            raise FilesError(f'{path} exists and is not a directory')
        if st is not None and stat.S_IMODE(st.st_mode) == mode:
            return
        self.result['directories_changed'].append(name)
        self.diffs.append({'before_header': path, 'after_header': path,
                           'before': f'directory mode={stat.S_IMODE(st.st_mode):04o}\n' if st else 'absent\n',
                           'after': f'directory mode={mode:04o}\n'})
        if self.check:
            return
        if st is None:
            os.makedirs(path, mode)
        os.chmod(path, mode)

    def prune(self, name):
        path = self.target(name)
        if not os.path.isdir(path):
            return  # only in check mode: the directory is still to be made
        wanted = {os.path.basename(dest) for dest, _data, _mode, _validate in self.files
                  if (os.path.dirname(dest) or '.') == name}
        for entry in sorted(os.listdir(path)):
            if entry in wanted:
                continue
            removed = os.path.join(path, entry)
            self.result['files_removed'].append(os.path.normpath(os.path.join(name, entry)))
            self.diffs.append({'before_header': removed, 'after_header': removed, 'before': 'present\n',
                               'after': 'absent\n'})
            if self.check:
                continue
            if os.path.isdir(removed) and not os.path.islink(removed):
                shutil.rmtree(removed)
            else:
                os.unlink(removed)

    def remove(self, name):
        path = self.target(name)
        st = file_modes.lstat_or_none(path)
        if st is None:
            return
        if stat.S_ISDIR(st.st_mode):
            raise FilesError(f'{path} is a directory; absent names files only')
        self.result['files_removed'].append(name)
        self.diffs.append({'before_header': path, 'after_header': path, 'before': 'present\n', 'after': 'absent\n'})
        if not self.check:
            os.unlink(path)

    def file(self, dest, data, mode, validate):
        path = self.target(dest)
        st = file_modes.lstat_or_none(path)
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise FilesError(f'{path} exists and is not a regular file')
        current = None
        if st is not None:
            with open(path, 'rb') as handle:
                current = handle.read()
        if current == data and stat.S_IMODE(st.st_mode) == mode:
            return
        self.result['files_changed'].append(dest)
        before = '' if current is None else to_text(current, errors='surrogate_or_replace')
        diff = {'before_header': path, 'after_header': path, 'before': before,
                'after': to_text(data, errors='surrogate_or_replace')}
        if current == data:
            diff.update(before=f'mode={stat.S_IMODE(st.st_mode):04o}\n', after=f'mode={mode:04o}\n')
        self.diffs.append(diff)
        if self.check:
            return
        if current == data:
            os.chmod(path, mode)
            return
        file_modes.write_atomically(path, data, mode, check=self.checker(dest, validate) if validate else None)

    def checker(self, dest, validate):
        if '%s' not in validate:
            raise FilesError(f'the validate command of {dest} must contain %s')

        def check(temporary):
            rc, out, err = self.run_command(validate % temporary)
            if rc != 0:
                detail = ' '.join(part.strip() for part in (out, err) if part and part.strip())
                raise FilesError(f'{dest}: failed to validate: {detail}'.rstrip())
        return check


# How long one request to the Docker engine may take: a busy engine (many containers starting, an image loading)
# answers late, and community.docker's modules wait 60 s by default too.
ENGINE_TIMEOUT = 60.0


def ensure_volumes(names, labels, check, engine=docker_engine):
    """Creates the volumes of ``names`` that do not exist; returns the created names and their diffs."""
    created, diffs = [], []
    for name in names:
        if engine.inspect_volume(name, timeout=ENGINE_TIMEOUT) is not None:
            continue
        created.append(name)
        diffs.append({'before_header': f'volume {name}', 'after_header': f'volume {name}', 'before': 'absent\n',
                      'after': 'present\n'})
        if not check:
            engine.create_volume(name, {str(key): str(value) for key, value in labels.items()}, timeout=ENGINE_TIMEOUT)
    return created, diffs


def container_differs(want, engine=docker_engine):
    """Why the container ``want`` names is not as wanted, or None when it is; and its inspect document."""
    document = engine.inspect_container(want['name'], timeout=ENGINE_TIMEOUT)
    if document is None:
        return 'it does not exist', None
    state = document.get('State') or {}
    if not state.get('Running'):
        return 'it is not running', document
    labels = (document.get('Config') or {}).get('Labels') or {}
    for key, value in want['labels'].items():
        if labels.get(key) != str(value):
            return f'its label {key} differs', document
    image = engine.inspect_image(want['image'], timeout=ENGINE_TIMEOUT)
    if image is None:
        return f"image {want['image']} is not on the host", document
    if image.get('Id') != document.get('Image'):
        return f"it does not run the image {want['image']} names now", document
    networks = (document.get('NetworkSettings') or {}).get('Networks') or {}
    if want['network'] and want['network'] not in networks:
        return f"it is not on network {want['network']}", document
    return None, document


def run(params, check, run_command, engine=docker_engine):
    """The whole run: files, volumes, container state. Returns the result and the diffs."""
    if (params['directories'] or params['files'] or params['absent']) and not params['path']:
        raise FilesError('directories, files and absent need path')
    result, diffs = {'changed': False, 'directories_changed': [], 'files_changed': [], 'files_removed': []}, []
    if params['path']:
        result, diffs = Files(params, check, run_command).run()
    result['volumes_changed'], volume_diffs = ensure_volumes(params['volumes'], params['volume_labels'], check, engine)
    diffs.extend(volume_diffs)
    result['changed'] = result['changed'] or bool(result['volumes_changed'])
    result['container_current'] = False
    if params['container']:
        differs, document = container_differs(params['container'], engine)
        if differs:
            result['container_differs'] = differs
        else:
            result.update(container_current=True, container=document)
    return result, diffs


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    where = module.params['path'] or (module.params['container'] or {}).get('name') or 'volumes'
    try:
        result, diffs = run(module.params, module.check_mode, module.run_command)
    except (FilesError, docker_engine.DockerEngineError) as error:
        module.fail_json(msg=f'stack_component {where}: {error}')
    except OSError as error:
        module.fail_json(msg=f'stack_component {where}: {error.strerror}: {error.filename}')
    if module._diff and diffs:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
