"""The docker_host role on this machine: idempotent, and site.yml stops before changing anything when images
cannot be had."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

from stack_testlib import ROOT, docker, recap_changed, run_playbook


def _inventory(tmp_path: Path, extra: str = "") -> Path:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(textwrap.dedent(f"""\
        all:
          hosts:
            localhost:
              ansible_connection: local
              ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
              stack_labels: {{data2ai.grafana_stack.test: "1"}}
              stack_credentials_dir: {tmp_path}/credentials
        """) + textwrap.indent(textwrap.dedent(extra), "      "))
    return inventory


def test_docker_host_converges_twice_with_no_change_the_second_time(tmp_path, labelled_cleanup):
    network = f"gsttest-dh-{uuid.uuid4().hex[:6]}"
    labelled_cleanup(network)
    playbook = tmp_path / "docker_host.yml"
    playbook.write_text(textwrap.dedent("""\
        - hosts: all
          gather_facts: true
          gather_subset: [min]
          roles:
            - data2ai.grafana_stack.docker_host
        """))
    inventory = _inventory(tmp_path, f"""\
        docker_host_network: {network}
        docker_host_subnet: 172.31.241.0/24
        docker_host_base_dir: {tmp_path}/stack
        docker_host_required_images: ["data2ai-test/redis:local"]
        """)
    first = run_playbook(playbook, inventory)
    assert first.returncode == 0, first.stdout[-3000:]
    assert recap_changed(first.stdout) >= 1
    second = run_playbook(playbook, inventory)
    assert second.returncode == 0, second.stdout[-3000:]
    assert recap_changed(second.stdout) == 0, second.stdout[-3000:]
    inspect = docker("network", "inspect", network, "--format", "{{range .IPAM.Config}}{{.Subnet}}{{end}}")
    assert inspect.stdout.strip() == "172.31.241.0/24"
    assert (tmp_path / "stack").is_dir()


def test_site_stops_before_changing_anything_when_images_cannot_be_had(tmp_path, labelled_cleanup):
    missing = [f"gsttest-missing/{name}:0.0.{uuid.uuid4().hex[:4]}" for name in ("grafana", "loki")]
    network = f"gsttest-pf-{uuid.uuid4().hex[:6]}"
    labelled_cleanup("gsttest-pf-")
    inventory = _inventory(tmp_path, f"""\
        stack_network: {network}
        stack_subnet: 172.31.242.0/24
        stack_base_dir: {tmp_path}/stack
        stack_prefix: gsttest-pf-
        grafana_image: {missing[0]}
        loki_image: {missing[1]}
        """)
    result = run_playbook(ROOT / "site.yml", inventory)
    assert result.returncode != 0
    for image in missing:
        assert image in result.stdout
    assert "Nothing of the stack was changed" in result.stdout
    assert "docker load -i" in result.stdout and "tests/images/build.sh" in result.stdout
    assert docker("network", "inspect", network).returncode != 0, "the network was created"
    assert not (tmp_path / "stack").exists(), "the base directory was created"
    assert docker("ps", "-aq", "--filter", "name=gsttest-pf-").stdout.split() == [], "a container was created"
    assert docker("volume", "ls", "-q", "--filter", "name=gsttest-pf-").stdout.split() == [], "a volume was created"


def test_site_refuses_a_subnet_that_is_not_cidr(tmp_path, labelled_cleanup):
    inventory = _inventory(tmp_path, f"""\
        stack_subnet: 172.31.0.0
        stack_base_dir: {tmp_path}/stack
        """)
    result = run_playbook(ROOT / "site.yml", inventory)
    assert result.returncode != 0
    assert "must be an IPv4 CIDR" in result.stdout
    assert not (tmp_path / "stack").exists()
