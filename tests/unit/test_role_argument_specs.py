"""Every role documents each of its variables exactly once: defaults/main.yml and meta/argument_specs.yml
name the same variables, and every variable carries the role's prefix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if (p / "tasks" / "main.yml").exists())


def _defaults(role: str) -> set[str]:
    data = yaml.safe_load((ROLES_DIR / role / "defaults" / "main.yml").read_text()) or {}
    return set(data)


def _documented(role: str) -> set[str]:
    spec = yaml.safe_load((ROLES_DIR / role / "meta" / "argument_specs.yml").read_text())
    # Every entry point's options (the cohort role's progress entry point documents its own).
    return {name for entry in spec["argument_specs"].values() for name in entry.get("options") or {}}


def test_every_role_is_found():
    assert "docker_host" in ROLES and "grafana" in ROLES


@pytest.mark.parametrize("role", ROLES)
def test_role_has_the_standard_anatomy(role: str):
    for room in ("defaults/main.yml", "meta/main.yml", "meta/argument_specs.yml", "tasks/main.yml"):
        assert (ROLES_DIR / role / room).is_file(), f"{role} lacks {room}"


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_argument_specs_name_the_same_variables(role: str):
    defaults, documented = _defaults(role), _documented(role)
    assert defaults - documented == set(), f"{role}: in defaults but not documented in argument_specs"
    assert documented - defaults == set(), f"{role}: documented in argument_specs but missing from defaults"


@pytest.mark.parametrize("role", ROLES)
def test_every_variable_carries_the_role_prefix(role: str):
    unprefixed = {name for name in _defaults(role) if not name.startswith(f"{role}_")}
    assert unprefixed == set()


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_commented(role: str):
    lines = (ROLES_DIR / role / "defaults" / "main.yml").read_text().splitlines()
    names = _defaults(role)
    for i, line in enumerate(lines):
        name = line.split(":", 1)[0]
        if name in names:
            assert i > 0 and lines[i - 1].lstrip().startswith("#"), f"{role}: {name} has no comment above it"
