# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of stack_container: one component's container anatomy in one task.

Every component role of the stack needs the same steps around its own data: its configuration directory, its
templates (each checked by the role's ``validate`` command before it replaces the live file), its volumes, and its
container on the stack network. This plugin runs them in that order, in one task, with the same modules the roles
called one task each before (``ansible.builtin.file``, ``ansible.builtin.template``,
``community.docker.docker_volume``, ``community.docker.docker_container``), so check mode, diff mode and validation
behave as they did. Documented in plugins/modules/stack_container.py.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

ARGUMENT_SPEC = {
    'name': {'type': 'str', 'required': True},
    'image': {'type': 'str', 'required': True},
    'labels': {'type': 'dict', 'default': {}},
    'network': {'type': 'str'},
    'aliases': {'type': 'list', 'elements': 'str', 'default': []},
    'config_dir': {'type': 'path'},
    'config_dir_mode': {'type': 'raw', 'default': '0755'},
    'templates': {
        'type': 'list',
        'elements': 'dict',
        'default': [],
        'options': {
            'src': {'type': 'str', 'required': True},
            'dest': {'type': 'str', 'required': True},
            'mode': {'type': 'raw', 'default': '0644'},
            'validate': {'type': 'str'},
        },
    },
    'volumes': {'type': 'list', 'elements': 'str', 'default': []},
    'container': {'type': 'dict', 'default': {}},
    'enabled': {'type': 'bool', 'default': True},
}

# What the plugin sets on the container itself; the role's container options may not set them.
OWN_CONTAINER_OPTIONS = ('name', 'image', 'labels', 'networks', 'networks_cli_compatible')


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
        if args['templates'] and not args['config_dir']:
            raise AnsibleActionFail('stack_container: templates need config_dir')

        diffs = []
        changed_templates = []
        result.update(changed=False, templates_changed=[], volumes_changed=[], container_changed=False,
                      container_skipped=False)

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

        if args['config_dir']:
            step('configuration directory', self._execute_module(
                module_name='ansible.legacy.file', task_vars=task_vars,
                module_args={'path': args['config_dir'], 'state': 'directory', 'mode': args['config_dir_mode']}))

        for template in args['templates']:
            dest = os.path.join(args['config_dir'], template['dest'])
            template_args = {'src': template['src'], 'dest': dest, 'mode': template['mode']}
            if template['validate']:
                template_args['validate'] = template['validate']
            if step(f"template {template['src']}", self._run_template(template_args, task_vars)).get('changed'):
                changed_templates.append(dest)
        result['templates_changed'] = changed_templates

        for volume in args['volumes']:
            if step(f'volume {volume}', self._execute_module(
                    module_name='community.docker.docker_volume', task_vars=task_vars,
                    module_args={'name': volume, 'labels': args['labels']})).get('changed'):
                result['volumes_changed'].append(volume)

        # In check mode before docker_host made the network, docker_container would fail on the missing network:
        # nothing runs yet, so there is no container to compare.
        if boolean(task_vars.get('docker_host_network_pending', False), strict=False):
            result['container_skipped'] = True
        else:
            container_args = dict(args['container'])
            container_args.setdefault('state', 'started')
            container_args.update(name=args['name'], image=args['image'], labels=args['labels'])
            if args['network']:
                container_args.update(networks=[{'name': args['network'], 'aliases': args['aliases']}],
                                      networks_cli_compatible=True)
            container = step('container', self._execute_module(
                module_name='community.docker.docker_container', module_args=container_args, task_vars=task_vars))
            result['container_changed'] = bool(container.get('changed'))
            result['container'] = container.get('container')

        if diffs:
            result['diff'] = diffs
        return result

    def _run_template(self, template_args, task_vars):
        """ansible.builtin.template as a task of its own would run it: the role's templates directory, the task's
        variables, check mode, diff mode and validate."""
        new_task = self._task.copy()
        new_task.args = template_args
        template_action = self._shared_loader_obj.action_loader.get(
            'ansible.legacy.template', task=new_task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        return template_action.run(task_vars=task_vars)
