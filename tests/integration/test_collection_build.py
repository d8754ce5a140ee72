"""The collection builds into a tarball that installs and works by its collection names."""

from __future__ import annotations

import os
import subprocess

from stack_testlib import ROOT, venv_bin


def _run(*args: str, cwd, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})})


def test_built_tarball_installs_and_answers_by_collection_name(tmp_path):
    build = _run(venv_bin("ansible-galaxy"), "collection", "build", str(ROOT), "--output-path", str(tmp_path),
                 cwd=tmp_path)
    assert build.returncode == 0, build.stderr
    tarballs = list(tmp_path.glob("data2ai-grafana_stack-*.tar.gz"))
    assert len(tarballs) == 1
    collections = tmp_path / "collections"
    install = _run(venv_bin("ansible-galaxy"), "collection", "install", "--no-deps", "--force", "-p", str(collections),
                   str(tarballs[0]), cwd=tmp_path)
    assert install.returncode == 0, install.stderr
    installed = collections / "ansible_collections" / "data2ai" / "grafana_stack"
    assert (installed / "roles" / "grafana" / "meta" / "argument_specs.yml").exists()
    assert not (installed / ".venv").exists() and not (installed / "collections").exists()

    # Outside the checkout, so only the installed copy can answer.
    empty_cfg = tmp_path / "ansible.cfg"
    empty_cfg.write_text("[defaults]\n")
    env = {"ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_CONFIG": str(empty_cfg)}
    doc = _run(venv_bin("ansible-doc"), "-l", "data2ai.grafana_stack", cwd=tmp_path, env=env)
    assert doc.returncode == 0, doc.stderr
    assert "data2ai.grafana_stack.service_health" in doc.stdout
    syntax = _run(venv_bin("ansible-playbook"), "data2ai.grafana_stack.site", "--syntax-check", "-i", "localhost,",
                  cwd=tmp_path, env=env)
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
