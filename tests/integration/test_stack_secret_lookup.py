"""The stack_secret lookup: generated once, mode 0600, and a templated stack_credentials_dir is resolved."""

from __future__ import annotations

import subprocess

from stack_testlib import ROOT, venv_bin


def _secret(tmp_path, *extra: str) -> str:
    result = subprocess.run(
        [venv_bin("ansible"), "localhost", "-m", "debug", "-a",
         "msg={{ lookup('data2ai.grafana_stack.stack_secret', 'gsttest_secret', length=12) }}", *extra],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    return result.stdout.split("msg:")[1].strip()


def test_templated_credentials_dir_is_resolved_and_the_secret_is_stable(tmp_path):
    args = ("-e", f"gsttest_base={tmp_path}", "-e", "stack_credentials_dir={{ gsttest_base }}/creds")
    first = _secret(tmp_path, *args)
    stored = tmp_path / "creds" / "localhost" / "gsttest_secret"
    assert stored.read_text() == first and len(first) == 12
    assert stored.stat().st_mode & 0o777 == 0o600
    assert (stored.parent.stat().st_mode & 0o777) == 0o700
    assert _secret(tmp_path, *args) == first
    assert not list(ROOT.glob("{{*")), "a directory named after the unrendered expression was created"


def _lookup(expression: str, *extra: str) -> str:
    result = subprocess.run(
        [venv_bin("ansible"), "localhost", "-m", "debug", "-a", "msg={{ " + expression + " }}", *extra],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    return result.stdout.split("msg:")[1].strip().strip('"')


def test_path_and_directory_modes_name_the_files_without_creating_them(tmp_path):
    args = ("-e", f"stack_credentials_dir={tmp_path}/creds")
    path = _lookup("lookup('data2ai.grafana_stack.stack_secret', 'gsttest_secret', want='path')", *args)
    assert path == f"{tmp_path}/creds/localhost/gsttest_secret"
    host_dir = _lookup("lookup('data2ai.grafana_stack.stack_secret', want='host_dir')", *args)
    assert host_dir == f"{tmp_path}/creds/localhost"
    cohort_dir = _lookup("lookup('data2ai.grafana_stack.stack_secret', want='cohort_dir')", *args)
    assert cohort_dir == f"{tmp_path}/creds"
    assert not (tmp_path / "creds").exists(), "path and directory modes must not write anything"
