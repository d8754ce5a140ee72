"""The stack_secret_files module (plugins/modules/stack_secret_files.py): a component's secret directory and files
in one task, written only when content, mode or owner differ, the unwanted ones removed, never a secret shown."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.secret_files import SecretFilesError, reconcile
from ansible_collections.data2ai.grafana_stack.plugins.modules import stack_secret_files

SECRET = "s3cret-Value-7f1c"
OTHER = "0ther-Value-93ab"


def params(path: Path, **overrides: Any) -> dict[str, Any]:
    base = {"path": str(path), "mode": "0700", "owner": "65534", "group": "0", "file_mode": "0400",
            "files": {"admin_password": SECRET, "admin_token": OTHER}, "remove": []}
    base.update(overrides)
    return base


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def owner(path: Path) -> tuple[int, int]:
    st = path.lstat()
    return st.st_uid, st.st_gid


@pytest.fixture(autouse=True)
def _needs_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("these tests set file owners: run them as root (the CI container does)")


def test_the_directory_and_files_are_made_with_mode_and_owner_once_and_a_rerun_changes_nothing(tmp_path: Path) -> None:
    secrets = tmp_path / "conf" / "secrets"
    result = reconcile(params(secrets), check=False)
    assert result["changed"] and result["directory_changed"]
    assert result["files_changed"] == ["admin_password", "admin_token"]
    assert (mode(secrets), owner(secrets)) == (0o700, (65534, 0))
    assert (secrets / "admin_password").read_text() == SECRET
    assert [(mode(secrets / n), owner(secrets / n)) for n in ("admin_password", "admin_token")] == [
        (0o400, (65534, 0)), (0o400, (65534, 0))]
    assert sorted(p.name for p in secrets.iterdir()) == ["admin_password", "admin_token"]  # no temporary file left
    written = {p.name: p.stat().st_mtime_ns for p in secrets.iterdir()}

    again = reconcile(params(secrets), check=False)
    assert again == {"changed": False, "directory_changed": False, "files_changed": [], "files_removed": []}
    assert {p.name: p.stat().st_mtime_ns for p in secrets.iterdir()} == written


def test_only_what_differs_changes_content_mode_or_owner(tmp_path: Path) -> None:
    reconcile(params(tmp_path / "s"), check=False)
    (tmp_path / "s" / "admin_token").chmod(0o644)
    os.chown(tmp_path / "s" / "admin_password", 0, 0)
    result = reconcile(params(tmp_path / "s"), check=False)
    assert result["files_changed"] == ["admin_password", "admin_token"] and not result["directory_changed"]
    assert owner(tmp_path / "s" / "admin_password") == (65534, 0) and mode(tmp_path / "s" / "admin_token") == 0o400

    result = reconcile(params(tmp_path / "s", files={"admin_password": SECRET, "admin_token": "new"}), check=False)
    assert result["files_changed"] == ["admin_token"]
    assert (tmp_path / "s" / "admin_token").read_text() == "new"
    assert (mode(tmp_path / "s" / "admin_token"), owner(tmp_path / "s" / "admin_token")) == (0o400, (65534, 0))

    os.chown(tmp_path / "s", 0, 0)
    result = reconcile(params(tmp_path / "s", files={"admin_password": SECRET, "admin_token": "new"}), check=False)
    assert result["directory_changed"] and result["files_changed"] == []
    assert owner(tmp_path / "s") == (65534, 0)


def test_an_owner_left_out_keeps_the_files_owner(tmp_path: Path) -> None:
    reconcile(params(tmp_path / "s"), check=False)
    result = reconcile(params(tmp_path / "s", owner=None, group=None), check=False)
    assert not result["changed"]
    assert owner(tmp_path / "s" / "admin_password") == (65534, 0)


def test_the_directory_may_have_an_owner_of_its_own(tmp_path: Path) -> None:
    secrets = tmp_path / "s"
    args = params(secrets, mode="0750", owner="472", directory_owner="0", directory_group="0")
    assert reconcile(args, check=False)["directory_changed"]
    assert (mode(secrets), owner(secrets)) == (0o750, (0, 0))
    assert owner(secrets / "admin_password") == (472, 0)
    assert not reconcile(args, check=False)["changed"]


def test_files_matching_remove_and_not_wanted_are_removed_and_others_kept(tmp_path: Path) -> None:
    secrets = tmp_path / "s"
    reconcile(params(secrets, files={"ini.smtp.password": "a", "ldap_bind_password": "b", "secret_key": "c"}),
              check=False)
    (secrets / "admin_password").write_text("kept: no pattern names it")
    result = reconcile(params(secrets, files={"secret_key": "c"}, remove=["ini.*", "ldap_bind_password"]), check=False)
    assert result["files_removed"] == ["ini.smtp.password", "ldap_bind_password"] and result["changed"]
    assert sorted(p.name for p in secrets.iterdir()) == ["admin_password", "secret_key"]
    assert not reconcile(params(secrets, files={"secret_key": "c"}, remove=["ini.*", "ldap_bind_password"]),
                         check=False)["changed"]


def test_check_mode_reports_every_change_and_changes_nothing(tmp_path: Path) -> None:
    secrets = tmp_path / "s"
    result = reconcile(params(secrets), check=True)
    assert result["changed"] and result["files_changed"] == ["admin_password", "admin_token"]
    assert not secrets.exists()

    reconcile(params(secrets, files={"admin_password": SECRET, "gone": "x"}), check=False)
    result = reconcile(params(secrets, files={"admin_password": "new"}, remove=["gone"]), check=True)
    assert result["files_changed"] == ["admin_password"] and result["files_removed"] == ["gone"]
    assert (secrets / "admin_password").read_text() == SECRET and (secrets / "gone").exists()


def test_the_diff_names_files_modes_and_owners_and_never_a_secret(tmp_path: Path) -> None:
    secrets = tmp_path / "s"
    reconcile(params(secrets, files={"admin_password": SECRET, "gone": OTHER}), check=False)
    (secrets / "admin_password").chmod(0o644)
    result = reconcile(params(secrets, files={"admin_password": OTHER}, remove=["gone"]), check=True)
    assert result["diff"]["before"] == "admin_password mode=0644 owner=65534 group=0\ngone present\n"
    assert result["diff"]["after"] == "admin_password mode=0400 owner=65534 group=0 content changed\ngone absent\n"
    assert SECRET not in json.dumps(result) and OTHER not in json.dumps(result)


def test_a_wrong_name_mode_owner_or_path_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(SecretFilesError, match="plain file names"):
        reconcile(params(tmp_path / "s", files={"../x": SECRET}), check=False)
    with pytest.raises(SecretFilesError, match="octal mode"):
        reconcile(params(tmp_path / "s", file_mode="rw"), check=False)
    with pytest.raises(SecretFilesError, match="is no user on the host"):
        reconcile(params(tmp_path / "s", owner="no-such-user-here"), check=False)
    (tmp_path / "f").write_text("")
    with pytest.raises(SecretFilesError, match="not a directory"):
        reconcile(params(tmp_path / "f"), check=False)


def run_module(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **internal: Any) -> dict[str, Any]:
    with patch_module_args(args | {f"_ansible_{k}": v for k, v in internal.items()}), pytest.raises(SystemExit):
        stack_secret_files.main()
    out = capsys.readouterr().out
    assert SECRET not in out and OTHER not in out
    return json.loads(out)


def test_the_module_result_and_its_logged_arguments_hold_no_secret(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    args = params(tmp_path / "s")
    result = run_module(args, capsys, diff=True)
    assert result["changed"] and "admin_password" in result["diff"]["after"]
    assert result["invocation"]["module_args"]["files"] == {"admin_password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER",
                                                            "admin_token": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}
    assert "diff" not in run_module(args | {"files": {"admin_password": "x"}}, capsys)
    failed = run_module(args | {"file_mode": "bad"}, capsys)
    assert failed["failed"] and failed["msg"].endswith("file_mode must be an octal mode such as 0600, not 'bad'")
