"""The controller_files action plugin (plugins/action/controller_files.py): files on the controller, written in
Ansible's own process, only when their content or mode differs, in check mode never."""

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
from ansible_collections.data2ai.grafana_stack.plugins.action.controller_files import ActionModule


def run(args: dict[str, Any], check: bool = False, diff: bool = False) -> dict[str, Any]:
    task = Task()
    task.args = args
    task.check_mode = check
    task.diff = diff
    plugin = ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    with mock.patch.object(ActionBase, "run", return_value={}):
        return plugin.run(task_vars={})


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def handout(directory: Path) -> dict[str, Any]:
    return {"directory": str(directory), "files": [{"path": "c42-handout.md", "content": "| alice | `pw1` |\n"},
                                                   {"path": "c42-handout.csv", "content": "login,password\n"}]}


def test_the_directory_and_files_are_made_private_once_and_a_rerun_changes_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "credentials"
    result = run(handout(directory))
    assert result["changed"] and result["directory_created"]
    assert mode(directory) == 0o700
    assert (directory / "c42-handout.md").read_text() == "| alice | `pw1` |\n"
    assert [mode(directory / name) for name in ("c42-handout.md", "c42-handout.csv")] == [0o600, 0o600]
    written = {p.name: p.stat().st_mtime_ns for p in directory.iterdir()}
    assert sorted(written) == ["c42-handout.csv", "c42-handout.md"]  # no temporary file left beside them

    again = run(handout(directory))
    assert not again["changed"] and not again["directory_created"]
    assert [f["changed"] for f in again["files"]] == [False, False]
    assert {p.name: p.stat().st_mtime_ns for p in directory.iterdir()} == written


def test_only_the_file_that_differs_is_written_and_a_wrong_mode_alone_is_set(tmp_path: Path) -> None:
    run(handout(tmp_path))
    (tmp_path / "c42-handout.csv").chmod(0o644)
    args = handout(tmp_path)
    args["files"][0]["content"] = "| alice | `pw2` |\n"
    result = run(args, diff=True)
    assert result["changed"] and [f["changed"] for f in result["files"]] == [True, True]
    assert (tmp_path / "c42-handout.md").read_text() == "| alice | `pw2` |\n"
    assert mode(tmp_path / "c42-handout.csv") == 0o600
    assert (tmp_path / "c42-handout.csv").read_text() == "login,password\n"
    assert result["diff"][0] == {"before_header": str(tmp_path / "c42-handout.md"),
                                 "after_header": str(tmp_path / "c42-handout.md"),
                                 "before": "| alice | `pw1` |\n", "after": "| alice | `pw2` |\n"}


def test_check_mode_reports_the_change_and_writes_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "credentials"
    result = run(handout(directory), check=True, diff=True)
    assert result["changed"] and result["directory_created"]
    assert [f["changed"] for f in result["files"]] == [True, True]
    assert not directory.exists()
    assert result["diff"][0]["after"] == {"path": str(directory), "state": "directory"}


def test_an_absolute_path_is_taken_as_is_and_a_missing_directory_fails_in_one_line(tmp_path: Path) -> None:
    target = tmp_path / "record.txt"
    assert run({"directory": str(tmp_path / "other"), "files": [{"path": str(target), "content": "x"}]})["changed"]
    assert target.read_text() == "x" and os.path.isdir(tmp_path / "other")
    with pytest.raises(AnsibleActionFail, match=r"the directory of .*/nowhere/a\.txt does not exist"):
        run({"files": [{"path": str(tmp_path / "nowhere" / "a.txt"), "content": "x"}]})


@pytest.mark.parametrize("args, message", [
    ({"files": [{"path": "a", "content": "x", "mode": "rw"}]}, "files\\[\\].mode must be an octal mode"),
    ({"directory": "/d", "directory_mode": "999"}, "directory_mode must be an octal mode"),
])
def test_a_mode_that_is_not_octal_fails_in_one_line(args: dict[str, Any], message: str) -> None:
    with pytest.raises(AnsibleActionFail, match=message):
        run(args)


def test_a_path_that_is_a_directory_or_a_directory_that_is_a_file_fails_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    with pytest.raises(AnsibleActionFail, match="is a directory"):
        run({"directory": str(tmp_path), "files": [{"path": "sub", "content": "x"}]})
    (tmp_path / "file").write_text("")
    with pytest.raises(AnsibleActionFail, match="exists and is not a directory"):
        run({"directory": str(tmp_path / "file")})
