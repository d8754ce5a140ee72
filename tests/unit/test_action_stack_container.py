"""The stack_container action plugin, with its steps (the stack_component and docker_container modules, and the
rendering of templates and reading of files on the controller) replaced by recorders: what it runs, in which order,
and what it reports."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task
from ansible.plugins.action import ActionBase
from ansible_collections.data2ai.grafana_stack.plugins.action.stack_container import SPEC_LABEL, ActionModule, spec_hash

ARGS = {
    "name": "gst-loki",
    "image": "loki:3",
    "labels": {"test": "1"},
    "network": "monitoring",
    "aliases": ["loki"],
    "config_dir": "/srv/loki",
    "templates": [{"src": "config.yaml.j2", "dest": "config.yaml", "validate": "check %s"}],
    "volumes": ["gst-loki_data"],
    "container": {"command": ["-config.file=/etc/loki/config.yaml"], "restart_policy": "unless-stopped"},
}


FILES = "data2ai.grafana_stack.stack_component"
CONTAINER = "community.docker.docker_container"


def run(args: dict[str, Any], changed: set[str] = frozenset(), task_vars: dict | None = None,
        fail: str | None = None, current: bool = False, exists: bool = False,
        calls: list[tuple[str, dict]] | None = None) -> tuple[dict[str, Any], list[tuple[str, dict]]]:
    """Runs the plugin; the steps named in ``changed`` report a change, the one named ``fail`` fails. A changed
    stack_component reports every file and volume it was given as changed; ``current`` is what it says of the
    container. The modules run are recorded in ``calls`` (a new list when none is given)."""
    calls = [] if calls is None else calls

    def module(module_name: str, module_args: dict, task_vars: dict) -> dict:
        del task_vars
        calls.append((module_name, module_args))
        if module_name == FILES:
            (component,) = module_args["components"]
            calls[-1] = (FILES, component)
            dests = [entry["dest"] for entry in component.get("files", [])] if FILES in changed else []
            result = {"changed": FILES in changed, "failed": fail == FILES, "files_changed": dests,
                      "volumes_changed": component.get("volumes", []) if FILES in changed else [],
                      "msg": "stack_component /srv/loki: config.yaml: failed to validate: line 3: unknown field",
                      "diff": [{"before": "a", "after": "b"}] if dests else [], "container_current": current,
                      "container_exists": current or exists}
            if current:
                result["container"] = {"Name": "from the host side"}
            return {"changed": result["changed"], "components": [result]}
        return {"changed": module_name in changed, "failed": module_name == fail, "msg": "refused",
                "container": {"Name": module_args.get("name")}}

    def render(src: str, dest: str, task_vars: dict) -> str:
        del task_vars
        return f"rendered {src} for {dest}"

    task = Task()
    task.args = args
    plugin = ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None,
                          shared_loader_obj=None)
    with mock.patch.object(ActionBase, "run", return_value={}), \
            mock.patch.object(plugin, "_execute_module", side_effect=module), \
            mock.patch.object(plugin, "_render", side_effect=render), \
            mock.patch.object(plugin, "_read_file", side_effect=lambda src: {"content": f"file {src}"}):
        return plugin.run(task_vars=task_vars or {}), calls


def test_the_steps_run_in_order_with_the_roles_data() -> None:
    result, calls = run(ARGS)
    assert [call[0] for call in calls] == [FILES, CONTAINER]
    container = calls[1][1]
    spec = container["labels"][SPEC_LABEL]
    assert calls[0][1] == {
        "path": "/srv/loki", "mode": "0755", "absent": [], "directories": [], "files": [
            {"content": "rendered config.yaml.j2 for /srv/loki/config.yaml", "dest": "config.yaml", "mode": "0644",
             "validate": "check %s"}],
        "volumes": ["gst-loki_data"], "volume_labels": {"test": "1"},
        "container": {"name": "gst-loki", "image": "loki:3", "network": "monitoring", "labels": {SPEC_LABEL: spec}}}
    assert container["networks"] == [{"name": "monitoring", "aliases": ["loki"]}]
    assert container["networks_cli_compatible"] is True and container["state"] == "started"
    assert container["labels"] == {"test": "1", SPEC_LABEL: spec} and container["restart_policy"] == "unless-stopped"
    assert result["changed"] is False and result["container_changed"] is False


def test_a_current_container_needs_no_docker_container_run() -> None:
    """The host side found the container running, with today's options hash and image: docker_container does not run,
    and the task returns the container's document all the same."""
    result, calls = run(ARGS, current=True)
    assert [call[0] for call in calls] == [FILES]
    assert result["changed"] is False and result["container_changed"] is False
    assert result["container"] == {"Name": "from the host side"}


