"""The cohort role's initial passwords (plugins/lookup/cohort_passwords.py), rendered by ansible-core's Templar as
the role's task does (tests/unit/role_rendering.py): the inventory's password, else a file on the controller made
once with ansible.builtin.password, never in check mode."""

from __future__ import annotations

import stat
import string
from pathlib import Path
from typing import Any

from role_rendering import template_with_templar

TEMPLATE = ("{{ lookup('data2ai.grafana_stack.cohort_passwords', students=students, directory=directory,"
            " from_inventory=from_inventory, length=length) }}")
STUDENTS = [{"login": "alice", "password": "given-pw"}, {"login": "bob"}, {"login": 42}, {"login": "carol"}]


def passwords(*cases: dict[str, Any]) -> list[dict[str, str]]:
    """One rendering per case (rendered in order, in one interpreter)."""
    defaults = {"from_inventory": [], "length": 16, "ansible_check_mode": False}
    return template_with_templar(TEMPLATE, [{**defaults, **case} for case in cases])


def test_the_inventory_password_is_kept_and_the_others_are_made_once_private_letters_and_digits(
        tmp_path: Path) -> None:
    first, again = passwords({"students": STUDENTS, "directory": str(tmp_path), "length": 12},
                             {"students": STUDENTS, "directory": str(tmp_path), "length": 30})
    assert first["alice"] == "given-pw" and not (tmp_path / "alice.txt").exists()
    for login in ("bob", "42", "carol"):
        assert len(first[login]) == 12 and set(first[login]) <= set(string.ascii_letters + string.digits)
        path = tmp_path / f"{login}.txt"
        assert path.read_text() == first[login] + "\n"  # ansible.builtin.password's format
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len({first["bob"], first["42"], first["carol"]}) == 3
    assert again == first


def test_a_password_the_inventory_no_longer_gives_is_empty_unless_a_file_holds_one(tmp_path: Path) -> None:
    (tmp_path / "carol.txt").write_text("kept-pw\n")
    (result,) = passwords({"students": [{"login": "bob"}, {"login": "carol"}], "directory": str(tmp_path),
                           "from_inventory": ["bob", "carol"]})
    assert result == {"bob": "", "carol": "kept-pw"}
    assert not (tmp_path / "bob.txt").exists()


def test_check_mode_writes_nothing_and_reads_what_exists(tmp_path: Path) -> None:
    (tmp_path / "carol.txt").write_text("kept-pw\n")
    (result,) = passwords({"students": [{"login": "bob"}, {"login": "carol"}], "directory": str(tmp_path),
                           "ansible_check_mode": True})
    assert result == {"bob": "not-generated-in-check-mode", "carol": "kept-pw"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["carol.txt"]
