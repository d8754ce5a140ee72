"""Shared helpers for the integration tests: run ansible-playbook from the repo, talk to Docker, clean up."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = "/usr/bin/docker"
TEST_LABEL_KEY = "data2ai.grafana_stack.test"
TEST_LABEL = f"{TEST_LABEL_KEY}=1"
# The variables that publish a port of the whole stack on the host, one per published port.
HOST_PORTS = (
    "grafana_host_port", "prometheus_host_port", "loki_host_port", "tempo_host_port", "tempo_otlp_grpc_host_port",
    "tempo_otlp_http_host_port", "influxdb_host_port", "alertmanager_host_port", "cadvisor_host_port",
)
# An environment for ansible-playbook (or a client) that talks to 127.0.0.1 directly, whatever proxy is set.
NO_PROXY = {"http_proxy": "", "https_proxy": "", "HTTP_PROXY": "", "HTTPS_PROXY": "", "all_proxy": "",
            "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost"}
VENV_HINT = "run the tests from the project's venv: bash tests/run.sh venv && .venv/bin/pytest"
IMAGES_HINT = "build the local test images: bash tests/images/build.sh"
# What inventories/local-test-images sets besides the stack's own names and places (its stack_*): the locally built
# images (*_image), cadvisor_privileged, demo_enabled and the like. The tests that converge the stack with those
# images take these from the inventory itself, so they run what a user of it runs.
LOCAL_TEST_VARS = {name: value for name, value in yaml.safe_load(
    (ROOT / "inventories" / "local-test-images" / "group_vars" / "all.yml").read_text(encoding="utf-8")).items()
    if not name.startswith("stack_")}
# Its images alone, each variable to its image.
LOCAL_TEST_IMAGES = {name: image for name, image in LOCAL_TEST_VARS.items() if name.endswith("_image")}


def venv_bin(tool: str) -> str:
    """The command ``tool`` (ansible-playbook, ansible, ansible-galaxy, ...) installed beside the Python that runs
    pytest, which is the project's .venv when tests/run.sh runs it. A missing one fails the calling test with a
    one-line hint: a missing prerequisite is never a skip."""
    candidate = Path(sys.executable).parent / tool
    if not candidate.exists():
        pytest.fail(f"{tool} not found beside {sys.executable}: {VENV_HINT}", pytrace=False)
    return str(candidate)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(names: tuple[str, ...] | list[str]) -> dict[str, int]:
    """A distinct free port on 127.0.0.1 for each name (free_port alone may hand out the same port twice)."""
    ports: dict[str, int] = {}
    while len(ports) < len(names):
        port = free_port()
        if port not in ports.values():
            ports[names[len(ports)]] = port
    return ports


def free_subnet(first_octets: str, thirds: range = range(256)) -> str:
    """A ``<first_octets>.<third>.0/24`` that overlaps no existing Docker network, for a test network."""
    used = []
    for network_id in docker("network", "ls", "-q").stdout.split():
        configs = docker("network", "inspect", "-f", "{{json .IPAM.Config}}", network_id).stdout.strip()
        used += [ipaddress.ip_network(c["Subnet"]) for c in json.loads(configs or "null") or [] if c.get("Subnet")]
    for third in thirds:
        candidate = ipaddress.ip_network(f"{first_octets}.{third}.0/24")
        if not any(candidate.overlaps(net) for net in used if net.version == 4):
            return str(candidate)
    raise AssertionError(f"no free {first_octets}.x.0/24 subnet for a test network")


def require_images(*images: str) -> None:
    """Fails the calling test, in one line, when any of these local images is missing."""
    missing = [image for image in images if docker("image", "inspect", image).returncode != 0]
    if missing:
        pytest.fail(f"local images missing ({', '.join(missing)}): {IMAGES_HINT}", pytrace=False)


def local_stack_vars(workdir: Path, prefix: str, subnet: str) -> dict[str, Any]:
    """The host variables every small-stack test gives localhost: its names, network, directories and test label."""
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "stack_prefix": prefix,
        "stack_network": f"{prefix}net",
        "stack_subnet": subnet,
        "stack_base_dir": str(workdir / "stack"),
        "stack_credentials_dir": str(workdir / "credentials"),
        "stack_labels": {TEST_LABEL_KEY: "1"},
    }


def write_local_inventory(workdir: Path, host_vars: dict[str, Any]) -> Path:
    """``workdir``/inventory.yml with localhost alone, holding ``host_vars``; its path."""
    path = workdir / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": host_vars}}}))
    return path


def deferred_roles() -> set[str]:
    """The roles site.yml imports whole inside its block that sets stack_containers_deferred: their container tasks
    only prepare, and the block's stack_containers task applies them (PostgreSQL's and InfluxDB's container parts are
    there too, but their roles' main.yml goes on to steps that need the server up)."""
    site = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
    deploy = next(task for task in site[0]["tasks"] if task.get("name") == "Deploy the stack")
    block = next(task for task in deploy["block"] if (task.get("vars") or {}).get("stack_containers_deferred"))
    return {task["ansible.builtin.import_role"]["name"].rsplit(".", 1)[-1] for task in block["block"]
            if "ansible.builtin.import_role" in task and "tasks_from" not in task["ansible.builtin.import_role"]}


