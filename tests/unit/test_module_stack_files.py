"""The stack_files module (plugins/modules/stack_files.py): a component's configuration directory and files in one
run, each file checked before it replaces the live one, exclusive directories emptied of what is not wanted."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.data2ai.grafana_stack.plugins.modules.stack_files import Files, FilesError


def params(path: Path, **overrides: Any) -> dict[str, Any]:
    base = {"path": str(path), "mode": "0750", "directories": [{"name": "rules", "mode": "0755", "exclusive": True}],
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
