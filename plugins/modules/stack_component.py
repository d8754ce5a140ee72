#!/usr/bin/python
# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: stack_component
short_description: The host side of the stack's components in one run - files, volumes, and their containers' state
description:
  - Internal to M(data2ai.grafana_stack.stack_container) and M(data2ai.grafana_stack.stack_containers), whose action
    plugins render the components' templates and read their files on the controller and hand them, the volumes and
    what each container must be, to this module at once, instead of one M(ansible.builtin.file),
    M(ansible.builtin.template), M(community.docker.docker_volume) or M(community.docker.docker_container) run each.
  - For each of O(components), concurrently, and within one component in this order -
  - Creates its O(components[].path) with O(components[].mode), and each of O(components[].directories) in it, or
    sets their mode.
  - Empties each directory marked O(components[].directories[].exclusive) of whatever O(components[].files) does
    not name in it, before any file is written, so that a check of a later file sees only the files that stay.
  - Writes each of O(components[].files), in order, only when its content or mode differs. The new content goes to
    a temporary file beside the live one; O(components[].files[].validate) checks that file (C(%s) is its path) and
    only a passing check renames it over the live file. A failed check fails the component with
    C(failed to validate) and the checker's output, and leaves the live file as it was.
  - Creates each of O(components[].volumes) that does not exist, with O(components[].volume_labels). An existing
    volume is left as it is.
  - Reads the container named in O(components[].container) and tells whether it is current
    (RV(components[].container_current)) - it exists, runs, carries every label of
    O(components[].container.labels), runs the image O(components[].container.image) names on the host now, and
    is on O(components[].container.network). With O(components[].container.present=false), it tells only whether
    the container exists. It changes nothing about the container; the action plugins run
    M(community.docker.docker_container) only when needed.
  - A component that fails does not stop the others; the module then fails, naming each component that failed and
    why, and still returns every component's result.
  - Talks to the Docker engine on its Unix socket, C(/var/run/docker.sock), with Python's standard library only.
  - Check mode changes nothing and runs no check; diff mode shows each changed file's old and new content, and each
    volume to create.
author:
  - data2ai training team (@data2ai)
