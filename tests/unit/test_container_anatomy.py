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
# What stack_container does for every component: no role's tasks may say it again.
WRITTEN_ONCE = ("networks_cli_compatible", "docker_host_network_pending", "community.docker.docker_volume")
# Tempo's special step: the volume exists before the one-shot container that hands it to Tempo's uid.
OWN_STEPS = {"tempo": ("community.docker.docker_volume",)}


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