def role_tasks(roles: list[str]) -> list[dict[str, Any]]:
    """The roles' imports as site.yml runs them: each run of roles that site.yml defers is one block whose container
    tasks only prepare, ending with stack_containers, which applies them; the others apply their own containers."""
    tasks: list[dict[str, Any]] = []
    deferred = deferred_roles()
    for role in roles:
        task = {"name": f"Role {role}", "ansible.builtin.import_role": {"name": f"data2ai.grafana_stack.{role}"}}
        if role not in deferred:
            tasks.append(task)
            continue
        if not (tasks and "block" in tasks[-1]):
            tasks.append({"name": "Roles whose containers are applied together, as in site.yml",
                          "vars": {"stack_containers_deferred": True}, "block": [
                              {"name": "Apply the prepared containers", "register": "stack_containers_applied",
                               "data2ai.grafana_stack.stack_containers": None}]})
        tasks[-1]["block"].insert(-1, task)
    return tasks


def roles_play(name: str, images: list[str], roles: list[str]) -> list[dict[str, Any]]:
    """A play on localhost: docker_host with these local images (never pulled), then the collection's roles, with
    their containers applied as site.yml applies them (``role_tasks``)."""
    return [{
        "name": name,
        "hosts": "localhost",
        "gather_facts": True,
        "gather_subset": ["min"],
        "tasks": [
            {"name": "Docker engine and the test network", "ansible.builtin.import_role": {
                "name": "data2ai.grafana_stack.docker_host"},
             "vars": {"docker_host_required_images": images, "docker_host_pull_missing": False}},
            *role_tasks(roles),
            # As site.yml does after each layer: the roles' handlers run before any task added after them.
            {"name": "Apply the roles' changed configurations", "ansible.builtin.meta": "flush_handlers"},
        ],
    }]


def health_wait_task(roles: list[str], timeout: float) -> dict[str, Any]:
    """A task for a ``roles_play``: wait for these roles' services, as site.yml's layer waits do, with the checks of
    the collection's table of components."""
    return {
        "name": "Wait for the services the host runs, as site.yml's layer waits do",
        "data2ai.grafana_stack.service_health": {
            "checks": "{{ query('data2ai.grafana_stack.components', " + ", ".join(f"'{role}'" for role in roles)
                      + ", enabled=true, want='health_check') }}",
            "timeout": timeout},
    }


def write_roles_play(path: Path, name: str, images: list[str], roles: list[str]) -> Path:
    """``roles_play`` written to ``path``; the path."""
    path.write_text(yaml.safe_dump(roles_play(name, images, roles), sort_keys=False))
    return path


