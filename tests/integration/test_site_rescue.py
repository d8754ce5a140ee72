"""site.yml's rescue (playbooks/tasks/record_failure.yml) through ansible-playbook: a failed no_log task's output stays
hidden in the recorded reason, in the failure message and in the whole run's output; a plain task's does not."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from stack_testlib import ROOT, ansible_playbook

MARKER = "gsttest-rescue-marker-7f3a"


def run_failing_task(tmp_path: Path, no_log: bool) -> tuple[str, dict]:
    """A block whose task fails with the marker on stderr, rescued by site.yml's own rescue tasks."""
    outcome_file = tmp_path / "outcome.json"
    failing_task = {
        "name": "Set a password",
        "ansible.builtin.shell": f"echo 'ALTER ROLE failed for password {MARKER}' >&2; exit 3",
        "no_log": no_log,
        "changed_when": False,
    }
    hand_over = {
        "name": "Hand the outcome to the test",
        "ansible.builtin.copy": {"content": "{{ stack_outcome | to_json }}", "dest": str(outcome_file), "mode": "0600"},
    }
    play = [{
        "name": "A failing task rescued as site.yml rescues it",
        "hosts": "localhost",
        "gather_facts": False,
        "vars": {"stack_host_summary": {"grafana_url": "http://grafana.invalid"}},
        "tasks": [{
            "name": "Deploy",
            "block": [failing_task],
            "rescue": [{"ansible.builtin.include_tasks": str(ROOT / "playbooks" / "tasks" / "record_failure.yml")}],
            "always": [hand_over],
        }],
    }]
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    run = ansible_playbook("-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter={{ ansible_playbook_python }}", str(playbook), timeout=120)
    assert run.returncode != 0, "the rescue fails the host"
    return run.output, json.loads(outcome_file.read_text())


def test_a_failed_no_log_task_is_recorded_without_its_output(tmp_path: Path) -> None:
    output, outcome = run_failing_task(tmp_path, no_log=True)
    assert outcome["state"] == "failed" and outcome["task"] == "Set a password"
    assert outcome["reason"] == "output hidden (no_log)"
    assert "Set a password: output hidden (no_log)" in output
    assert MARKER not in output


def test_a_failed_plain_task_is_recorded_with_its_stderr(tmp_path: Path) -> None:
    output, outcome = run_failing_task(tmp_path, no_log=False)
    assert outcome["reason"] == f"non-zero return code: ALTER ROLE failed for password {MARKER}"
    assert f"Set a password: non-zero return code: ALTER ROLE failed for password {MARKER}" in output
