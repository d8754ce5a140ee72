"""The stack_component module (plugins/modules/stack_component.py): a component's configuration directory and files in
one run, each file checked before it replaces the live one, exclusive directories emptied of what is not wanted; its
volumes created when missing; and whether its container is current, read from a fake Docker engine."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.data2ai.grafana_stack.plugins.modules.stack_component import (
    ARGUMENT_SPEC,
    COMPONENT_SPEC,
    Files,
    FilesError,
    command_runner,
    container_differs,
    run,
    run_components,
)


def params(path: Path, **overrides: Any) -> dict[str, Any]:
    base = {"path": str(path), "mode": "0750", "absent": [],
            "directories": [{"name": "rules", "mode": "0755", "exclusive": True}],
            "files": [{"dest": "rules/a.yml", "content": "groups: []\n", "mode": "0644", "validate": "check %s"},
                      {"dest": "main.yml", "content": "rule_files: [rules/*.yml]\n", "mode": "0644",
                       "validate": None}]}
    base.update(overrides)
    return base


class Checker:
    """A run_command that records the checks and fails those whose checked content contains ``refuse``."""

    def __init__(self, refuse: str = "") -> None:
        self.refuse = refuse
        self.checked: list[str] = []

    def __call__(self, command: str) -> tuple[int, str, str]:
        checked = Path(command.split(" ", 1)[1])
        content = checked.read_text()
        self.checked.append(content)
        if self.refuse and self.refuse in content:
            return 1, "", "line 1: refused"
        return 0, "", ""


def reconcile(path: Path, check: bool = False, checker: Checker | None = None, **overrides: Any):
    return Files(params(path, **overrides), check, checker or Checker()).run()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_a_new_directory_gets_its_files_checked_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    target, checker = tmp_path / "prometheus", Checker()
    result, diffs = reconcile(target, checker=checker)
    assert result["changed"] and result["directories_changed"] == [".", "rules"]
    assert result["files_changed"] == ["rules/a.yml", "main.yml"]
    assert (target / "rules" / "a.yml").read_text() == "groups: []\n" and mode(target) == 0o750
    assert checker.checked == ["groups: []\n"]
    assert any(diff["after"] == "rule_files: [rules/*.yml]\n" for diff in diffs)
    result, diffs = reconcile(target, checker=checker)
    assert not result["changed"] and diffs == [] and checker.checked == ["groups: []\n"]


def test_a_refused_file_leaves_the_live_one_and_stops_before_the_next(tmp_path: Path) -> None:
    target = tmp_path / "prometheus"
    reconcile(target)
    files = [{"dest": "rules/a.yml", "content": "broken refuse\n", "mode": "0644", "validate": "check %s"},
             {"dest": "main.yml", "content": "new\n", "mode": "0644", "validate": None}]
    with pytest.raises(FilesError, match=r"rules/a\.yml: failed to validate: line 1: refused"):
        reconcile(target, checker=Checker(refuse="refuse"), files=files)
    assert (target / "rules" / "a.yml").read_text() == "groups: []\n"
    assert (target / "main.yml").read_text() == "rule_files: [rules/*.yml]\n"
    assert sorted(path.name for path in (target / "rules").iterdir()) == ["a.yml"]  # no temporary file left


def test_an_exclusive_directory_loses_what_is_not_wanted_before_the_checks(tmp_path: Path) -> None:
    target = tmp_path / "prometheus"
    reconcile(target)
    (target / "rules" / "old.yml").write_text("stale")
    (target / "rules" / "sub").mkdir()
    (target / "keep.txt").write_text("not in an exclusive directory")
    result, _diffs = reconcile(target)
    assert result["files_removed"] == ["rules/old.yml", "rules/sub"]
    assert sorted(path.name for path in (target / "rules").iterdir()) == ["a.yml"]
    assert (target / "keep.txt").exists()


def test_check_mode_changes_nothing_and_runs_no_check(tmp_path: Path) -> None:
    target, checker = tmp_path / "prometheus", Checker()
    result, diffs = reconcile(target, check=True, checker=checker)
    assert result["changed"] and result["files_changed"] == ["rules/a.yml", "main.yml"] and diffs
    assert not target.exists() and checker.checked == []
    reconcile(target)
    (target / "rules" / "old.yml").write_text("stale")
    (target / "main.yml").write_text("edited by hand\n")
    result, diffs = reconcile(target, check=True)
    assert result["files_changed"] == ["main.yml"] and result["files_removed"] == ["rules/old.yml"]
    assert (target / "main.yml").read_text() == "edited by hand\n" and (target / "rules" / "old.yml").exists()
    assert {"before_header": str(target / "main.yml"), "after_header": str(target / "main.yml"),
            "before": "edited by hand\n", "after": "rule_files: [rules/*.yml]\n"} in diffs


def test_a_changed_mode_alone_is_set_without_rewriting(tmp_path: Path) -> None:
    target, checker = tmp_path / "prometheus", Checker()
    reconcile(target, checker=checker)
    (target / "rules" / "a.yml").chmod(0o600)
    result, diffs = reconcile(target, checker=checker)
    assert result["files_changed"] == ["rules/a.yml"] and mode(target / "rules" / "a.yml") == 0o644
    assert checker.checked == ["groups: []\n"]
    assert diffs[0]["before"] == "mode=0600\n" and diffs[0]["after"] == "mode=0644\n"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"files": [{"dest": "../x", "content": "", "mode": "0644", "validate": None}]}, "inside the configuration"),
    ({"files": [{"dest": "other/x", "content": "", "mode": "0644", "validate": None}]}, "in no directory"),
    ({"directories": [{"name": "/etc", "mode": "0755", "exclusive": False}]}, "inside the configuration"),
    ({"mode": "rw"}, "octal mode"),
])
def test_bad_arguments_are_refused_in_one_line(tmp_path: Path, overrides: dict, message: str) -> None:
    with pytest.raises(FilesError, match=message):
        reconcile(tmp_path / "x", **overrides)


def test_a_check_without_its_placeholder_is_refused(tmp_path: Path) -> None:
    files = [{"dest": "main.yml", "content": "x\n", "mode": "0644", "validate": "check"}]
    with pytest.raises(FilesError, match="must contain %s"):
        reconcile(tmp_path / "x", files=files, directories=[])


# -- volumes and the container, against a fake engine ----------------------------------------------------------------

SPEC = {"data2ai.grafana_stack.container_spec": "abc"}


class Engine:
    """A Docker engine in memory, with docker_engine's functions: one image, its container, some volumes."""

    def __init__(self, volumes: tuple[str, ...] = (), **container: Any) -> None:
        self.volumes: dict[str, dict[str, str]] = {name: {} for name in volumes}
        self.images = {"loki:3": {"Id": "sha256:new"}}
        self.container: dict[str, Any] | None = {
            "Name": "/gst-loki", "Image": "sha256:new", "State": {"Running": True},
            "Config": {"Labels": {**SPEC, "test": "1"}}, "NetworkSettings": {"Networks": {"monitoring": {}}}}
        for key, value in container.items():
            self.container[key] = value

    def inspect_volume(self, name: str, timeout: float) -> dict[str, Any] | None:
        assert timeout >= 60, "a busy engine answers late"
        return {"Name": name, "Labels": self.volumes[name]} if name in self.volumes else None

    def create_volume(self, name: str, labels: dict[str, str], timeout: float) -> dict[str, Any]:
        assert timeout >= 60
        assert name not in self.volumes
        self.volumes[name] = labels
        return {"Name": name}

    def inspect_container(self, name: str, timeout: float) -> dict[str, Any] | None:
        assert timeout >= 60
        return self.container if self.container and self.container["Name"] == f"/{name}" else None

    def inspect_image(self, name: str, timeout: float) -> dict[str, Any] | None:
        assert timeout >= 60
        return self.images.get(name)


