"""docker_host's offline bundle: which of the bundle's images a host loads, and what a ``docker load`` loaded.

The first tests render the role's own tasks (roles/docker_host/tasks/bundle.yml) with ansible-core's Templar, as
the role runs them. They were written against the Jinja loops the tasks held before plugins/filter/bundle.py
replaced them, and pass on both. The others call the filters directly.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from ansible_collections.data2ai.grafana_stack.plugins.filter.bundle import bundle_to_load, docker_tag_ids
from role_rendering import ROLES_DIR, template_with_templar

BUNDLE_TASKS = ROLES_DIR / "docker_host" / "tasks" / "bundle.yml"

PROM = {"ref": "prom/prometheus:v3.5.0", "id": "sha256:aaa", "file": "prometheus.tar"}
REDIS = {"ref": "redis:8.2", "id": "sha256:bbb", "file": "redis.tar"}
LOKI = {"ref": "grafana/loki:3.5.3", "id": "sha256:ccc", "file": "loki.tar"}
BUNDLE = [PROM, REDIS, LOKI]
# An image a role builds on the host (the demo's), as playbooks/bundle.yml describes it in manifest.json.
INPUTS_LABEL = "data2ai.grafana_stack.demo.inputs"
DEMO = {"ref": "data2ai/demo-workload:1.0.0", "id": "sha256:ddd", "file": "demo.tar",
        "inputs": {"label": INPUTS_LABEL, "value": "f00d"}}

# docker_image_info's images on the host, the bundle's images it loads
TO_LOAD_CASES: dict[str, tuple[list[dict[str, Any]] | None, list[dict[str, Any]]]] = {
    "nothing on the host": ([], BUNDLE),
    "docker_image_info skipped (no image needed)": (None, BUNDLE),
    "every image here with the bundle's id": (
        [{"Id": "sha256:aaa", "RepoTags": ["prom/prometheus:v3.5.0"]},
         {"Id": "sha256:bbb", "RepoTags": ["redis:8.2", "redis:latest"]},
         {"Id": "sha256:ccc", "RepoTags": ["grafana/loki:3.5.3"]}], []),
    "one image here with another id": (
        [{"Id": "sha256:aaa", "RepoTags": ["prom/prometheus:v3.5.0"]},
         {"Id": "sha256:old", "RepoTags": ["redis:8.2"]},
         {"Id": "sha256:ccc", "RepoTags": ["grafana/loki:3.5.3"]}], [REDIS]),
    "the id under another tag only": (
        [{"Id": "sha256:aaa", "RepoTags": ["prom/prometheus:latest"]}], BUNDLE),
    "an image without tags (dangling)": ([{"Id": "sha256:bbb"}, {"Id": "sha256:ccc", "RepoTags": []}], BUNDLE),
}

# docker_image_info's images on the host, whether the bundle's built demo image is loaded
BUILT_CASES: dict[str, tuple[list[dict[str, Any]], bool]] = {
    "not on the host": ([], True),
    "here with the bundle's id": ([{"Id": "sha256:ddd", "RepoTags": [DEMO["ref"]]}], False),
    "built here from the same inputs (another id)": (
        [{"Id": "sha256:eee", "RepoTags": [DEMO["ref"]], "Config": {"Labels": {INPUTS_LABEL: "f00d"}}}], False),
    "built here from other inputs": (
        [{"Id": "sha256:eee", "RepoTags": [DEMO["ref"]], "Config": {"Labels": {INPUTS_LABEL: "beef"}}}], True),
    "another image with the same label": (
        [{"Id": "sha256:eee", "RepoTags": ["other:1"], "Config": {"Labels": {INPUTS_LABEL: "f00d"}}}], True),
    "here without labels (Labels null)": (
        [{"Id": "sha256:eee", "RepoTags": [DEMO["ref"]], "Config": {"Labels": None}}], True),
}

# docker_image_load's images of one archive, the "tag id" pairs the check compares with
LOADED_CASES: dict[str, tuple[list[dict[str, Any]] | None, list[str]]] = {
    "one image, two tags": (
        [{"Id": "sha256:bbb", "RepoTags": ["redis:8.2", "redis:latest"]}],
        ["redis:8.2 sha256:bbb", "redis:latest sha256:bbb"]),
    "two images": (
        [{"Id": "sha256:aaa", "RepoTags": ["prom/prometheus:v3.5.0"]}, {"Id": "sha256:ccc", "RepoTags": []}],
        ["prom/prometheus:v3.5.0 sha256:aaa"]),
    "no images in the result": (None, []),
}


def _task(name: str) -> dict[str, Any]:
    tasks = yaml.safe_load(BUNDLE_TASKS.read_text(encoding="utf-8"))
    found = [task for task in tasks if task["name"] == name]
    for block in (task for task in tasks if "block" in task):
        found += [task for task in block["block"] if task["name"] == name]
    assert len(found) == 1, f"{BUNDLE_TASKS} has no single task named {name!r}"
    return found[0]


def test_the_role_loads_the_images_missing_here_or_here_with_another_id() -> None:
    task = _task("Work out which images to load (missing here, or here with another id than the bundle's)")
    cases = [{"docker_host_bundle_images": BUNDLE,
              "docker_host_bundle_present": {} if present is None else {"images": present}}
             for present, _load in TO_LOAD_CASES.values()]
    rendered = template_with_templar(task["ansible.builtin.set_fact"]["docker_host_bundle_to_load"], cases)
    assert dict(zip(TO_LOAD_CASES, rendered)) == {case: load for case, (_present, load) in TO_LOAD_CASES.items()}


def test_the_role_checks_a_load_against_every_tag_and_id_it_loaded() -> None:
    task = _task("Check that every loaded image carries the bundle's image id")
    cases = [{"item": {} if images is None else {"images": images}} for images, _pairs in LOADED_CASES.values()]
    rendered = template_with_templar(task["vars"]["docker_host_bundle_loaded"], cases)
    assert dict(zip(LOADED_CASES, rendered)) == {case: pairs for case, (_images, pairs) in LOADED_CASES.items()}


@pytest.mark.parametrize("case", TO_LOAD_CASES)
def test_bundle_to_load(case: str) -> None:
    present, load = TO_LOAD_CASES[case]
    assert bundle_to_load(BUNDLE, present) == load


@pytest.mark.parametrize("case", LOADED_CASES)
def test_docker_tag_ids(case: str) -> None:
    images, pairs = LOADED_CASES[case]
    assert docker_tag_ids(images) == pairs


@pytest.mark.parametrize("case", BUILT_CASES)
def test_a_built_image_is_not_loaded_over_one_built_from_the_same_inputs(case: str) -> None:
    present, loaded = BUILT_CASES[case]
    assert bundle_to_load([DEMO], present) == ([DEMO] if loaded else [])
    label_only = {**DEMO, "id": "sha256:other"}
    assert bundle_to_load([PROM], present) == [PROM]
    assert (bundle_to_load([label_only], present) == []) is (not loaded and "same inputs" in case)


def test_the_bundles_order_is_kept() -> None:
    load = bundle_to_load([LOKI, PROM], [])
    assert load == [LOKI, PROM]
