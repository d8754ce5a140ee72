"""The docker_host role on a lab VM (molecule/lab_vms/create.yml, reached over SSH) whose Docker engine is down:
stack_host starts an installed dockerd again with docker_host_dockerd_args, stops the run with a one-line reason,
creating nothing, when no dockerd is installed and the role may not install one, and waits for a busy engine (one
that listens but answers late) instead of starting a second dockerd.

Inside a lab VM, no systemd runs: the entrypoint starts dockerd once in the background and never restarts it, so a
dockerd stopped here stays stopped until the role starts it (`setsid -f dockerd ...`). A lab VM shares the host's
cgroup tree, so its dockerd must keep the cgroup parent named after the VM (as molecule/lab_vms/inventory does);
without it, the VM's containers would land in the host dockerd's cgroups and outlive the VM."""

from __future__ import annotations

import json
import re

import pytest
from stack_testlib import ROOT, docker, recap_changed, remove_labelled, run_playbook, wait_for

pytestmark = pytest.mark.docker

PREFIX = "gsttest-es-"
VM = f"{PREFIX}vm1"
SCENARIO = ROOT / "molecule" / "lab_vms"
LOCAL_INVENTORY = ROOT / "inventories" / "local" / "hosts.yml"
DOCKERD_LOG = "/var/log/gsttest-es-dockerd.log"
PLAY = """\
- name: The docker_host role alone
  hosts: all
  gather_facts: true
  gather_subset: [min]
  roles:
    - data2ai.grafana_stack.docker_host
"""
# Stops the VM's dockerd, whoever started it; dockerd removes its pid file once it has shut down.
STOP_DOCKERD = ("[ -e /var/run/docker.pid ] || exit 0; kill -TERM $(cat /var/run/docker.pid); "
                "for i in $(seq 300); do [ -e /var/run/docker.pid ] || exit 0; sleep 0.1; done; exit 1")
# Continues the stopped dockerd 7 s after a connection waits in its socket's queue (ss: Recv-Q of the listener), past
# the module's 5 s first question; after 120 s in any case.
CONTINUE_ONCE_ASKED = ("for i in $(seq 600); do ss -xlH | awk '$5 == \"/var/run/docker.sock\" && $3 > 0 {{f=1}} "
                       "END {{exit !f}}' && sleep 7 && break; sleep 0.2; done; kill -CONT {pid}")


def _in_vm(*command: str, check: bool = False):
    return docker("exec", VM, *command, check=check)


def _engine_answers() -> bool:
    return _in_vm("docker", "version").returncode == 0


def _stop_dockerd() -> None:
    _in_vm("sh", "-c", STOP_DOCKERD, check=True)
    # Nothing in the VM restarts it (no systemd; the entrypoint starts dockerd once): no dockerd, no answer.
    wait_for(f"the dockerd inside {VM} to be gone and its socket to stop answering",
             lambda: _in_vm("pgrep", "-x", "dockerd").returncode != 0 and not _engine_answers(), timeout=30)


@pytest.fixture(scope="module")
def lab_vm(tmp_path_factory):
    """One lab VM with its engine answering, the play and a way to run it; the VM and its volume are removed
    afterwards, even when a test failed."""
    workdir = tmp_path_factory.mktemp("engine-start")
    extra = ["-e", json.dumps({"lab_vm_names": [VM], "lab_vm_dir": str(workdir / "vm")})]
    try:
        created = run_playbook(SCENARIO / "create.yml", LOCAL_INVENTORY, *extra)
        assert created.returncode == 0, created.stdout[-3000:] + created.stderr[-2000:]
        wait_for(f"the dockerd inside {VM}", _engine_answers, timeout=120)
        (workdir / "play.yml").write_text(PLAY)

        def run(base_dir: str, network: str, subnet: str, *extra_args: str):
            settings = {"stack_labels": {"data2ai.grafana_stack.test": "1"}, "docker_host_base_dir": base_dir,
                        "docker_host_network": network, "docker_host_subnet": subnet,
                        "docker_host_dockerd_args": ["--cgroup-parent={{ inventory_hostname }}"],
                        "docker_host_dockerd_log": DOCKERD_LOG}
            return run_playbook(workdir / "play.yml", workdir / "vm" / "hosts.yml", "-e", json.dumps(settings),
                                *extra_args)

        yield run
    finally:
        run_playbook(SCENARIO / "destroy.yml", LOCAL_INVENTORY, *extra)
        remove_labelled(PREFIX)


