#!/usr/bin/python
# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: stack_host
short_description: The Docker host of the stack in one run - engine, images, base directory and network
description:
  - The docker_host role's one step on a host that has an engine. What took a task each before (ask the engine for
    its version, find the images, create the base directory, read and create the network) is one module run.
  - Asks the Docker engine for its version on its Unix socket. An engine that listens there but is slow to answer
    (busy) is waited for, as for any other request. When nothing listens and C(dockerd) is installed, starts it
    (C(systemctl start docker) where O(service_manager) is C(systemd), else a background C(dockerd) with
    O(dockerd_args) that logs to O(dockerd_log)) and waits up to O(start_timeout) seconds for it. When C(dockerd) is
    not installed, it stops there with RV(engine=not installed); the role installs the engine and runs it again.
  - Finds which of O(required_images) the engine lacks. An image named in O(bundled_images) counts as available
    (the role loads it from the offline bundle next). With O(pull_missing), runs C(docker pull) for each other
    missing image; the C(docker) CLI uses the host's registry credentials. Those that are still missing are
    RV(images_unavailable), and then nothing else is changed, so the role can stop the play before the stack is
    touched.
  - Creates O(base_dir) (mode 0755, owned by root) and the bridge network O(network) with O(subnet), its first host
    address as the gateway (the one C(data2ai.grafana_stack.stack_gateway) names, which Docker would pick too) and
    O(labels). An existing network that differs (another driver, subnet or gateway, or a label missing) is left as
    it is and named in RV(network_differs); the role then hands it to M(community.docker.docker_network), which
    recreates it.
  - Check mode starts, pulls and creates nothing; it reports what a run would do. RV(network_pending) tells that the
    network does not exist yet, so the component roles leave their containers alone. Diff mode shows the base
    directory's and the network's state before and after.
version_added: 1.0.0
author:
  - data2ai training team (@data2ai)
options:
  network:
    description: Name of the stack's bridge network.
    type: str
    required: true
  subnet:
    description: The network's IPv4 subnet in CIDR form, for example V(172.20.0.0/16).
    type: str
    required: true
  labels:
    description: Labels the network is created with.
    type: dict
    default: {}
  base_dir:
    description: The stack's base directory.
    type: path
    required: true
  required_images:
    description: Images the stack needs, as the engine names them (C(name:tag)).
    type: list
    elements: str
    default: []
  bundled_images:
    description: Images of the offline image bundle, which the role loads after this run; they count as available.
    type: list
    elements: str
    default: []
  pull_missing:
    description: Try C(docker pull) for a required image the engine lacks.
    type: bool
    default: true
  service_manager:
    description: The host's service manager (C(ansible_facts.service_mgr)); C(systemd) starts the engine's unit.
    type: str
    default: ''
  dockerd_args:
    description: Extra arguments of a C(dockerd) started without systemd.
    type: list
    elements: str
    default: []
  dockerd_log:
    description: Log file of a C(dockerd) started without systemd.
    type: path
    default: /var/log/dockerd.log
  start_timeout:
    description: Seconds to wait for the engine to answer after starting it.
    type: int
    default: 60
"""

EXAMPLES = r"""
- name: Engine, images, base directory and network
  data2ai.grafana_stack.stack_host:
    network: monitoring
    subnet: 172.20.0.0/16
    base_dir: /opt/grafana-stack
    required_images: [grafana/grafana:13.0.1, prom/prometheus:v3.8.0]
    service_manager: "{{ ansible_facts.service_mgr }}"
  register: docker_host_state
"""

RETURN = r"""
engine:
  description: >-
    C(running) (it answered), C(started) (this run started it), C(stopped) (check mode: it would be started) or
    C(not installed) (no C(dockerd); nothing else was done).
  returned: always
  type: str
engine_version:
  description: The engine's version, when it answers.
  returned: always
  type: str
images_missing:
  description: The required images the engine lacked at the start of the run.
  returned: always
  type: list
  elements: str
images_pulled:
  description: The images this run pulled.
  returned: always
  type: list
  elements: str
images_unavailable:
  description: Required images that are neither on the host, nor bundled, nor pulled. Then nothing was changed.
  returned: always
  type: list
  elements: str
network_pending:
  description: True only in check mode, when the network does not exist yet (or the engine is not running).
  returned: always
  type: bool
network_differs:
  description: Why the existing network is not the one wanted, in a few words. The module leaves it as it is.
  returned: when the network exists and differs
  type: str
