"""site.yml against two lab VMs at once (containers that run their own dockerd and sshd, reached over real SSH):
when one VM's sshd is down, the other still converges, the summary names the failed VM with its reason, and
`--limit <vm>` converges that VM once sshd is back.

The VMs come from molecule/lab_vms/create.yml (prefix gsttest-lf-), with sshd run as a daemon so that it can be
stopped and started without stopping the VM. To keep the test lean, the fixture loads the local test images into
the VMs itself (one `docker save | docker load` stream per VM, shared layers sent once) instead of making the
offline bundle, which the lab_vms Molecule scenario covers."""

from __future__ import annotations

import json
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from stack_testlib import DOCKER, ROOT, docker, remove_labelled, run_playbook

pytestmark = pytest.mark.docker

PREFIX = "gsttest-lf-"
HEALTHY, FAILING = f"{PREFIX}vm1", f"{PREFIX}vm2"
SCENARIO = ROOT / "molecule" / "lab_vms"
LOCAL_INVENTORY = ROOT / "inventories" / "local" / "hosts.yml"
TEST_IMAGES_VARS = ROOT / "inventories" / "local-test-images" / "group_vars" / "all.yml"
# sshd as a daemon beside a placeholder process: stopping sshd leaves the VM (and its dockerd) running.
VM_COMMAND = ["/bin/sh", "-c", "/usr/sbin/sshd && exec sleep infinity"]
GRAFANA_HEALTH = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:3000/api/health').read().decode())"


def _lab_vm_vars(workdir: Path) -> dict:
    return {"lab_vm_names": [HEALTHY, FAILING], "lab_vm_dir": str(workdir / "vms"), "lab_vm_command": VM_COMMAND}


def _stack_images() -> list[str]:
    test_vars = yaml.safe_load(TEST_IMAGES_VARS.read_text())
    return sorted({value for name, value in test_vars.items() if name.endswith("_image")})


def _wait_for_inner_dockerd(vm: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while docker("exec", vm, "docker", "version").returncode != 0:
        assert time.monotonic() < deadline, f"the dockerd inside {vm} did not answer within {timeout:.0f} s"
        time.sleep(1)


def _load_images(vm: str, images: list[str]) -> None:
    """docker save | docker exec -i <vm> docker load: what an offline bundle does, without the files."""
    _wait_for_inner_dockerd(vm)
    save = subprocess.Popen([DOCKER, "save", *images], stdout=subprocess.PIPE)
    load = subprocess.run([DOCKER, "exec", "-i", vm, "docker", "load", "-q"], stdin=save.stdout,
                          capture_output=True, text=True, check=False)
    save.stdout.close()
    saved = save.wait()
    assert load.returncode == 0 and saved == 0, f"loading the images into {vm}: save {saved}, load {load}"


def _write_inventory(workdir: Path) -> Path:
    """The VMs from create.yml's hosts.yml, with the local test images and everything written under workdir."""
    inventory = workdir / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "hosts.yml").write_text((workdir / "vms" / "hosts.yml").read_text())
    settings = yaml.safe_load(TEST_IMAGES_VARS.read_text())
    settings.update({
        "stack_bind_address": "127.0.0.1",
        "stack_labels": {"data2ai.grafana_stack.test": "1"},
        "stack_credentials_dir": str(workdir / "credentials"),
        "verify_report_dir": str(workdir / "reports"),
        "docker_host_dockerd_args": ["--cgroup-parent={{ inventory_hostname }}"],
    })
    (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return inventory


def _sshd(vm: str, running: bool) -> None:
    """Starts sshd, or stops it and waits until it is gone (sshd removes its pid file on exit)."""
    stop = "kill $(cat /run/sshd.pid) && for i in $(seq 100); do [ -e /run/sshd.pid ] || exit 0; sleep 0.1; done"
    command = "/usr/sbin/sshd" if running else stop + "; exit 1"
    docker("exec", vm, "sh", "-c", command, check=True)


def _recap(output: str, host: str) -> dict[str, int]:
    line = next((line for line in output.splitlines() if re.match(rf"{re.escape(host)}\s+:\s+ok=", line)), None)
    assert line, f"no PLAY RECAP line for {host}:\n{output[-3000:]}"
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line)}


@pytest.fixture(scope="module")
def lab_vms(tmp_path_factory):
    """Two lab VMs with the local test images loaded, and an inventory of them; removed afterwards."""
    workdir = tmp_path_factory.mktemp("lab-vms")
    extra = ["-e", json.dumps(_lab_vm_vars(workdir))]
    try:
        started = time.monotonic()
        created = run_playbook(SCENARIO / "create.yml", LOCAL_INVENTORY, *extra)
        assert created.returncode == 0, created.stdout[-3000:] + created.stderr[-2000:]
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(_load_images, [HEALTHY, FAILING], [_stack_images()] * 2))
        print(f"lab VMs up with the images loaded in {time.monotonic() - started:.0f} s")
        yield _write_inventory(workdir)
    finally:
        run_playbook(SCENARIO / "destroy.yml", LOCAL_INVENTORY, *extra)
        remove_labelled(PREFIX)


@pytest.fixture(scope="module")
def run_with_one_vm_down(lab_vms):
    """site.yml on both VMs while the second one's sshd is stopped."""
    _sshd(FAILING, running=False)
    started = time.monotonic()
    result = run_playbook(ROOT / "site.yml", lab_vms)
    print(f"site.yml with {FAILING} down: {time.monotonic() - started:.0f} s")
    return result


def test_the_reachable_vm_converges_while_the_other_one_is_down(run_with_one_vm_down):
    output = run_with_one_vm_down.stdout
    assert run_with_one_vm_down.returncode != 0, "a run with an unreachable host must not succeed"
    assert _recap(output, HEALTHY)["failed"] == 0 and _recap(output, HEALTHY)["unreachable"] == 0, output[-3000:]
    assert _recap(output, FAILING)["unreachable"] == 1
    # Grafana answers on the port published on the VM's own 127.0.0.1.
    health = docker("exec", HEALTHY, "python3", "-c", GRAFANA_HEALTH)
    assert json.loads(health.stdout or "{}").get("database") == "ok", health


def test_the_summary_names_the_vm_that_is_down_with_its_reason(run_with_one_vm_down, lab_vms):
    summary = (lab_vms.parent / "reports" / "site-summary.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in summary.splitlines() if line.startswith(f"| {PREFIX}")}
    assert "| converged |" in rows[HEALTHY]
    failed_section = summary.split("## Failed or unreachable", 1)[1]
    failing_row = next(line for line in failed_section.splitlines() if line.startswith(f"| {FAILING} "))
    assert "unreachable" in failing_row and "ssh" in failing_row.lower(), failing_row
    assert f"--limit {FAILING}" in summary
    # The same summary is printed at the end of the run.
    assert f"{FAILING}: UNREACHABLE" in run_with_one_vm_down.stdout


def test_limit_to_the_failed_vm_converges_it_once_sshd_is_back(run_with_one_vm_down, lab_vms):
    _sshd(FAILING, running=True)
    started = time.monotonic()
    rerun = run_playbook(ROOT / "site.yml", lab_vms, "--limit", FAILING)
    print(f"site.yml --limit {FAILING}: {time.monotonic() - started:.0f} s")
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    assert f"{HEALTHY} " not in rerun.stdout.split("PLAY RECAP", 1)[1], "--limit ran on the other VM too"
    summary = (lab_vms.parent / "reports" / "site-summary.md").read_text()
    assert f"| {FAILING} | converged |" in summary
