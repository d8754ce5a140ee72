"""Shared helpers for the integration tests: run ansible-playbook from the repo, talk to Docker, clean up."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKER = "/usr/bin/docker"
TEST_LABEL = "data2ai.grafana_stack.test=1"


def venv_bin(tool: str) -> str:
    """The tool from the Python environment running pytest (the project's .venv in CI)."""
    candidate = Path(sys.executable).parent / tool
    return str(candidate) if candidate.exists() else tool


def run_playbook(playbook: Path, inventory: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [venv_bin("ansible-playbook"), "-i", str(inventory), str(playbook), *extra],
        cwd=ROOT, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})},
    )


def docker(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, check=check)


@dataclass(frozen=True)
class PlaybookRun:
    """One ansible-playbook run on localhost: its exit code and its whole output."""

    returncode: int
    output: str

    @property
    def recap(self) -> dict[str, int]:
        match = re.search(r"^localhost\s*:\s*(ok=.+)$", self.output, re.MULTILINE)
        assert match, f"no PLAY RECAP in the output:\n{self.output[-4000:]}"
        return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}

    @property
    def changed_tasks(self) -> list[str]:
        """The TASK and RUNNING HANDLER headers followed by a "changed:" result, for readable failures."""
        found, current = [], ""
        for line in self.output.splitlines():
            if line.startswith(("TASK [", "RUNNING HANDLER [")):
                current = line.rstrip(" *")
            elif line.startswith("changed:") and current:
                found.append(current)
        return found

    def failure_context(self) -> str:
        """The tasks that changed, then the end of the output."""
        return "changed: " + ", ".join(self.changed_tasks) + "\n...\n" + self.output[-6000:]

    def assert_ok(self) -> None:
        assert self.returncode == 0, f"ansible-playbook failed ({self.returncode}):\n{self.failure_context()}"


def recap_changed(output: str) -> int:
    """The changed= count of the PLAY RECAP line for the single host."""
    for line in output.splitlines():
        if "changed=" in line and "ok=" in line:
            return int(line.split("changed=")[1].split()[0])
    raise AssertionError("no PLAY RECAP in output:\n" + output[-2000:])


def remove_labelled(name_prefix: str) -> None:
    """Removes the containers, volumes and networks that carry the test label AND start with ``name_prefix``,
    so tests running side by side never remove each other's resources."""
    listings = (("container", ["ps", "-a"]), ("volume", ["volume", "ls"]), ("network", ["network", "ls"]))
    for kind, listing in listings:
        names = docker(*listing, "--filter", f"label={TEST_LABEL}",
                       "--format", "{{.Name}}" if kind != "container" else "{{.Names}}").stdout.split()
        names = [name for name in names if name.startswith(name_prefix)]
        if not names:
            continue
        if kind == "container":
            docker("rm", "-f", *names)
        elif kind == "volume":
            docker("volume", "rm", "-f", *names)
        else:
            docker("network", "rm", *names)
