"""Render a role's template the way the role does, through a tiny ansible-playbook run on localhost.

The play loads the role's defaults and vars (extra vars win, as inventory settings outrank role defaults) and
runs one ``ansible.builtin.template`` task, so filters of this collection resolve by their FQCN through
ansible.cfg's collections_path. No Docker is involved.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLES_DIR = REPO_ROOT / "roles"
VENV_HINT = "run the tests with the project's venv (tests/run.sh creates it)"


def ansible_playbook() -> str:
    """ansible-playbook beside the Python that runs pytest; missing is a failure, never a skip."""
    candidate = Path(sys.executable).parent / "ansible-playbook"
    if not candidate.exists():
        pytest.fail(f"ansible-playbook not found beside {sys.executable}: {VENV_HINT}", pytrace=False)
    return str(candidate)


def render_role_template(role: str, template: str, workdir: Path, settings: dict[str, Any] | None = None) -> str:
    """The text of ``roles/<role>/templates/<template>`` rendered with the role's defaults, vars and settings."""
    role_dir = ROLES_DIR / role
    vars_files = [str(p) for p in (role_dir / "defaults" / "main.yml", role_dir / "vars" / "main.yml") if p.exists()]
    dest = workdir / template.removesuffix(".j2")
    play = {
        "name": f"Render {role}/{template} the way the role does",
        "hosts": "localhost",
        "gather_facts": False,
        "vars_files": vars_files,
        "tasks": [{
            "name": "Render the template",
            "ansible.builtin.template": {"src": str(role_dir / "templates" / template), "dest": str(dest),
                                         "mode": "0644"},
        }],
    }
    playbook = workdir / f"render-{role}.yml"
    playbook.write_text(yaml.safe_dump([play], sort_keys=False), encoding="utf-8")
    extra = workdir / f"settings-{role}.json"
    extra.write_text(json.dumps(settings or {}), encoding="utf-8")
    command = [ansible_playbook(), "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter={{ ansible_playbook_python }}", "-e", f"@{extra}", str(playbook)]
    env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
    proc = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dest.read_text(encoding="utf-8")
