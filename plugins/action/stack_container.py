# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of stack_container: one component's container anatomy in one task.

Every component role of the stack needs the same steps around its own data: its configuration directory, its
templates and files (each checked by the role's ``validate`` command before it replaces the live file), its volumes,
and its container on the stack network. This plugin renders the templates and reads the files on the controller, as
``ansible.builtin.template`` and ``ansible.builtin.copy`` would, and hands them, the volumes and what the
container must be to one run of the module ``stack_component`` on the host. Only when the container is not current
(missing, stopped, made from other options or from another image) does it run ``community.docker.docker_container``.
Documented in plugins/modules/stack_container.py.
"""

from __future__ import annotations

import hashlib
import json
import os

# The variables ansible.builtin.template adds (template_path, ansible_managed ...): the same function as its action
# plugin calls (ansible-core 2.19 and later; meta/runtime.yml requires it).
from ansible._internal._templating._template_vars import generate_ansible_template_vars
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template

FILE_LIST = {
    'type': 'list',
    'elements': 'dict',
    'default': [],
    'options': {
        'src': {'type': 'str', 'required': True},
        'dest': {'type': 'str', 'required': True},
        'mode': {'type': 'raw', 'default': '0644'},
        'validate': {'type': 'str'},
    },
}

ARGUMENT_SPEC = {
    'name': {'type': 'str', 'required': True},
    'image': {'type': 'str', 'required': True},
    'labels': {'type': 'dict', 'default': {}},
    'network': {'type': 'str'},
    'aliases': {'type': 'list', 'elements': 'str', 'default': []},
    'config_dir': {'type': 'path'},
    'config_dir_mode': {'type': 'raw', 'default': '0755'},
    # templates are rendered, files copied as they are; both land in config_dir with the same options
    'templates': FILE_LIST,
    'files': FILE_LIST,
    # files that must not be in config_dir (a setting no longer set, an earlier version's file)
    'absent': {'type': 'list', 'elements': 'str', 'default': []},
    'directories': {
        'type': 'list',
        'elements': 'dict',
        'default': [],
        'options': {
            'name': {'type': 'str', 'required': True},
            'mode': {'type': 'raw', 'default': '0755'},
            'exclusive': {'type': 'bool', 'default': False},
        },
    },
    'volumes': {'type': 'list', 'elements': 'str', 'default': []},
    'container': {'type': 'dict', 'default': {}},
    'enabled': {'type': 'bool', 'default': True},
}

# What the plugin sets on the container itself; the role's container options may not set them.
OWN_CONTAINER_OPTIONS = ('name', 'image', 'labels', 'networks', 'networks_cli_compatible')

# The label holding the hash of the options a container was made from.
SPEC_LABEL = 'data2ai.grafana_stack.container_spec'


def spec_hash(container_args):
    """A short stable hash of docker_container's options (key order does not matter, list order does)."""
    text = json.dumps(container_args, sort_keys=True, separators=(',', ':'), default=str)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:32]