def test_the_role_starts_a_stopped_dockerd_with_its_args_then_changes_nothing(lab_vm):
    """A stopped dockerd is started by the role with docker_host_dockerd_args (the VM's cgroup parent) and logs to
    docker_host_dockerd_log; the network and base directory are created; a second run changes nothing."""
    network, base_dir = f"{PREFIX}net", f"/opt/{PREFIX}stack"
    _stop_dockerd()
    first = lab_vm(base_dir, network, "10.230.0.0/24", "-v")
    assert first.returncode == 0, first.stdout[-4000:]
    assert re.search(r"^\s+engine: started$", first.stdout, re.MULTILINE), first.stdout[-4000:]
    assert recap_changed(first.stdout) >= 1
    second = lab_vm(base_dir, network, "10.230.0.0/24")
    assert second.returncode == 0 and recap_changed(second.stdout) == 0, second.stdout[-4000:]

    assert _engine_answers(), f"the engine inside {VM} does not answer after the run"
    # The running dockerd is the role's: its full path (the entrypoint runs plain `dockerd`), its args, its log.
    cmdline = _in_vm("sh", "-c", "tr '\\0' ' ' < /proc/$(cat /var/run/docker.pid)/cmdline", check=True).stdout
    assert re.fullmatch(rf"/\S+/dockerd --cgroup-parent={VM} ", cmdline), cmdline
    assert _in_vm("test", "-s", DOCKERD_LOG).returncode == 0, f"{DOCKERD_LOG} is empty or missing"
    subnets = _in_vm("docker", "network", "inspect", network, "--format", "{{range .IPAM.Config}}{{.Subnet}}{{end}}")
    assert subnets.stdout.strip() == "10.230.0.0/24", subnets
    assert _in_vm("test", "-d", base_dir).returncode == 0, f"{base_dir} was not created inside {VM}"


def test_without_dockerd_and_install_disabled_the_run_fails_in_one_line_and_creates_nothing(lab_vm):
    """With dockerd stopped and its binary moved away, and docker_host_install_engine false, the run fails with the
    role's one-line reason and creates no base directory (the binary is put back afterwards)."""
    base_dir = f"/opt/{PREFIX}refused"
    dockerd = _in_vm("sh", "-c", "command -v dockerd", check=True).stdout.strip()
    _stop_dockerd()
    _in_vm("mv", dockerd, f"{dockerd}.off", check=True)
    try:
        assert _in_vm("sh", "-c", "command -v dockerd").returncode != 0, "another dockerd is on the PATH"
        run = lab_vm(base_dir, f"{PREFIX}net2", "10.230.1.0/24", "-e", '{"docker_host_install_engine": false}')
    finally:
        _in_vm("mv", f"{dockerd}.off", dockerd, check=True)
    assert run.returncode != 0, run.stdout[-4000:]
    # The reason in one line, from the VM's name to its hint (the YAML result below it wraps long strings).
    one_line = rf"^.*{VM} has no Docker engine \(no dockerd\), .* Install Docker there, then run again\.$"
    assert re.search(one_line, run.stdout, re.MULTILINE), run.stdout[-4000:]
    assert recap_changed(run.stdout) == 0, run.stdout[-4000:]
    assert _in_vm("test", "-e", base_dir).returncode != 0, f"{base_dir} was created inside {VM}"


def test_a_busy_engine_is_waited_for_and_no_second_dockerd_is_started(lab_vm):
    """An engine that listens but answers only after the module's first 5 s question (a stopped process, continued
    7 s after the module's connection waits on its socket) is waited for: the run succeeds, starts no second dockerd
    and reports no engine change."""
    _in_vm("sh", "-c", f"[ -e /var/run/docker.pid ] || setsid -f dockerd --cgroup-parent={VM} >> {DOCKERD_LOG} 2>&1")
    wait_for(f"the dockerd inside {VM}", _engine_answers, timeout=60)
    pid = _in_vm("cat", "/var/run/docker.pid", check=True).stdout.strip()
    _in_vm("kill", "-STOP", pid, check=True)
    docker("exec", "-d", VM, "sh", "-c", CONTINUE_ONCE_ASKED.format(pid=pid), check=True)
    run = lab_vm(f"/opt/{PREFIX}busy", f"{PREFIX}net", "10.230.0.0/24", "-v")
    _in_vm("kill", "-CONT", pid)
    assert run.returncode == 0, run.stdout[-4000:]
    assert re.search(r"^\s+engine: running$", run.stdout, re.MULTILINE), run.stdout[-4000:]
    assert _in_vm("cat", "/var/run/docker.pid").stdout.strip() == pid
    assert "pid file found" not in _in_vm("cat", DOCKERD_LOG).stdout, "a second dockerd was started"
