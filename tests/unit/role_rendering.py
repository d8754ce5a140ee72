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


# Runs in a fresh interpreter, so that the collection loader it installs (which resolves this collection's filters
# by FQCN, as ansible-playbook does) does not change how the other tests import the plugins.
_TEMPLAR_SCRIPT = r"""
import json, sys
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
request = json.load(sys.stdin)
_AnsibleCollectionFinder(paths=[request["collections"]], scan_sys_paths=False)._install()
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

def trusted(value):
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trusted(item) for item in value]
    return value

variables = {}
for path in request["vars_files"]:
    with open(path, encoding="utf-8") as handle:
        variables.update(trusted(yaml.safe_load(handle) or {}))
variables.update(trusted(request["trusted"]))
results = []
for data in request["cases"]:
    templar = Templar(loader=DataLoader(), variables={**variables, **data})
    results.append(templar.template(trust_as_template(request["template"])))
print(json.dumps(results))
"""


def template_with_templar(template: str, cases: list[dict[str, Any]], trusted: dict[str, Any] | None = None,
                          vars_files: list[Path] | None = None) -> list[Any]:
    """``template`` rendered by ansible-core's Templar once per case, as a task's argument is: the variables of
    ``vars_files`` (roles' defaults and vars, in order) and ``trusted`` may hold templates, each case's variables
    are plain data on top of them. One interpreter renders all cases."""
    request = {"collections": str(REPO_ROOT / "collections"), "vars_files": [str(p) for p in vars_files or []],
               "trusted": trusted or {}, "cases": cases, "template": template}
    proc = subprocess.run([sys.executable, "-c", _TEMPLAR_SCRIPT], input=json.dumps(request), cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])