WANT = {"name": "gst-loki", "image": "loki:3", "labels": SPEC, "network": "monitoring", "present": True}


def host_params(**overrides: Any) -> dict[str, Any]:
    base = {key: spec.get("default") for key, spec in COMPONENT_SPEC.items()}
    base.update(volumes=["gst-loki_data"], volume_labels={"test": "1"}, container=WANT)
    base.update(overrides)
    return base


def test_a_missing_volume_is_created_with_the_labels_and_check_mode_only_reports_it() -> None:
    engine = Engine()
    result, diffs = run(host_params(), True, Checker(), engine)
    assert result["changed"] and result["volumes_changed"] == ["gst-loki_data"] and engine.volumes == {}
    assert diffs == [{"before_header": "volume gst-loki_data", "after_header": "volume gst-loki_data",
                      "before": "absent\n", "after": "present\n"}]
    result = run(host_params(), False, Checker(), engine)[0]
    assert result["changed"] and engine.volumes == {"gst-loki_data": {"test": "1"}}
    result, diffs = run(host_params(), False, Checker(), engine)
    assert not result["changed"] and result["volumes_changed"] == [] and diffs == []


def test_a_running_container_with_the_hash_and_the_image_is_current() -> None:
    engine = Engine(volumes=("gst-loki_data",))
    result = run(host_params(), False, Checker(), engine)[0]
    assert result["container_current"] is True and result["container"]["Name"] == "/gst-loki"
    assert not result["changed"] and "container_differs" not in result