def play_run(workdir: Path, *extra: str, play: str = "play.yml", timeout: float = 900,
             env: dict[str, str] | None = None) -> PlaybookRun:
    """ansible-playbook on ``workdir``'s ``play`` with ``workdir``'s inventory.yml."""
    return ansible_playbook("-i", str(workdir / "inventory.yml"), str(workdir / play), *extra, timeout=timeout, env=env)


def converge(workdir: Path, *extra: str, play: str = "play.yml", timeout: float = 900,
             env: dict[str, str] | None = None) -> PlaybookRun:
    """``play_run`` that fails the test when the playbook fails."""
    run = play_run(workdir, *extra, play=play, timeout=timeout, env=env)
    run.assert_ok()
    return run


def run_playbook(playbook: Path, inventory: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [venv_bin("ansible-playbook"), "-i", str(inventory), str(playbook), *extra],
        cwd=ROOT, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})},
    )


def ansible_playbook(*arguments: str, timeout: float = 1200, env: dict[str, str] | None = None) -> PlaybookRun:
    """ansible-playbook from the venv, run from the repository root without colour; its exit code and output."""
    environment = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0",
                   **(env or {})}
    proc = subprocess.run([venv_bin("ansible-playbook"), *arguments], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=timeout, check=False)
    return PlaybookRun(proc.returncode, proc.stdout + proc.stderr)


def docker(*args: str, check: bool = False, timeout: float = 180,
           stdin: str | None = None) -> subprocess.CompletedProcess:
    """Debian's docker client, ``stdin`` on its standard input; with ``check``, a failure fails the test with the
    command's output."""
    proc = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout, input=stdin, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc


def inspect_container(name: str) -> dict[str, Any]:
    return json.loads(docker("inspect", "--type", "container", name, check=True).stdout)[0]


def http_request(method: str, url: str, headers: dict[str, str] | None = None, timeout: float = 5) -> tuple[int, str]:
    """A request (a POST has an empty body) to a URL on 127.0.0.1 or a test network, bypassing any proxy;
    (status, body), status 0 when nothing answers."""
    data = b"" if method in ("POST", "PUT") else None
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return 0, ""


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 5) -> tuple[int, str]:
    return http_request("GET", url, headers, timeout)


def get_json(url: str) -> Any:
    status, body = http_get(url)
    assert status == 200, f"GET {url} answered {status}: {body[:300]}"
    return json.loads(body)


def wait_for(what: str, probe: Callable[[], bool], timeout: float = 90.0,
             details: Callable[[], str] | None = None) -> None:
    """Polls ``probe`` until it is true; fails the test naming ``what`` (and ``details()``, when given) when it is
    not within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.5)
    pytest.fail(f"{what} not within {timeout:.0f} s" + (f"\n{details()}" if details else ""))


def wait_healthy(name: str, timeout: float = 90.0) -> dict[str, Any]:
    """Waits until Docker's own healthcheck of the container says healthy; its inspect document. site.yml's wait may
    have seen a component ready over the network before Docker's first check, which comes after its interval."""
    wait_for(f"Docker's healthcheck of {name} to say healthy",
             lambda: inspect_container(name)["State"].get("Health", {}).get("Status") == "healthy", timeout,
             details=lambda: json.dumps(inspect_container(name)["State"].get("Health"))[-2000:])
    return inspect_container(name)