version_added: 1.2.0
options:
  secret_files:
    description:
      - Secret directories, each brought about as M(data2ai.grafana_stack.stack_secret_files) does with these
        options, one after the other and before the components (whose containers read them). Their contents never
        appear in the result or the diff.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The directory of the secret files.
        type: path
        required: true
      mode:
        description: The mode of O(secret_files[].path), in octal.
        type: str
        default: '0700'
      owner:
        description: The owner of the files and, unless O(secret_files[].directory_owner) says otherwise, of the
          directory.
        type: str
      group:
        description: The group of the files and, unless O(secret_files[].directory_group) says otherwise, of the
          directory.
        type: str
      directory_owner:
        description: The owner of the directory.
        type: str
      directory_group:
        description: The group of the directory.
        type: str
      file_mode:
        description: The mode of each file, in octal.
        type: str
        default: '0400'
      files:
        description: The files wanted, each name with its whole content. Never shown.
        type: dict
        default: {}
      remove:
        description: Shell patterns of file names removed unless O(secret_files[].files) names them.
        type: list
        elements: str
        default: []
  components:
    description: The components, each brought about as described above.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The component's configuration directory on the host. Required with O(components[].directories),
          O(components[].files) or O(components[].absent).
        type: path
      mode:
        description: The mode of O(components[].path), in octal.
        type: str
        default: '0755'
      directories:
        description: Directories inside O(components[].path).
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: The directory, relative to O(components[].path).
            type: str
            required: true
          mode:
            description: Its mode, in octal.
            type: str
            default: '0755'
          exclusive:
            description: Remove every entry of the directory that O(components[].files) does not name.
            type: bool
            default: false
      absent:
        description:
          - Files that must not be in O(components[].path) (relative to it), such as a file a setting that is no
            longer set left, or
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
            description: The file, relative to O(components[].path); its directory must be O(components[].path) or
              one of O(components[].directories).
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
        description: The labels a volume of O(components[].volumes) (and the helper of
          O(components[].volume_owner)) is created with.
        type: dict
        default: {}
      volume_owner:
        description:
          - A volume the component's process must own (its image runs it as a user other than root). A one-shot
            root container of O(components[].volume_owner.image), without network, hands the volume to
            O(components[].volume_owner.owner) (C(chown -R)) when its top directory belongs to someone else.
          - It runs only when the volume was created in this run or the container does not run (a container that
            runs on its volume proves the ownership is right), and not in check mode.
        type: dict
        suboptions:
          volume:
            description: The volume.
            type: str
            required: true
          owner:
            description: The owner it must have, as C(uid:gid).
            type: str
            required: true
          image:
            description: An image with C(sh), C(stat) and C(chown) (the component's own may have no shell).
            type: str
            required: true
          helper:
            description: The one-shot container's name.
            type: str
            required: true
      container:
        description: The container to read. Not given, no container is read.
        type: dict
        suboptions:
          name:
            description: The container's name.
            type: str
            required: true
          image:
            description: The image it must run, as a name the engine resolves (C(name:tag)) or an image ID. Required
              unless O(components[].container.present=false).
            type: str
          present:
            description: Whether the container is wanted. V(false) for a component that is turned off, whose
              container the action plugin removes when RV(components[].container_exists) says it is there.
            type: bool
            default: true
          labels:
            description: Labels it must carry, with these values.
            type: dict
            default: {}
          network:
            description: The network it must be on.
            type: str
"""

EXAMPLES = r"""
- name: Prometheus's and Loki's configurations, volumes and container states (what the action plugins send)
  data2ai.grafana_stack.stack_component:
    components:
      - path: /opt/grafana-stack/prometheus
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
      - path: /opt/grafana-stack/loki
        files:
          - {dest: config.yaml, content: "{{ lookup('ansible.builtin.template', 'config.yaml.j2') }}"}
        volumes: [loki_data]
        container: {name: loki, image: grafana/loki:3.7.0, network: monitoring}
"""

RETURN = r"""
secret_files:
  description: One result for each of O(secret_files), in their order, as M(data2ai.grafana_stack.stack_secret_files)
    returns it (names, never contents), with C(failed), and C(msg) when it failed.
  returned: always
  type: list
  elements: dict
components:
  description: One result for each of O(components), in their order.
  returned: always
  type: list
  elements: dict
  contains:
    changed:
      description: Whether anything of this component changed (in check mode, would change).
      type: bool
    failed:
      description: Whether this component failed; RV(components[].msg) says why.
      type: bool
    msg:
      description: Why the component failed.
      type: str
      returned: when RV(components[].failed) is true
    directories_changed:
      description: The directories (O(components[].path) as C(.), the others relative to it) created or given
        another mode.
      type: list
      elements: str
    files_changed:
      description: The files (relative to O(components[].path)) written or given another mode, in order.
      type: list
      elements: str
    files_removed:
      description: The entries removed from exclusive directories, and the files of O(components[].absent) removed
        (relative to O(components[].path)).
      type: list
      elements: str
    volumes_changed:
      description: The volumes of O(components[].volumes) created (in check mode, to be created).
      type: list
      elements: str
    volume_owner_changed:
      description: Whether the volume of O(components[].volume_owner) was handed to its owner.
      type: bool
    container_current:
      description: Whether the container of O(components[].container) exists, runs, carries its labels, runs its
        image and is on its network. False when O(components[].container) is not given or not present.
      type: bool
    container_exists:
      description: Whether the container of O(components[].container) exists.
      type: bool
    container_differs:
      description: Why the container is not current, in a few words (C(it does not exist), C(it is not running)
        ...).
      type: str
      returned: when O(components[].container) is given and the container is not current
    container:
      description: The container's inspect document, when it is current.
      type: dict
      returned: when RV(components[].container_current) is true
    diff:
      description: This component's diffs (in diff mode).
      type: list
      elements: dict
      returned: in diff mode, when something changed
"""

import os  # noqa: E402
import shlex  # noqa: E402
import shutil  # noqa: E402
import stat  # noqa: E402
import subprocess  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_bytes, to_text  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils import (  # noqa: E402
    docker_engine,
    file_modes,
    secret_files,
)

COMPONENT_SPEC = {
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
    'volume_owner': {'type': 'dict', 'options': {
        'volume': {'type': 'str', 'required': True},
        'owner': {'type': 'str', 'required': True},
        'image': {'type': 'str', 'required': True},
        'helper': {'type': 'str', 'required': True},
    }},
    'container': {'type': 'dict', 'options': {
        'name': {'type': 'str', 'required': True},
        'image': {'type': 'str'},
        'present': {'type': 'bool', 'default': True},
        'labels': {'type': 'dict', 'default': {}},
        'network': {'type': 'str'},
    }, 'required_if': [('present', True, ('image',))]},
}

ARGUMENT_SPEC = {
    # no_log on its contents (files), not on the directories' names and modes
    'secret_files': {'type': 'list', 'elements': 'dict', 'default': [], 'no_log': False,
                     'options': secret_files.ARGUMENT_SPEC},
    'components': {'type': 'list', 'elements': 'dict', 'default': [], 'options': COMPONENT_SPEC},
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

# How many components are handled at once: their checks start containers (promtool, amtool), which a 2-core host
# runs about four at a time before they only queue.
WORKERS = 4


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
    """One component: files, volumes, container state. Returns its result and its diffs."""
    if (params['directories'] or params['files'] or params['absent']) and not params['path']:
        raise FilesError('directories, files and absent need path')
    result, diffs = {'changed': False, 'directories_changed': [], 'files_changed': [], 'files_removed': []}, []
    if params['path']:
        result, diffs = Files(params, check, run_command).run()
    result['volumes_changed'], volume_diffs = ensure_volumes(params['volumes'], params['volume_labels'], check, engine)
    diffs.extend(volume_diffs)
    result['changed'] = result['changed'] or bool(result['volumes_changed'])
    result.update(container_current=False, container_exists=False, volume_owner_changed=False)
    want, document = params['container'], None
    if want and not want['present']:
        result['container_exists'] = engine.inspect_container(want['name'], timeout=ENGINE_TIMEOUT) is not None
    elif want:
        differs, document = container_differs(want, engine)
        result['container_exists'] = document is not None
        if differs:
            result['container_differs'] = differs
        else:
            result.update(container_current=True, container=document)
    owner = params.get('volume_owner')
    state = (document or {}).get('State') or {}
    if owner and not check and (owner['volume'] in result['volumes_changed'] or not state.get('Running')
                                or state.get('Restarting')):
        result['volume_owner_changed'] = hand_volume(owner, params['volume_labels'], engine)
        result['changed'] = result['changed'] or result['volume_owner_changed']
    return result, diffs


# The one-shot helper's script: it says whether it had to change the owner.
OWNER_SCRIPT = ('if [ "$(stat -c %u:%g /data)" = "$OWNER" ]; then echo owner-ok; '
                'else chown -R "$OWNER" /data && echo owner-changed; fi')


def hand_volume(owner, labels, engine=docker_engine):
    """Hands ``owner['volume']`` to ``owner['owner']`` through a one-shot root container; whether it changed."""
    code, output = engine.run_once(
        owner['helper'], owner['image'], ['/bin/sh', '-c', OWNER_SCRIPT], timeout=ENGINE_TIMEOUT * 5,
        User='0', Env=[f"OWNER={owner['owner']}"], Labels={str(key): str(value) for key, value in labels.items()},
        NetworkDisabled=True, HostConfig={'NetworkMode': 'none', 'Mounts': [
            {'Type': 'volume', 'Source': owner['volume'], 'Target': '/data'}]})
    if code != 0 or not ('owner-ok' in output or 'owner-changed' in output):
        raise FilesError(f"handing volume {owner['volume']} to {owner['owner']} with {owner['image']} failed "
                         f"(exit {code}): {' '.join(output.split())[-400:]}")
    return 'owner-changed' in output


def label(params):
    """How a failure names the component: its configuration directory, else its container."""
    return params['path'] or (params['container'] or {}).get('name') or 'volumes'


def run_one(params, check, run_command, engine=docker_engine):
    """One component's result, with its diffs under ``diff``; a failure is a result with ``failed`` and ``msg``."""
    try:
        result, diffs = run(params, check, run_command, engine)
    except (FilesError, docker_engine.DockerEngineError) as error:
        return {'changed': False, 'failed': True, 'msg': f'stack_component {label(params)}: {error}'}
    except OSError as error:
        return {'changed': False, 'failed': True,
                'msg': f'stack_component {label(params)}: {error.strerror}: {error.filename}'}
    result['failed'] = False
    if diffs:
        result['diff'] = diffs
    return result


def run_components(components, check, run_command, engine=docker_engine, workers=WORKERS):
    """Every component, ``workers`` at a time; the results in the order of ``components``."""
    if len(components) < 2:
        return [run_one(params, check, run_command, engine) for params in components]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda params: run_one(params, check, run_command, engine), components))