@pytest.mark.parametrize(("engine", "why"), [
    (Engine(State={"Running": False}), "it is not running"),
    (Engine(Config={"Labels": {"data2ai.grafana_stack.container_spec": "old"}}),
     "its label data2ai.grafana_stack.container_spec differs"),
    (Engine(Config={"Labels": None}), "its label data2ai.grafana_stack.container_spec differs"),
    (Engine(Image="sha256:old"), "it does not run the image loki:3 names now"),
    (Engine(NetworkSettings={"Networks": {"bridge": {}}}), "it is not on network monitoring"),
], ids=["stopped", "other options", "no labels", "image re-tagged", "off the network"])
def test_a_container_that_differs_in_any_way_is_not_current(engine: Engine, why: str) -> None:
    assert container_differs(WANT, engine)[0] == why
    result = run(host_params(), False, Checker(), engine)[0]
    assert result["container_current"] is False and result["container_differs"] == why
    assert "container" not in result


def test_a_missing_container_or_image_is_not_current() -> None:
    engine = Engine()
    engine.container = None
    assert container_differs(WANT, engine) == ("it does not exist", None)
    assert container_differs({**WANT, "image": "loki:4"}, Engine())[0] == "image loki:4 is not on the host"


def test_without_a_container_nothing_is_read_and_files_need_a_path(tmp_path: Path) -> None:
    engine = Engine(volumes=("gst-loki_data",))
    engine.container = None
    result = run(host_params(container=None), False, Checker(), engine)[0]
    assert result["container_current"] is False and "container_differs" not in result
    with pytest.raises(FilesError, match="need path"):
        run(host_params(files=[{"dest": "a", "content": "", "mode": "0644", "validate": None}]), False, Checker(),
            engine)
    result = run(host_params(**params(tmp_path / "loki")), False, Checker(), engine)[0]
    assert result["files_changed"] == ["rules/a.yml", "main.yml"] and result["container_current"] is False


def test_an_absent_file_is_removed_before_the_files_and_check_mode_only_reports_it(tmp_path: Path) -> None:
    target = tmp_path / "grafana"
    reconcile(target)
    (target / "ldap.toml").write_text("[[servers]]\n")
    result, diffs = reconcile(target, check=True, absent=["ldap.toml", "gone.txt"])
    assert result["changed"] and result["files_removed"] == ["ldap.toml"] and (target / "ldap.toml").exists()
    assert diffs == [{"before_header": str(target / "ldap.toml"), "after_header": str(target / "ldap.toml"),
                      "before": "present\n", "after": "absent\n"}]
    result = reconcile(target, absent=["ldap.toml"])[0]
    assert result["changed"] and not (target / "ldap.toml").exists()
    result, diffs = reconcile(target, absent=["ldap.toml"])
    assert not result["changed"] and result["files_removed"] == [] and diffs == []


@pytest.mark.parametrize(("absent", "message"), [
    (["main.yml"], "main.yml is both in files and in absent"),
    (["../x"], "absent\\[\\] must be a path inside the configuration directory"),
    (["rules"], "is a directory; absent names files only"),
])
def test_an_absent_entry_that_cannot_be_meant_is_refused(tmp_path: Path, absent: list[str], message: str) -> None:
    target = tmp_path / "prometheus"
    reconcile(target)
    with pytest.raises(FilesError, match=message):
        reconcile(target, absent=absent)


def test_a_component_turned_off_only_has_its_container_looked_up() -> None:
    engine = Engine(volumes=("gst-loki_data",))
    gone = {"name": "gst-loki", "image": None, "labels": {}, "network": None, "present": False}
    result = run(host_params(volumes=[], container=gone), False, Checker(), engine)[0]
    assert result["container_exists"] is True and result["container_current"] is False
    assert not result["changed"] and "container_differs" not in result
    engine.container = None
    assert run(host_params(volumes=[], container=gone), False, Checker(), engine)[0]["container_exists"] is False


def test_components_are_applied_together_and_one_that_fails_does_not_stop_the_others(tmp_path: Path) -> None:
    """Several components in one run: each gets its own result in the order given; a refused file fails only its
    own component, which says where and why."""
    engine = Engine(volumes=("gst-loki_data",))
    first, second = (host_params(**params(tmp_path / name)) for name in ("prometheus", "tempo"))
    bad = host_params(**params(tmp_path / "loki", files=[
        {"dest": "main.yml", "content": "refuse\n", "mode": "0644", "validate": "check %s"}], directories=[]))
    results = run_components([first, bad, second], False, Checker(refuse="refuse"), engine, workers=2)
    assert [result["failed"] for result in results] == [False, True, False]
    assert results[0]["files_changed"] == results[2]["files_changed"] == ["rules/a.yml", "main.yml"]
    assert results[1]["msg"].startswith(f"stack_component {tmp_path / 'loki'}: main.yml: failed to validate")
    assert not (tmp_path / "loki" / "main.yml").exists()
    assert "diff" in results[0] and "diff" not in results[1]
    again = run_components([first, second], False, Checker(), engine)
    assert [result["changed"] for result in again] == [False, False] and "diff" not in again[0]