@dataclass(frozen=True)
class PlaybookRun:
    """One ansible-playbook run on localhost: its exit code and its whole output."""

    returncode: int
    output: str

    @property
    def recap(self) -> dict[str, int]:
        match = re.search(r"^localhost\s*:\s*(ok=.+)$", self.output, re.MULTILINE)
        assert match, f"no PLAY RECAP in the output:\n{self.output[-4000:]}"
        return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}

    @property
    def changed_tasks(self) -> list[str]:
        """The TASK and RUNNING HANDLER headers followed by a "changed:" result, for readable failures."""
        found, current = [], ""
        for line in self.output.splitlines():
            if line.startswith(("TASK [", "RUNNING HANDLER [")):
                current = line.rstrip(" *")
            elif line.startswith("changed:") and current:
                found.append(current)
        return found

    def failure_context(self) -> str:
        """The tasks that changed, then the end of the output."""
        return "changed: " + ", ".join(self.changed_tasks) + "\n...\n" + self.output[-6000:]

    def assert_ok(self) -> None:
        assert self.returncode == 0, f"ansible-playbook failed ({self.returncode}):\n{self.failure_context()}"


@dataclass(frozen=True)
class RolesStack:
    """A few roles converged on localhost by a playbook the test wrote into ``workdir``; ``ports`` maps a port name
    to the free port published on 127.0.0.1."""

    workdir: Path
    ports: dict[str, int]

    def url(self, port_name: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[port_name]}{path}"


@dataclass(frozen=True)
class ConvergedTwice:
    """A stack converged twice, and both runs: the second one should change nothing."""

    stack: Any
    first: PlaybookRun
    second: PlaybookRun


def converged_twice(stack: Any, prefix: str, images: list[str], prepare: Callable[[], None],
                    between: Callable[[], None] | None = None) -> Iterator[ConvergedTwice]:
    """For a module fixture: checks the engine and the local ``images``, removes the test's resources
    (``prefix``), runs ``prepare`` (write the inventory and the playbook), converges ``stack`` (its ``converge()``)
    twice with ``between`` in between, yields both runs, and removes the resources again, even when a test failed."""
    with fresh_resources(prefix, images):
        prepare()
        first = stack.converge()
        first.assert_ok()
        if between:
            between()
        second = stack.converge()
        second.assert_ok()
        yield ConvergedTwice(stack, first, second)


def converged_once(stack: Any, prefix: str, images: list[str], prepare: Callable[[], None]) -> Iterator[Any]:
    """``converged_twice`` with a single converge, for a module whose stack another module already shows to
    converge without change the second time (CI time is short): yields ``stack`` once it converged."""
    with fresh_resources(prefix, images):
        prepare()
        stack.converge().assert_ok()
        yield stack


@contextmanager
def fresh_resources(prefix: str, images: list[str]) -> Iterator[None]:
    """Checks the engine and the local ``images``, and removes the test's resources (``prefix``) before and after
    the block, even when a test failed."""
    if docker("version").returncode != 0:
        pytest.fail(f"the Docker engine does not answer {DOCKER} version")
    require_images(*images)
    remove_labelled(prefix)
    try:
        yield
    finally:
        remove_labelled(prefix)


def recap_changed(output: str) -> int:
    """The sum of changed= over the PLAY RECAP lines of all hosts (with one host, its changed= count)."""
    counts = [int(line.split("changed=")[1].split()[0]) for line in output.splitlines()
              if "changed=" in line and "ok=" in line]
    assert counts, "no PLAY RECAP in output:\n" + output[-2000:]
    return sum(counts)


def remove_labelled(name_prefix: str) -> None:
    """Removes the containers, volumes and networks that carry the test label AND start with ``name_prefix``,
    so tests running side by side never remove each other's resources."""
    listings = (("container", ["ps", "-a"]), ("volume", ["volume", "ls"]), ("network", ["network", "ls"]))
    for kind, listing in listings:
        names = docker(*listing, "--filter", f"label={TEST_LABEL}",
                       "--format", "{{.Name}}" if kind != "container" else "{{.Names}}").stdout.split()
        names = [name for name in names if name.startswith(name_prefix)]
        if not names:
            continue
        if kind == "container":
            docker("rm", "-f", *names)
        elif kind == "volume":
            docker("volume", "rm", "-f", *names)
        else:
            docker("network", "rm", *names)
