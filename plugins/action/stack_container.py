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

from ansible import constants as C

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
    # a volume the component's user must own, handed to it by a one-shot root container (Tempo's)
    'volume_owner': {'type': 'dict', 'options': {
        'volume': {'type': 'str', 'required': True},
        'owner': {'type': 'str', 'required': True},
        'image': {'type': 'str', 'required': True},
        'helper': {'type': 'str', 'required': True},
    }},
    'container': {'type': 'dict', 'default': {}},
    'enabled': {'type': 'bool', 'default': True},
}

# What the plugin sets on the container itself; the role's container options may not set them.
OWN_CONTAINER_OPTIONS = ('name', 'image', 'labels', 'networks', 'networks_cli_compatible')

# The label holding the hash of the options a container was made from.
SPEC_LABEL = 'data2ai.grafana_stack.container_spec'

# The variable that makes stack_container only prepare its component, for stack_containers (site.yml sets it for
# the data and collection layers).
DEFER_VARIABLE = 'stack_containers_deferred'


def spec_hash(container_args):
    """A short stable hash of docker_container's options (key order does not matter, list order does)."""
    text = json.dumps(container_args, sort_keys=True, separators=(',', ':'), default=str)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:32]


def plan_dir(task_vars):
    """Where the deferred components of this host wait for stack_containers: a directory in this ansible-playbook
    run's own private temporary directory (mode 0700, removed when the run ends), one per inventory host."""
    host = str(task_vars.get('inventory_hostname', 'localhost'))
    return os.path.join(C.DEFAULT_LOCAL_TMP, 'stack_containers', hashlib.sha256(host.encode('utf-8')).hexdigest()[:16])


def deferring(task_vars, check_mode):
    """Whether this host's stack_container tasks only prepare their component, for stack_containers to apply with the
    others in one run. Check mode never defers: the steps after the containers read what each one would do."""
    return boolean(task_vars.get(DEFER_VARIABLE, False), strict=False) and not check_mode