settled:
  description: The engine answers, every image is available, and the base directory and network are in place.
  returned: always
  type: bool
"""

import os  # noqa: E402
import shlex  # noqa: E402
import stat  # noqa: E402
import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils import docker_engine, file_modes, stack_network  # noqa: E402

ARGUMENT_SPEC = {
    'network': {'type': 'str', 'required': True},
    'subnet': {'type': 'str', 'required': True},
    'labels': {'type': 'dict', 'default': {}},
    'base_dir': {'type': 'path', 'required': True},
    'required_images': {'type': 'list', 'elements': 'str', 'default': []},
    'bundled_images': {'type': 'list', 'elements': 'str', 'default': []},
    'pull_missing': {'type': 'bool', 'default': True},
    'service_manager': {'type': 'str', 'default': ''},
    'dockerd_args': {'type': 'list', 'elements': 'str', 'default': []},
    'dockerd_log': {'type': 'path', 'default': '/var/log/dockerd.log'},
    'start_timeout': {'type': 'int', 'default': 60},
}

# How long one request to the Docker engine may take once it answers (as stack_component: a busy engine is slow).
ENGINE_TIMEOUT = 60.0
# How long the first question may take: an engine that does not answer this soon is taken as not running.
PROBE_TIMEOUT = 5.0
BASE_DIR_MODE = 0o755


class HostError(Exception):
    """A problem with the arguments or the host, told in one line."""


class Host:
    """One run over the host. ``system`` runs commands and finds programs (the module's, or a test's)."""

    def __init__(self, params, check, system, engine=docker_engine, clock=(time.monotonic, time.sleep)):
        self.params = params
        self.check = check
        self.system = system
        self.engine = engine
        self.now, self.sleep = clock
        self.result = {'changed': False, 'engine': 'running', 'engine_version': '', 'images_missing': [],
                       'images_pulled': [], 'images_unavailable': [], 'network_pending': False, 'settled': False}
        self.diffs = []
        try:
            self.subnet = stack_network.subnet(params['subnet'])
        except ValueError as error:
            raise HostError(f'docker_host_subnet (stack_subnet) must be an IPv4 CIDR: {error}') from None
        self.gateway = stack_network.gateway(self.subnet)

    def run(self):
        if not self.ensure_engine():
            return self.result, self.diffs
        if not self.ensure_images():
            return self.result, self.diffs
        self.ensure_base_dir()
        self.ensure_network()
        self.result['settled'] = not self.check or not self.result['network_pending']
        return self.result, self.diffs

    def changed(self, before_header, before, after):
        self.result['changed'] = True
        self.diffs.append({'before_header': before_header, 'after_header': before_header,
                           'before': before, 'after': after})

    # -- the engine -------------------------------------------------------------------------------------------------

    def version(self, timeout):
        try:
            return self.engine.engine_version(timeout=timeout)
        except docker_engine.DockerEngineError:
            return None

    def ensure_engine(self):
        version = self.version(PROBE_TIMEOUT)
        if version is None and self.engine.socket_listens():
            # A dockerd listens but is slow to answer (busy): wait for it as for any request. Starting another one
            # would fail on its pid file and report a start that did not happen.
            try:
                version = self.engine.engine_version(timeout=ENGINE_TIMEOUT)
            except docker_engine.DockerEngineError as error:
                raise HostError(f'the Docker engine listens on its socket but does not answer: {error}') from None
        if version is not None:
            self.result['engine_version'] = version
            return True
        dockerd = self.system.find('dockerd')
        if dockerd is None:
            self.result.update(engine='not installed', network_pending=self.check)
            return False
        self.changed('Docker engine', 'not running\n', 'running\n')
        if self.check:
            self.result.update(engine='stopped', network_pending=True)
            return False
        self.start(dockerd)
        deadline = self.now() + self.params['start_timeout']
        while True:
            version = self.version(PROBE_TIMEOUT)
            if version is not None:
                self.result.update(engine='started', engine_version=version)
                return True
            if self.now() >= deadline:
                where = ('journalctl -u docker' if self.systemd else self.params['dockerd_log'])
                raise HostError(f"the Docker engine did not answer within {self.params['start_timeout']} s of "
                                f'starting it (see {where})')
            self.sleep(1)

    @property
    def systemd(self):
        return self.params['service_manager'] == 'systemd'

    def start(self, dockerd):
        if self.systemd:
            command = 'systemctl start docker'
        else:
            args = ' '.join(shlex.quote(arg) for arg in [dockerd] + self.params['dockerd_args'])
            command = f"setsid -f {args} >> {shlex.quote(self.params['dockerd_log'])} 2>&1 < /dev/null"
        rc, _out, err = self.system.run(command)
        if rc != 0:
            raise HostError(f'starting the Docker engine failed ({command}): {err.strip() or rc}')

    # -- the images -------------------------------------------------------------------------------------------------

    def ensure_images(self):
        missing = [name for name in dict.fromkeys(self.params['required_images'])
                   if self.engine.inspect_image(name, timeout=ENGINE_TIMEOUT) is None]
        self.result['images_missing'] = missing
        to_pull = [name for name in missing if name not in self.params['bundled_images']]
        if not to_pull:
            return True
        if not self.params['pull_missing']:
            self.result['images_unavailable'] = to_pull
        elif self.check:
            self.changed('images', ''.join(f'{name}: absent\n' for name in to_pull),
                         ''.join(f'{name}: pulled\n' for name in to_pull))
        else:
            for name in to_pull:
                if self.system.run(f'docker pull --quiet {shlex.quote(name)}')[0] == 0:
                    self.result['images_pulled'].append(name)
                else:
                    self.result['images_unavailable'].append(name)
            self.result['changed'] = self.result['changed'] or bool(self.result['images_pulled'])
        return not self.result['images_unavailable']

    # -- the base directory and the network ------------------------------------------------------------------------

    def ensure_base_dir(self):
        path = self.params['base_dir']
        st = file_modes.lstat_or_none(path)
        if st is not None and not stat.S_ISDIR(st.st_mode):
            raise HostError(f'{path} exists and is not a directory')
        if st is not None and not file_modes.attributes_differ(st, BASE_DIR_MODE, 0, 0):
            return
        before = (f'directory mode={stat.S_IMODE(st.st_mode):04o} owner={st.st_uid}:{st.st_gid}\n'
                  if st else 'absent\n')
        self.changed(path, before, f'directory mode={BASE_DIR_MODE:04o} owner=0:0\n')
        if self.check:
            return
        if st is None:
            os.makedirs(path, BASE_DIR_MODE)
        os.chown(path, 0, 0)
        os.chmod(path, BASE_DIR_MODE)

    def wanted_labels(self):
        return {str(key): str(value) for key, value in self.params['labels'].items()}

    def ensure_network(self):
        name, gateway = self.params['network'], self.gateway
        document = self.engine.inspect_network(name, timeout=ENGINE_TIMEOUT)
        after = f'bridge subnet={self.subnet} gateway={gateway}\n'
        if document is None:
            self.changed(f'network {name}', 'absent\n', after)
            if self.check:
                self.result['network_pending'] = True
            else:
                self.engine.create_network(name, str(self.subnet), gateway, self.wanted_labels(),
                                           timeout=ENGINE_TIMEOUT)
            return
        differs = network_differs(document, str(self.subnet), gateway, self.wanted_labels())
        if differs:
            self.result['network_differs'] = differs


def network_differs(document, subnet, gateway, labels):
    """Why an existing network is not the wanted bridge network, or None."""
    if document.get('Driver') != 'bridge':
        return f"its driver is {document.get('Driver')}, not bridge"
    configs = (document.get('IPAM') or {}).get('Config') or []
    if not any(entry.get('Subnet') == subnet and entry.get('Gateway') in (gateway, None, '') for entry in configs):
        found = ', '.join(f"{entry.get('Subnet')} (gateway {entry.get('Gateway')})" for entry in configs) or 'none'
        return f'its subnet is {found}, not {subnet} (gateway {gateway})'
    have = document.get('Labels') or {}
    wrong = sorted(key for key, value in labels.items() if have.get(key) != value)
    if wrong:
        return f"its label{'s' if len(wrong) > 1 else ''} {', '.join(wrong)} differ{'' if len(wrong) > 1 else 's'}"
    return None


class System:
    """The module's way to run a command and to find a program."""

    def __init__(self, module):
        self.module = module

    def run(self, command):
        return self.module.run_command(command, use_unsafe_shell=True)

    def find(self, program):
        return self.module.get_bin_path(program)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result, diffs = Host(module.params, module.check_mode, System(module)).run()
    except (HostError, docker_engine.DockerEngineError) as error:
        module.fail_json(msg=f'stack_host: {error}')
    except OSError as error:
        module.fail_json(msg=f'stack_host: {error.strerror}: {error.filename}')
    if module._diff and diffs:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
