"""The offline image bundle carries the demo image built once on the bundle machine, and a host loads it from there
instead of building it.

playbooks/bundle.yml builds the demo image with the demo role's own tasks (roles/demo/tasks/image.yml) FROM the local
data2ai-test/demo-python:local and saves it; the bundle leaves that base image out. A host with the bundle then runs
what site.yml runs for it: docker_host's bundle step (tasks/bundle.yml) with site.yml's own list of required images,
then the demo role's image tasks, which find the loaded image built from the same inputs and build nothing.

To keep the bundle small, every other component's image variable names one small local image, so the bundle holds
two archives. This machine's Docker engine plays both the bundle machine and the host: between the two, the test
removes the built image (``gsttest-bd-demo-workload:local``, the only image it creates), as a classroom VM lacks it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from stack_testlib import (
    ROOT,
    TEST_LABEL_KEY,
    PlaybookRun,
    ansible_playbook,
    docker,
    require_images,
)

pytestmark = pytest.mark.docker

PREFIX = "gsttest-bd-"
DEMO_IMAGE = f"{PREFIX}demo-workload:local"
DEMO_BASE = "data2ai-test/demo-python:local"
SMALL = "data2ai-test/base-trixie:local"
INPUTS_LABEL = "data2ai.grafana_stack.demo.inputs"
TABLE = yaml.safe_load((ROOT / "meta" / "components.yml").read_text())
SITE = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())


def _image_variables() -> dict[str, str]:
    """Every image variable of the table's rows: the demo's own two, and one small local image for the others."""
    names = {name for row in TABLE["components"] for name in row["images"]}
    return {name: SMALL for name in names} | {"demo_image": DEMO_IMAGE, "demo_base_image": DEMO_BASE}


def _site_docker_host_vars() -> dict[str, Any]:
    """The variables site.yml gives the docker_host role (its list of required images, from the table)."""
    deploy = next(task for task in SITE[0]["tasks"] if task.get("name") == "Deploy the stack")
    task = next(task for task in deploy["block"]
                if task.get("ansible.builtin.import_role", {}).get("name") == "data2ai.grafana_stack.docker_host")
    return task["vars"]


def _docker_host_role_vars() -> dict[str, str]:
    """The docker_host role's own variables that site.yml's variables read (the offline bundle's images)."""
    role_vars = yaml.safe_load((ROOT / "roles" / "docker_host" / "vars" / "main.yml").read_text())
    return {name: role_vars[name] for name in ("docker_host_bundle_dir", "docker_host_bundle_refs")}


def _host_play() -> list[dict[str, Any]]:
    """What site.yml runs on a host for the demo image: docker_host's bundle step, then the demo role's image tasks."""
    return [{
        "name": "A host with the offline bundle",
        "hosts": "localhost",
        "gather_facts": False,
        # docker_host's default of docker_host_image_bundle, which site.yml's variables read inside the role.
        "vars": {**_site_docker_host_vars(), **_docker_host_role_vars(),
                 "docker_host_image_bundle": "{{ stack_image_bundle }}"},
        "tasks": [
            {"name": "The host needs the built image from the bundle, not its base",
             "ansible.builtin.assert": {"that": [f"docker_host_required_images == {sorted([DEMO_IMAGE, SMALL])}"],
                                        "fail_msg": "required: {{ docker_host_required_images }}"}},
            {"name": "Load the bundle's images", "ansible.builtin.include_role": {
                "name": "data2ai.grafana_stack.docker_host", "tasks_from": "bundle"},
             "vars": {"docker_host_bundle_dir": "{{ docker_host_image_bundle | realpath }}"}},
            {"name": "The demo image", "ansible.builtin.include_role": {
                "name": "data2ai.grafana_stack.demo", "tasks_from": "image"}},
        ],
    }]


def _image_id(image: str) -> str:
    return docker("image", "inspect", "-f", "{{.Id}}", image).stdout.strip()


def _remove_demo_image(*ids: str) -> None:
    """The demo image the test built or loaded, and the images of these ids (left without a tag)."""
    if _image_id(DEMO_IMAGE):
        docker("image", "rm", "-f", DEMO_IMAGE, check=True)
    for image_id in ids:
        docker("image", "rm", "-f", image_id)


def _task_results(run: PlaybookRun, task: str) -> list[str]:
    """The result lines ("ok:", "changed:", "skipping:") under each header of the task named ``task``."""
    results, current = [], False
    for line in run.output.splitlines():
        if line.startswith("TASK ["):
            current = line.rstrip(" *").endswith(f"{task}]")
        elif current and line.split(":")[0] in ("ok", "changed", "skipping", "fatal"):
            results.append(line.split(":")[0])
    return results


class Bundled:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.bundle = workdir / "bundle"
        self.inventory = workdir / "inventory.yml"
        self.play = workdir / "host.yml"
        host_vars = {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "stack_labels": {TEST_LABEL_KEY: "1"},
            "stack_base_dir": str(workdir / "stack"),
            "stack_image_bundle": str(self.bundle),
            "docker_host_image_bundle_remote_dir": str(workdir / "copied"),
            "demo_enabled": True,
            **_image_variables(),
        }
        self.inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": host_vars}}}))
        self.play.write_text(yaml.safe_dump(_host_play(), sort_keys=False))

    def run(self, playbook: Path, *extra: str) -> PlaybookRun:
        run = ansible_playbook("-i", str(self.inventory), str(playbook), *extra, timeout=600)
        assert run.returncode == 0, run.failure_context()
        return run

    def make_bundle(self, *extra: str) -> PlaybookRun:
        return self.run(ROOT / "playbooks" / "bundle.yml", *extra)

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.bundle / "manifest.json").read_text())


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Bundled, PlaybookRun]]:
    require_images(DEMO_BASE, SMALL)
    _remove_demo_image()
    setup = Bundled(tmp_path_factory.mktemp("bundle-built-image"))
    try:
        yield setup, setup.make_bundle()
    finally:
        _remove_demo_image(*(image["id"] for image in setup.manifest()["images"] if image["ref"] == DEMO_IMAGE))