def test_the_components_option_checks_each_component() -> None:
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    validator = ArgumentSpecValidator(ARGUMENT_SPEC)
    assert not validator.validate({"components": [{"container": {"name": "a", "present": False}}]}).error_messages
    errors = validator.validate({"components": [{"container": {"name": "a"}}]}).error_messages
    assert any("image" in message for message in errors)


def test_a_check_command_runs_without_a_shell_and_reports_its_output() -> None:
    assert command_runner("sh -c 'echo out; echo err >&2; exit 3'") == (3, "out\n", "err\n")
    assert command_runner("echo 'a; b' $HOME")[1] == "a; b $HOME\n"


class OwnerEngine(Engine):
    """An engine whose one-shot containers run the ownership script against a volume owner kept in memory."""

    def __init__(self, owner: str = "0:0", code: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.owner, self.code, self.runs = owner, code, []

    def run_once(self, name: str, image: str, command: list[str], timeout: float, **config: Any) -> tuple[int, str]:
        self.runs.append({"name": name, "image": image, "command": command, **config})
        if self.code:
            return self.code, "chown: /data: Operation not permitted\n"
        wanted = config["Env"][0].split("=", 1)[1]
        if self.owner == wanted:
            return 0, "owner-ok\n"
        self.owner = wanted
        return 0, "owner-changed\n"


OWNER = {"volume": "gst-tempo_data", "owner": "10001:10001", "image": "busybox:1.37", "helper": "gst-tempo-owner"}


def test_a_new_volume_is_handed_to_the_components_user_by_a_one_shot_root_container() -> None:
    engine = OwnerEngine()
    engine.container = None
    result = run(host_params(volumes=["gst-tempo_data"], volume_owner=OWNER), False, Checker(), engine)[0]
    assert result["volume_owner_changed"] is True and result["changed"] is True and engine.owner == "10001:10001"
    (helper,) = engine.runs
    assert helper["name"] == "gst-tempo-owner" and helper["image"] == "busybox:1.37" and helper["User"] == "0"
    assert helper["HostConfig"] == {"NetworkMode": "none", "Mounts": [
        {"Type": "volume", "Source": "gst-tempo_data", "Target": "/data"}]}
    assert helper["Labels"] == {"test": "1"} and helper["command"][:2] == ["/bin/sh", "-c"]
    # The container still does not run: the check runs again, finds the owner right and changes nothing.
    result = run(host_params(volumes=["gst-tempo_data"], volume_owner=OWNER), False, Checker(), engine)[0]
    assert result["volume_owner_changed"] is False and not result["changed"] and len(engine.runs) == 2


def test_a_running_container_or_check_mode_runs_no_ownership_check() -> None:
    engine = OwnerEngine(volumes=("gst-tempo_data",))
    result = run(host_params(volumes=["gst-tempo_data"], volume_owner=OWNER), False, Checker(), engine)[0]
    assert result["container_current"] and not result["volume_owner_changed"] and engine.runs == []
    engine.container = None
    run(host_params(volumes=["gst-tempo_data"], volume_owner=OWNER), True, Checker(), engine)
    assert engine.runs == []


def test_a_failed_ownership_check_fails_with_the_helpers_output() -> None:
    engine = OwnerEngine(code=1)
    engine.container = None
    with pytest.raises(FilesError, match=r"handing volume gst-tempo_data to 10001:10001 with busybox:1.37 failed "
                                         r"\(exit 1\): chown: /data: Operation not permitted"):
        run(host_params(volumes=["gst-tempo_data"], volume_owner=OWNER), False, Checker(), engine)


def test_secret_directories_are_written_with_their_names_only_in_the_result(tmp_path: Path) -> None:
    from ansible_collections.data2ai.grafana_stack.plugins.module_utils.secret_files import ARGUMENT_SPEC as SECRETS
    from ansible_collections.data2ai.grafana_stack.plugins.modules.stack_component import run_secret_files
    params = {key: spec.get("default") for key, spec in SECRETS.items()}
    params.update(path=str(tmp_path / "redis" / "secrets"), file_mode="0600", files={"auth.conf": "s3cret-xyz"})
    (result,) = run_secret_files([params], False)
    assert result["changed"] and result["files_changed"] == ["auth.conf"] and not result["failed"]
    assert (tmp_path / "redis" / "secrets" / "auth.conf").read_text() == "s3cret-xyz"
    assert "s3cret-xyz" not in str(result) and isinstance(result["diff"], list)
    (again,) = run_secret_files([params], False)
    assert not again["changed"]
    (failed,) = run_secret_files([{**params, "file_mode": "9"}], False)
    assert failed["failed"] and failed["msg"].startswith(f"stack_secret_files {tmp_path / 'redis' / 'secrets'}: ")