class ActionModule(ActionBase):

    # The template steps make and remove their own remote temporary directory; run() removes any that is left.
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        try:
            return self._run(tmp, task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _run(self, tmp, task_vars):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        del validation
        own = sorted(set(args['container']) & set(OWN_CONTAINER_OPTIONS))
        if own:
            raise AnsibleActionFail(f"stack_container: set {', '.join(own)} as options of the task, not in container")
        if (args['templates'] or args['files'] or args['directories'] or args['absent']) and not args['config_dir']:
            raise AnsibleActionFail('stack_container: templates, files, directories and absent need config_dir')

        diffs = []
        result.update(changed=False, templates_changed=[], files_changed=[], files_removed=[], volumes_changed=[],
                      container_changed=False, container_skipped=False)

        if not args['enabled']:
            # A component turned off: its container goes, its volumes and configuration stay (turned on again, it
            # resumes where it stopped). Nothing else runs, so no template of a component that is off is rendered.
            removed = self._execute_module(
                module_name='community.docker.docker_container', task_vars=task_vars,
                module_args={'name': args['name'], 'state': 'absent'})
            if removed.get('failed'):
                raise AnsibleActionFail(f"stack_container {args['name']}: removing the container: "
                                        f"{removed.get('msg', '')}".rstrip(), result=removed)
            result.update(changed=bool(removed.get('changed')), container_changed=bool(removed.get('changed')))
            if removed.get('diff'):
                result['diff'] = [removed['diff']]
            return result

        def step(name, step_result):
            """Folds one step's result into the task's result, and stops the task when the step failed."""
            if step_result.get('failed'):
                detail = ': '.join(str(step_result[key]).strip() for key in ('msg', 'stderr') if step_result.get(key))
                raise AnsibleActionFail(f"stack_container {args['name']}: {name}: {detail}", result=step_result)
            if step_result.get('diff'):
                diffs.extend(step_result['diff'] if isinstance(step_result['diff'], list) else [step_result['diff']])
            if step_result.get('changed'):
                result['changed'] = True
            return step_result

        # In check mode before docker_host made the network, docker_container would fail on the missing network:
        # nothing runs yet, so there is no container to compare.
        network_pending = boolean(task_vars.get('docker_host_network_pending', False), strict=False)
        container_args = dict(args['container'])
        container_args.setdefault('state', 'started')
        container_args.update(name=args['name'], image=args['image'], labels=dict(args['labels']))
        if args['network']:
            container_args.update(networks=[{'name': args['network'], 'aliases': args['aliases']}],
                                  networks_cli_compatible=True)
        # The container carries a hash of every option it was made from, as compose does: a container that runs,
        # carries the hash of today's options and runs the image its name resolves to now needs no
        # docker_container run at all.
        spec = spec_hash(container_args)
        container_args['labels'][SPEC_LABEL] = spec

        component_args = {'volumes': args['volumes'], 'volume_labels': args['labels']}
        if not network_pending and container_args['state'] == 'started':
            component_args['container'] = {'name': args['name'], 'image': args['image'], 'network': args['network'],
                                           'labels': {SPEC_LABEL: spec}}
        if args['config_dir']:
            # Files first, then templates: a template's check may read the files (prometheus.yml's, its rules).
            wanted = [dict(self._read_file(entry['src']), dest=entry['dest'], mode=entry['mode'],
                           validate=entry['validate']) for entry in args['files']]
            wanted += [dict(content=self._render(entry['src'], os.path.join(args['config_dir'], entry['dest']),
                                                 task_vars),
                            dest=entry['dest'], mode=entry['mode'], validate=entry['validate'])
                       for entry in args['templates']]
            for entry in wanted:
                entry['mode'] = str(entry['mode'])
                if not entry['validate']:
                    del entry['validate']
            component_args.update(path=args['config_dir'], mode=str(args['config_dir_mode']), files=wanted,
                                  absent=args['absent'],
                                  directories=[dict(entry, mode=str(entry['mode'])) for entry in args['directories']])
        host = step('host side', self._execute_module(
            module_name='data2ai.grafana_stack.stack_component', task_vars=task_vars, module_args=component_args))
        changed = host.get('files_changed') or []
        result['files_changed'] = [os.path.join(args['config_dir'], dest) for dest in changed]
        result['files_removed'] = [os.path.join(args['config_dir'], name) for name in host.get('files_removed') or []]
        result['templates_changed'] = [os.path.join(args['config_dir'], entry['dest'])
                                       for entry in args['templates']
                                       if os.path.normpath(entry['dest']) in changed]
        result['volumes_changed'] = list(host.get('volumes_changed') or [])

        if network_pending:
            result['container_skipped'] = True
        elif host.get('container_current'):
            result['container'] = host.get('container')
        else:
            container = step('container', self._execute_module(
                module_name='community.docker.docker_container', module_args=container_args, task_vars=task_vars))
            result['container_changed'] = bool(container.get('changed'))
            result['container'] = container.get('container')

        if diffs:
            result['diff'] = diffs
        return result

    def _read_file(self, src):
        """A file of the calling role (its ``files`` directory, or a path on the controller), as text."""
        try:
            path = self._find_needle('files', src)
            return {'content': to_text(self._loader.get_text_file_contents(path))}
        except (AnsibleError, OSError) as exc:
            raise AnsibleActionFail(f"stack_container {self._task.args.get('name')}: file {src}: {exc}") from exc

    def _render(self, src, dest, task_vars):
        """A template of the calling role rendered as ansible.builtin.template renders it: the role's templates
        directory and search path, the task's variables and the template variables (``ansible_managed`` ...)."""
        try:
            source = self._find_needle('templates', src)
            data = trust_as_template(self._loader.get_text_file_contents(source))
        except AnsibleError as exc:
            raise AnsibleActionFail(f"stack_container {self._task.args.get('name')}: template {src}: {exc}") from exc
        searchpath = []
        for path in [*task_vars.get('ansible_search_path', []), self._loader.get_basedir(), os.path.dirname(source)]:
            searchpath.extend([os.path.join(path, 'templates'), path])
        template_vars = dict(task_vars)
        template_vars.update(generate_ansible_template_vars(
            path=src, fullpath=source, dest_path=dest, include_ansible_managed='ansible_managed' not in template_vars))
        templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=template_vars)
        # ansible.builtin.template's defaults: trim_blocks, no lstrip_blocks, newlines as they are.
        rendered = templar.template(data, escape_backslashes=False, overrides={
            'trim_blocks': True, 'lstrip_blocks': False, 'newline_sequence': '\n'})
        return '' if rendered is None else to_text(rendered)