def test_the_options_hash_follows_every_container_option_and_not_their_order() -> None:
    def spec(args: dict[str, Any]) -> str:
        return run(args)[1][0][1]["container"]["labels"][SPEC_LABEL]

    base = spec(ARGS)
    assert spec(dict(reversed(list(ARGS.items())))) == base
    assert spec({**ARGS, "container": {**ARGS["container"], "restart_policy": "always"}}) != base
    assert spec({**ARGS, "aliases": ["loki", "logs"]}) != base
    assert spec({**ARGS, "labels": {"test": "2"}}) != base
    assert spec({**ARGS, "image": "loki:4"}) != base
    assert spec_hash({"a": 1, "b": [1, 2]}) == spec_hash({"b": [1, 2], "a": 1}) != spec_hash({"a": 1, "b": [2, 1]})


def test_a_new_volume_is_reported() -> None:
    result = run(ARGS, changed={FILES})[0]
    assert result["volumes_changed"] == ["gst-loki_data"] and result["changed"] is True


def test_a_changed_template_is_told_apart_from_a_changed_container() -> None:
    result = run(ARGS, changed={FILES})[0]
    assert result["changed"] is True and result["container_changed"] is False
    assert result["templates_changed"] == ["/srv/loki/config.yaml"]
    assert result["files_changed"] == ["/srv/loki/config.yaml"]
    assert result["diff"] == [{"before": "a", "after": "b"}]
    result = run(ARGS, changed={CONTAINER})[0]
    assert result["changed"] is True and result["container_changed"] is True and result["templates_changed"] == []


def test_a_refused_template_stops_before_the_container() -> None:
    calls: list[tuple[str, dict]] = []
    with pytest.raises(AnsibleActionFail, match="failed to validate: line 3: unknown field"):
        run(ARGS, fail=FILES, calls=calls)
    assert [call[0] for call in calls] == [FILES]


def test_files_come_before_templates_and_directories_are_passed_on() -> None:
    """A template's check may read the role's files (prometheus.yml's check reads its rules), so files go first."""
    args = {**ARGS, "files": [{"src": "rules/a.yml", "dest": "rules/a.yml", "validate": "rules %s"}],
            "directories": [{"name": "rules", "exclusive": True}]}
    result, calls = run(args, changed={FILES})
    sent = calls[0][1]
    assert [entry["dest"] for entry in sent["files"]] == ["rules/a.yml", "config.yaml"]
    assert sent["files"][0] == {"content": "file rules/a.yml", "dest": "rules/a.yml", "mode": "0644",
                                "validate": "rules %s"}
    assert sent["directories"] == [{"name": "rules", "mode": "0755", "exclusive": True}]
    assert result["templates_changed"] == ["/srv/loki/config.yaml"]
    assert result["files_changed"] == ["/srv/loki/rules/a.yml", "/srv/loki/config.yaml"]


def test_a_file_without_config_dir_is_refused() -> None:
    args = {key: value for key, value in ARGS.items() if key not in ("templates", "config_dir")}
    with pytest.raises(AnsibleActionFail, match="need config_dir"):
        run({**args, "files": [{"src": "a", "dest": "a"}]})


def test_the_container_waits_for_the_network_docker_host_has_yet_to_make() -> None:
    result, calls = run(ARGS, task_vars={"docker_host_network_pending": True})
    assert [call[0] for call in calls] == [FILES] and "container" not in calls[0][1]
    assert result["container_skipped"] is True


def test_a_container_on_the_hosts_network_joins_no_network() -> None:
    args = {key: value for key, value in ARGS.items() if key not in ("network", "aliases", "templates", "config_dir")}
    calls = run({**args, "container": {"network_mode": "host"}})[1]
    container = calls[-1][1]
    assert "networks" not in container and "networks_cli_compatible" not in container
    assert container["network_mode"] == "host"
    assert calls[0][1]["container"]["network"] is None and "path" not in calls[0][1]


@pytest.mark.parametrize("option", ["name", "image", "labels", "networks", "networks_cli_compatible"])
def test_the_plugins_own_container_options_cannot_be_overridden(option: str) -> None:
    with pytest.raises(AnsibleActionFail, match=option):
        run({**ARGS, "container": {option: "x"}})


@pytest.mark.parametrize("exists", [True, False])
def test_a_component_turned_off_only_loses_its_container(exists: bool) -> None:
    """enabled=false: the container goes (its volumes and configuration stay), and no template of a component that
    is off is rendered; a container that is already gone needs no docker_container run and changes nothing."""
    result, calls = run({**ARGS, "enabled": False}, changed={CONTAINER}, exists=exists)
    assert calls[0] == (FILES, {"container": {"name": "gst-loki", "present": False}})
    assert calls[1:] == ([(CONTAINER, {"name": "gst-loki", "state": "absent"})] if exists else [])
    assert result["changed"] is exists and result["container_changed"] is exists
    assert result["templates_changed"] == [] and result["volumes_changed"] == []


def test_a_failed_removal_fails_the_task() -> None:
    with pytest.raises(AnsibleActionFail, match="gst-loki: removing the container: refused"):
        run({**ARGS, "enabled": False}, fail=CONTAINER, exists=True)
