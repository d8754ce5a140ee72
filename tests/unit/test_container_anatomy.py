"""The container anatomy is written once: every component role runs its container through
data2ai.grafana_stack.stack_container, and no role's tasks restate what that plugin does for all of them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES_DIR = ROOT / "roles"
COMPONENTS = (
    "alertmanager", "alloy", "cadvisor", "grafana", "influxdb", "loki", "node_exporter", "postgresql",
    "prometheus", "promtail", "redis", "tempo",
)
PLUGIN = "data2ai.grafana_stack.stack_container"
SECRETS = "data2ai.grafana_stack.stack_secret_files"
# Secret files a role writes with a task of its own, and why: Grafana's admin password matters on the first start
# only (a change restarts nothing), its TLS key is copied from a file; the demo's token and a rotated InfluxDB
# operator token exist once InfluxDB made them.
OWN_SECRET_FILES = {"grafana": ("admin_password", "tls_key"), "demo": ("influxdb_token",),
                    "influxdb": ("admin_token",)}
# What stack_container does for every component: no role's tasks may say it again.
WRITTEN_ONCE = ("networks_cli_compatible", "docker_host_network_pending", "community.docker.docker_volume")
# Steps a role may still write itself (none: Tempo's volume ownership is stack_container's volume_owner now).
OWN_STEPS: dict[str, tuple[str, ...]] = {}


def _tasks(role: str) -> list[dict]:
    tasks = []
    for path in sorted((ROLES_DIR / role / "tasks").glob("*.yml")):
        tasks += yaml.safe_load(path.read_text()) or []
    return tasks


def _walk(tasks: list[dict]):
    for task in tasks:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _walk(task.get(key, []))


@pytest.mark.parametrize("role", COMPONENTS)
def test_the_component_container_runs_through_stack_container(role: str) -> None:
    calls = [task for task in _walk(_tasks(role)) if PLUGIN in task]
    assert len(calls) == 1, f"{role}: expected one {PLUGIN} task, found {len(calls)}"
    assert calls[0][PLUGIN]["name"] == "{{ " + role + "_container_name }}"
    assert calls[0].get("register") == f"{role}_container"


@pytest.mark.parametrize("role", COMPONENTS)
def test_no_role_restates_the_anatomy(role: str) -> None:
    for path in sorted((ROLES_DIR / role / "tasks").glob("*.yml")):
        text = path.read_text()
        for phrase in set(WRITTEN_ONCE) - set(OWN_STEPS.get(role, ())):
            assert phrase not in text, f"{path.relative_to(ROOT)} restates {phrase}: stack_container does it"


@pytest.mark.parametrize("role", COMPONENTS)
def test_a_handler_restarts_only_when_the_container_itself_did_not_change(role: str) -> None:
    path = ROLES_DIR / role / "handlers" / "main.yml"
    handlers = (yaml.safe_load(path.read_text()) or []) if path.exists() else []
    for handler in handlers:
        assert f"{role}_container.container_changed" in str(handler.get("when")), handler["name"]


@pytest.mark.parametrize("role", COMPONENTS)
def test_a_handler_another_task_notifies_also_skips_a_container_stack_containers_made(role: str) -> None:
    """In site.yml the container task only prepares its container and stack_containers applies it later, so the
    task's own result cannot tell a made container; stack_containers notifies only for containers it did not make,
    but a handler notified by another task (the secret files) must ask stack_containers' result too."""
    path = ROLES_DIR / role / "handlers" / "main.yml"
    handlers = (yaml.safe_load(path.read_text()) or []) if path.exists() else []
    other = {str(task.get("notify")) for task in _walk(_tasks(role)) if task.get("notify") and PLUGIN not in task}
    for handler in handlers:
        if handler["name"] in other and role != "grafana":  # grafana is applied by its own task, not deferred
            assert f"{role}_container_name not in (stack_containers_applied.recreated | default([]))" in \
                handler["when"], handler["name"]


# Roles whose own steps after the container need its handlers run first: Grafana's API calls, PostgreSQL's roles.
FLUSH_BEFORE_OWN_STEPS = ("grafana", "postgresql")


@pytest.mark.parametrize("role", (*COMPONENTS, "demo"))
def test_the_layer_runs_the_handlers_not_each_role(role: str) -> None:
    flushes = [task["name"] for task in _walk(_tasks(role)) if task.get("ansible.builtin.meta") == "flush_handlers"]
    assert len(flushes) == (1 if role in FLUSH_BEFORE_OWN_STEPS else 0), f"{role}: {flushes}"


def test_site_yml_runs_the_handlers_right_before_the_layers_wait() -> None:
    site = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
    (deploy,) = [task for task in site[0]["tasks"] if task.get("name") == "Deploy the stack"]
    block = deploy["block"]
    waits = [index for index, task in enumerate(block) if "data2ai.grafana_stack.service_health" in task]
    assert [block[index]["name"] for index in waits] == ["Wait for the data and collection layers"]
    assert all(block[index - 1].get("ansible.builtin.meta") == "flush_handlers" for index in waits)


@pytest.mark.parametrize("role", ("promtail", "alloy", "demo"))
def test_a_component_that_can_be_off_is_run_or_removed_by_its_one_container_task(role: str) -> None:
    """The choice between running a component and removing its container is stack_container's enabled option, not
    a tasks file of the role's own (present.yml) and a removal task beside it."""
    tasks = list(_walk(_tasks(role)))
    (call,) = [task for task in tasks if PLUGIN in task]
    assert call[PLUGIN]["enabled"] == "{{ " + role + "_enabled | bool }}" and "when" not in call
    assert not [task["name"] for task in tasks if "community.docker.docker_container" in task]
    assert not (ROLES_DIR / role / "tasks" / "present.yml").exists()


@pytest.mark.parametrize("role", (*COMPONENTS, "demo"))
def test_secret_directories_and_files_are_written_through_stack_secret_files(role: str) -> None:
    """No role makes a secrets directory or writes, finds or removes its files with a task of its own, apart from
    the files OWN_SECRET_FILES names; every task of stack_secret_files names a directory called secrets."""
    for task in _walk(_tasks(role)):
        for module in ("ansible.builtin.file", "ansible.builtin.copy", "ansible.builtin.find"):
            args = task.get(module) or {}
            target = str(args.get("dest") or args.get("path") or args.get("paths") or "")
            if "/secrets" not in target:
                continue
            own = [name for name in OWN_SECRET_FILES.get(role, ()) if target.endswith("/secrets/" + name)]
            assert own and module != "ansible.builtin.find", f"{role}: {task['name']!r} writes secrets itself"
        if SECRETS in task:
            assert task[SECRETS]["path"].endswith("/secrets"), task["name"]
            assert "no_log" not in task, f"{role}: {task['name']!r}: stack_secret_files hides the secrets itself"


def test_the_validate_commands_run_without_a_network_from_the_components_own_image() -> None:
    """Every template checked before it goes live names its role's validate command; none is checked inline."""
    validated = {}
    for role in COMPONENTS:
        for task in _walk(_tasks(role)):
            for template in (task.get(PLUGIN) or {}).get("templates", []):
                if "validate" in template:
                    validated[role] = template["validate"]
    assert set(validated) == {"alertmanager", "alloy", "loki", "prometheus", "promtail"}
    for role, command in validated.items():
        assert command.startswith("{{ ") and command.endswith(" }}"), f"{role}: validate is not a role variable"