def command_runner(command):
    """Runs a check command without a shell (as AnsibleModule.run_command does), safely from several threads."""
    done = subprocess.run(shlex.split(command), capture_output=True, text=True, errors='replace', check=False)
    return done.returncode, done.stdout, done.stderr


def run_secret_files(directories, check):
    """Each secret directory of ``directories`` (stack_secret_files' options), one after the other; a failure is a
    result with ``failed`` and a ``msg`` that names the directory and never a content."""
    results = []
    for params in directories:
        try:
            result = secret_files.apply(params, check)
        except secret_files.SecretFilesError as error:
            result = {'changed': False, 'msg': str(error), 'failed': True}
        result.setdefault('failed', False)
        if result.get('diff'):
            result['diff'] = [result['diff']]
        results.append(result)
    return results


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    # The secret files first: the containers read them.
    secrets = run_secret_files(module.params['secret_files'], module.check_mode)
    results = run_components(module.params['components'], module.check_mode, command_runner)
    if not module._diff:
        for result in secrets + results:
            result.pop('diff', None)
    changed = any(result['changed'] for result in secrets + results)
    failed = [result['msg'] for result in secrets + results if result['failed']]
    if failed:
        module.fail_json(msg='; '.join(failed), changed=changed, secret_files=secrets, components=results)
    module.exit_json(changed=changed, secret_files=secrets, components=results)


if __name__ == '__main__':
    main()