def save_plan(task_vars, plan):
    """Keeps a prepared component for stack_containers; a second plan for the same container replaces the first."""
    directory = plan_dir(task_vars)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    key = hashlib.sha256(plan['name'].encode('utf-8')).hexdigest()[:16]
    existing = [entry for entry in sorted(os.listdir(directory)) if entry.endswith(f'-{key}.json')]
    name = existing[0] if existing else f'{len(os.listdir(directory)):04d}-{key}.json'
    descriptor = os.open(os.path.join(directory, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, 'w', encoding='utf-8') as handle:
        json.dump(plan, handle)


def take_plans(task_vars):
    """The components prepared for this host, in the order their tasks ran; they are removed as they are taken."""
    directory = plan_dir(task_vars)
    if not os.path.isdir(directory):
        return []
    plans = []
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        with open(path, encoding='utf-8') as handle:
            plans.append(json.load(handle))
        os.unlink(path)
    return plans


def empty_result():
    return {'changed': False, 'templates_changed': [], 'files_changed': [], 'files_removed': [],
            'volumes_changed': [], 'volume_owner_changed': False, 'container_changed': False,
            'container_skipped': False}


def empty_secrets_result():
    return {'changed': False, 'directory_changed': False, 'files_changed': [], 'files_removed': []}


class OneRun(ActionBase):
    """An action plugin whose ``_run`` may run several modules: any remote temporary directory they left is removed
    when it ends."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        try:
            return self._run(tmp, task_vars or {})
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _run(self, tmp, task_vars):
        raise NotImplementedError


class StackComponents(OneRun):
    """Applies prepared components (see ``_prepare``): one stack_component run on the host for all of them, then
    community.docker.docker_container for each container that is not current."""

    def _apply(self, plans, task_vars):
        """The result of each plan, in order, and the failures (one line each). A plan is a prepared container (of
        stack_container) or a prepared secret directory (of stack_secret_files, ``kind: secrets``)."""
        results = [empty_result() if plan.get('kind') != 'secrets' else empty_secrets_result() for plan in plans]
        failures = []
        if not plans:
            return results, failures
        secrets = [index for index, plan in enumerate(plans) if plan.get('kind') == 'secrets']
        containers = [index for index, plan in enumerate(plans) if plan.get('kind') != 'secrets']
        module_args = {'components': [plans[index]['component'] for index in containers]}
        if secrets:
            module_args['secret_files'] = [plans[index]['params'] for index in secrets]
        host = self._execute_module(module_name='data2ai.grafana_stack.stack_component', task_vars=task_vars,
                                    module_args=module_args)
        answers, secret_answers = host.get('components'), host.get('secret_files') or []
        if not isinstance(answers, list) or len(answers) != len(containers) or len(secret_answers) != len(secrets):
            detail = ': '.join(str(host[key]).strip() for key in ('msg', 'stderr') if host.get(key))
            names = ', '.join(plan['name'] for plan in plans)
            raise AnsibleActionFail(f'stack_container {names}: host side: {detail}', result=host)
        for index, answer in zip(secrets, secret_answers):
            results[index].update({key: answer[key] for key in empty_secrets_result() if key in answer})
            if answer.get('diff'):
                results[index]['diff'] = list(answer['diff'])
            if answer.get('failed'):
                results[index].update(failed=True, msg=answer.get('msg', ''))
                failures.append(answer.get('msg', ''))
        for index, answer in zip(containers, answers):
            try:
                self._fold(plans[index], answer, results[index], task_vars)
            except AnsibleActionFail as failure:
                results[index].update(failed=True, msg=str(failure.message))
                failures.append(str(failure.message))
        return results, failures

    def _fold(self, plan, answer, result, task_vars):
        """One plan's result from what the host side said of it, running docker_container when needed."""
        name = plan['name']
        diffs = list(answer.get('diff') or [])

        def container_step(step, module_args):
            done = self._execute_module(module_name='community.docker.docker_container', module_args=module_args,
                                        task_vars=task_vars)
            if done.get('failed'):
                detail = ': '.join(str(done[key]).strip() for key in ('msg', 'stderr') if done.get(key))
                raise AnsibleActionFail(f'stack_container {name}: {step}: {detail}', result=done)
            if done.get('diff'):
                diffs.extend(done['diff'] if isinstance(done['diff'], list) else [done['diff']])
            result['container_changed'] = bool(done.get('changed'))
            return done

        if answer.get('failed'):
            raise AnsibleActionFail(f"stack_container {name}: host side: {answer.get('msg', '')}".rstrip())
        config_dir = plan['config_dir']
        changed = answer.get('files_changed') or []
        result['files_changed'] = [os.path.join(config_dir, dest) for dest in changed]
        result['files_removed'] = [os.path.join(config_dir, entry) for entry in answer.get('files_removed') or []]
        result['templates_changed'] = [os.path.join(config_dir, dest) for dest in plan['templates']
                                       if os.path.normpath(dest) in changed]
        result['volumes_changed'] = list(answer.get('volumes_changed') or [])
        result['volume_owner_changed'] = bool(answer.get('volume_owner_changed'))
        if not plan['enabled']:
            # A component turned off: its container goes, its volumes and configuration stay (turned on again, it
            # resumes where it stopped).
            if answer.get('container_exists'):
                container_step('removing the container', {'name': name, 'state': 'absent'})
        elif plan['network_pending']:
            result['container_skipped'] = True
        elif answer.get('container_current'):
            result['container'] = answer.get('container')
        else:
            result['container'] = container_step('container', plan['container_args']).get('container')
        result['changed'] = bool(answer.get('changed')) or result['container_changed']
        if diffs:
            result['diff'] = diffs


class ActionModule(StackComponents):

    def _run(self, tmp, task_vars):
        result = ActionBase.run(self, tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        del validation
        plan = self._prepare(args, task_vars)
        if deferring(task_vars, self._task.check_mode):
            save_plan(task_vars, plan)
            result.update(empty_result(), deferred=True, container_skipped=plan['network_pending'],
                          msg='prepared; data2ai.grafana_stack.stack_containers applies it')
            return result
        (applied,), failures = self._apply([plan], task_vars)
        if failures:
            raise AnsibleActionFail(failures[0], result=applied)
        result.update(applied)
        return result

    def _prepare(self, args, task_vars):
        """Everything the host side and docker_container need for one component, worked out on the controller:
        the rendered templates and read files, the volumes, and the container's options with their hash."""
        own = sorted(set(args['container']) & set(OWN_CONTAINER_OPTIONS))
        if own:
            raise AnsibleActionFail(f"stack_container: set {', '.join(own)} as options of the task, not in container")
        if (args['templates'] or args['files'] or args['directories'] or args['absent']) and not args['config_dir']:
            raise AnsibleActionFail('stack_container: templates, files, directories and absent need config_dir')
        plan = {'name': args['name'], 'enabled': args['enabled'], 'config_dir': args['config_dir'] or '',
                'templates': [entry['dest'] for entry in args['templates']],
                # In check mode before docker_host made the network, docker_container would fail on the missing
                # network: nothing runs yet, so there is no container to compare.
                'network_pending': boolean(task_vars.get('docker_host_network_pending', False), strict=False),
                'notify': list(self._task.notify or [])}
        if not args['enabled']:
            # Nothing else of a component that is off is looked at, so none of its templates is rendered.
            plan.update(templates=[], component={'container': {'name': args['name'], 'present': False}})
            return plan

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
        plan['container_args'] = container_args

        component = {'volumes': args['volumes'], 'volume_labels': args['labels']}
        if args['volume_owner']:
            if args['volume_owner']['volume'] not in args['volumes']:
                raise AnsibleActionFail(f"stack_container {args['name']}: volume_owner.volume must be one of volumes")
            component['volume_owner'] = args['volume_owner']
        if not plan['network_pending'] and container_args['state'] == 'started':
            component['container'] = {'name': args['name'], 'image': args['image'], 'network': args['network'],
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
            component.update(path=args['config_dir'], mode=str(args['config_dir_mode']), files=wanted,
                             absent=args['absent'],
                             directories=[dict(entry, mode=str(entry['mode'])) for entry in args['directories']])
        plan['component'] = component
        return plan

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
