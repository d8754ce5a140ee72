"""stack_container's deferred mode and the stack_containers action plugin: components prepared by several
stack_container tasks are kept per host in the run's private temporary directory and applied by one
stack_containers task, with one stack_component run on the host; handlers are notified only for the components
whose configuration changed in a container that was not made anew. The modules run are replaced by recorders."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task
from ansible.plugins.action import ActionBase
from ansible_collections.data2ai.grafana_stack.plugins.action import (
    stack_container,
    stack_containers,
    stack_secret_files,
)

FILES = "data2ai.grafana_stack.stack_component"
CONTAINER = "community.docker.docker_container"
SECRETS = "data2ai.grafana_stack.stack_secret_files"
DEFERRED = {"stack_containers_deferred": True, "inventory_hostname": "vm1"}


def args(name: str, **overrides: Any) -> dict[str, Any]:
    base = {"name": name, "image": f"{name}:1", "network": "monitoring", "config_dir": f"/srv/{name}",
            "templates": [{"src": "config.j2", "dest": "config.yaml"}], "volumes": [f"{name}_data"]}
    base.update(overrides)
    return base


class Host:
    """What the host side says: the components named in ``changed`` changed a file, those in ``current`` run as
    wanted, those in ``refused`` had a file refused; docker_container changes what it runs."""

    def __init__(self, changed=(), current=(), refused=(), exists=()):
        self.changed, self.current, self.refused, self.exists = set(changed), set(current), set(refused), set(exists)
        self.calls: list[tuple[str, Any]] = []

    def secrets(self, directories: list[dict]) -> list[dict]:
        """A secret directory whose path is in ``changed`` changed its files, one in ``refused`` failed."""
        return [{"changed": True, "failed": False, "directory_changed": False, "files_changed": sorted(params["files"]),
                 "files_removed": [], "diff": [{"after": "names only"}]} if params["path"] in self.changed else
                {"changed": False, "failed": True, "msg": f"stack_secret_files {params['path']}: refused"}
                if params["path"] in self.refused else
                {"changed": False, "failed": False, "directory_changed": False, "files_changed": [],
                 "files_removed": []} for params in directories]

    def __call__(self, module_name: str, module_args: dict, task_vars: dict) -> dict:
        del task_vars
        if module_name == CONTAINER:
            self.calls.append((CONTAINER, module_args["name"], module_args.get("state")))
            return {"changed": True, "container": {"Name": module_args["name"]}}
        if module_name == SECRETS:
            self.calls.append((SECRETS, module_args["path"]))
            return self.secrets([module_args])[0]
        self.calls.append((FILES, [component["container"]["name"] for component in module_args["components"]]))
        secrets = self.secrets(module_args.get("secret_files", []))
        if secrets:
            self.calls.append(("secret_files", [params["path"] for params in module_args["secret_files"]]))
        answers = []
        for component in module_args["components"]:
            name = component["container"]["name"]
            if name in self.refused:
                answers.append({"changed": False, "failed": True, "msg": f"stack_component /srv/{name}: refused"})
                continue
            changed = [entry["dest"] for entry in component.get("files", [])] if name in self.changed else []
            answers.append({"changed": bool(changed), "failed": False, "files_changed": changed,
                            "files_removed": [], "volumes_changed": [], "container_current": name in self.current,
                            "container_exists": name in self.current or name in self.exists,
                            "diff": [{"after": name}] if changed else []})
        return {"changed": any(answer["changed"] for answer in answers + secrets), "components": answers,
                "secret_files": secrets}


def plugin(module, task_args: dict[str, Any], notify: list[str] | None = None, check: bool = False):
    task = Task()
    task.args = task_args
    task.notify = notify
    task.check_mode = check
    action = module.ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None,
                                 shared_loader_obj=None)
    return action


def run(module, host: Host, task_args: dict[str, Any], task_vars: dict[str, Any], notify=None, check=False):
    action = plugin(module, task_args, notify, check)
    with mock.patch.object(ActionBase, "run", return_value={}), \
            mock.patch.object(action, "_execute_module", side_effect=host), \
            mock.patch.object(stack_container.ActionModule, "_render",
                              side_effect=lambda src, dest, task_vars: f"{src} for {dest}"), \
            mock.patch.object(stack_container.ActionModule, "_read_file", side_effect=lambda src: {"content": src}):
        return action.run(task_vars=task_vars)


@pytest.fixture(autouse=True)
def private_tmp(tmp_path: Path):
    with mock.patch.object(stack_container.C, "DEFAULT_LOCAL_TMP", str(tmp_path)):
        yield tmp_path


def prepare(host: Host, *names: str, task_vars: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [run(stack_container, host, args(name), task_vars or DEFERRED, notify=[f"Restart {name}"])
            for name in names]


def test_a_deferred_task_only_prepares_and_one_task_applies_all_in_one_host_run(private_tmp: Path) -> None:
    host = Host()
    prepared = prepare(host, "loki", "tempo", "prometheus")
    assert host.calls == []
    assert all(result["deferred"] and not result["changed"] for result in prepared)
    kept = list((private_tmp / "stack_containers").rglob("*.json"))
    assert len(kept) == 3 and all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in kept)

    result = run(stack_containers, host, {}, DEFERRED)
    assert host.calls == [(FILES, ["loki", "tempo", "prometheus"]), (CONTAINER, "loki", "started"),
                          (CONTAINER, "tempo", "started"), (CONTAINER, "prometheus", "started")]
    assert result["changed"] and result["recreated"] == ["loki", "tempo", "prometheus"]
    assert result["notified"] == [] and "_ansible_notify" not in result
    assert list((private_tmp / "stack_containers").rglob("*.json")) == []
    # Taken once: a second stack_containers task has nothing left to apply.
    host.calls.clear()
    assert run(stack_containers, host, {}, DEFERRED)["containers"] == {} and host.calls == []


def test_only_a_changed_configuration_in_a_running_container_notifies_its_handlers() -> None:
    host = Host(changed={"loki", "tempo"}, current={"loki", "prometheus"})
    prepare(host, "loki", "tempo", "prometheus")
    result = run(stack_containers, host, {}, DEFERRED)
    # loki runs and its file changed: restart; tempo was made anew (it read its file); prometheus: nothing changed.
    assert result["notified"] == ["Restart loki"] and result["_ansible_notify"] == ["Restart loki"]
    assert result["recreated"] == ["tempo"]
    assert result["containers"]["loki"]["files_changed"] == ["/srv/loki/config.yaml"]
    assert result["containers"]["prometheus"]["changed"] is False
    assert result["diff"] == [{"after": "loki"}, {"after": "tempo"}]


def test_nothing_changed_is_a_no_op_with_one_host_run() -> None:
    host = Host(current={"loki", "tempo"})
    prepare(host, "loki", "tempo")
    result = run(stack_containers, host, {}, DEFERRED)
    assert host.calls == [(FILES, ["loki", "tempo"])]
    assert not result["changed"] and result["recreated"] == [] and "diff" not in result


def test_a_refused_component_keeps_its_container_and_fails_the_task_after_the_others() -> None:
    host = Host(refused={"tempo"})
    prepare(host, "loki", "tempo", "prometheus")
    with pytest.raises(AnsibleActionFail, match=r"stack_container tempo: host side: stack_component /srv/tempo: "
                                                r"refused") as failure:
        run(stack_containers, host, {}, DEFERRED)
    assert (CONTAINER, "tempo", "started") not in host.calls
    assert (CONTAINER, "loki", "started") in host.calls and (CONTAINER, "prometheus", "started") in host.calls
    assert failure.value.result["containers"]["tempo"]["failed"] is True


def test_a_component_turned_off_is_removed_by_the_apply_only_when_its_container_exists() -> None:
    host = Host(exists={"alloy"})
    run(stack_container, host, args("alloy", enabled=False), DEFERRED)
    run(stack_container, host, args("promtail", enabled=False), DEFERRED)
    result = run(stack_containers, host, {}, DEFERRED)
    assert host.calls == [(FILES, ["alloy", "promtail"]), (CONTAINER, "alloy", "absent")]
    assert result["recreated"] == ["alloy"]


def test_check_mode_and_the_role_alone_do_not_defer() -> None:
    host = Host(current={"loki"})
    result = run(stack_container, host, args("loki"), DEFERRED, check=True)
    assert "deferred" not in result and host.calls == [(FILES, ["loki"])]
    result = run(stack_container, host, args("loki"), {"inventory_hostname": "vm1"})
    assert "deferred" not in result and len(host.calls) == 2


def test_each_host_keeps_its_own_plans_and_a_second_plan_replaces_the_first() -> None:
    host = Host()
    prepare(host, "loki", task_vars=DEFERRED)
    prepare(host, "loki", task_vars={**DEFERRED, "inventory_hostname": "vm2"})
    run(stack_container, host, args("loki", image="loki:2"), DEFERRED)
    run(stack_containers, host, {}, DEFERRED)
    assert host.calls[0] == (FILES, ["loki"])
    assert host.calls[1] == (CONTAINER, "loki", "started")
    host.calls.clear()
    run(stack_containers, host, {}, {**DEFERRED, "inventory_hostname": "vm2"})
    assert host.calls[0] == (FILES, ["loki"])


def test_the_plans_live_in_the_runs_private_directory() -> None:
    directory = stack_container.plan_dir({"inventory_hostname": "vm1"})
    assert directory.startswith(stack_container.C.DEFAULT_LOCAL_TMP + os.sep)
    assert "vm1" not in directory and directory != stack_container.plan_dir({"inventory_hostname": "vm2"})


SECRET_ARGS = {"path": "/srv/redis/secrets", "owner": "999", "file_mode": "0600", "files": {"auth.conf": "pw"}}


def test_secret_files_are_applied_in_the_same_host_run_before_the_containers() -> None:
    """Deferred, stack_secret_files keeps its directory for stack_containers, which writes it in the one host run;
    changed secrets notify their task's handlers (which skip a container made in the run themselves)."""
    host = Host(changed={"/srv/redis/secrets"}, current={"redis"})
    prepared = run(stack_secret_files, host, SECRET_ARGS, DEFERRED, notify=["Restart redis"])
    assert prepared["deferred"] and not prepared["changed"] and host.calls == []
    prepare(host, "redis")
    result = run(stack_containers, host, {}, DEFERRED)
    assert host.calls == [(FILES, ["redis"]), ("secret_files", ["/srv/redis/secrets"])]
    assert result["changed"] and result["notified"] == ["Restart redis"]
    assert result["secret_files"]["secrets /srv/redis/secrets"]["files_changed"] == ["auth.conf"]
    assert result["containers"]["redis"]["changed"] is False and result["diff"] == [{"after": "names only"}]