def test_the_bundle_carries_the_demo_image_built_here_and_not_its_base(bundled: tuple[Bundled, PlaybookRun]) -> None:
    setup, first = bundled
    images = {image["ref"]: image for image in setup.manifest()["images"]}
    assert sorted(images) == sorted([DEMO_IMAGE, SMALL]), f"the bundle holds {sorted(images)}"
    assert images[DEMO_IMAGE]["id"] == _image_id(DEMO_IMAGE)
    assert (setup.bundle / images[DEMO_IMAGE]["file"]).stat().st_size == images[DEMO_IMAGE]["size"]
    labels = json.loads(docker("image", "inspect", "-f", "{{json .Config.Labels}}", DEMO_IMAGE).stdout)
    assert labels.get(INPUTS_LABEL), f"the demo role's build did not make it: labels {labels}"
    assert images[DEMO_IMAGE]["inputs"] == {"label": INPUTS_LABEL, "value": labels[INPUTS_LABEL]}
    assert "inputs" not in images[SMALL]
    assert _task_results(first, "Build the demo image on the host") == ["changed"], first.failure_context()


def test_a_second_bundle_run_builds_and_saves_nothing(bundled: tuple[Bundled, PlaybookRun]) -> None:
    setup, _first = bundled
    before = setup.manifest()
    for again in (setup.make_bundle("--check"), setup.make_bundle()):
        assert again.recap["changed"] == 0, again.failure_context()
    assert setup.manifest() == before


def test_a_host_with_the_bundle_loads_the_demo_image_and_builds_nothing(bundled: tuple[Bundled, PlaybookRun]) -> None:
    setup, _first = bundled
    bundle_id = next(image["id"] for image in setup.manifest()["images"] if image["ref"] == DEMO_IMAGE)
    _remove_demo_image()
    first = setup.run(setup.play)
    assert _task_results(first, "Load the images (docker load)"), first.failure_context()
    assert _image_id(DEMO_IMAGE) == bundle_id, "the host's demo image is not the bundle's"
    assert _task_results(first, "Build the demo image on the host") == ["skipping"], first.failure_context()
    second = setup.run(setup.play)
    assert second.recap["changed"] == 0, second.failure_context()
    assert _image_id(DEMO_IMAGE) == bundle_id


def test_a_host_that_built_the_demo_image_alike_neither_loads_nor_builds_it(
        bundled: tuple[Bundled, PlaybookRun]) -> None:
    """The host holds the demo image with the bundle's inputs label but another id (as after its own build)."""
    setup, _first = bundled
    if not _image_id(DEMO_IMAGE):
        setup.run(setup.play)
    docker("build", "-q", "-t", DEMO_IMAGE, "--label", "gsttest-bd-rebuilt=1", "-", check=True,
           stdin=f"FROM {DEMO_IMAGE}\n")
    alike = _image_id(DEMO_IMAGE)
    assert alike not in [image["id"] for image in setup.manifest()["images"]]
    run = setup.run(setup.play)
    assert run.recap["changed"] == 0, run.failure_context()
    assert _task_results(run, "Load the images (docker load)") == ["skipping"], run.failure_context()
    assert _task_results(run, "Build the demo image on the host") == ["skipping"], run.failure_context()
    assert _image_id(DEMO_IMAGE) == alike