def test_unchanged_secrets_notify_nothing_and_a_failed_directory_fails_the_task() -> None:
    host = Host(current={"redis"})
    run(stack_secret_files, host, SECRET_ARGS, DEFERRED, notify=["Restart redis"])
    prepare(host, "redis")
    result = run(stack_containers, host, {}, DEFERRED)
    assert not result["changed"] and result["notified"] == []
    host = Host(refused={"/srv/redis/secrets"}, current={"redis"})
    run(stack_secret_files, host, SECRET_ARGS, DEFERRED, notify=["Restart redis"])
    with pytest.raises(AnsibleActionFail, match="stack_secret_files /srv/redis/secrets: refused"):
        run(stack_containers, host, {}, DEFERRED)


def test_secret_files_outside_the_deferred_layers_run_the_module_and_bad_options_fail_early() -> None:
    host = Host(changed={"/srv/redis/secrets"})
    result = run(stack_secret_files, host, SECRET_ARGS, {"inventory_hostname": "vm1"})
    assert host.calls == [(SECRETS, "/srv/redis/secrets")] and result["changed"]
    with pytest.raises(AnsibleActionFail, match=r"stack_secret_files: .*file_mod"):
        run(stack_secret_files, host, {**SECRET_ARGS, "file_mod": "0600"}, DEFERRED)
