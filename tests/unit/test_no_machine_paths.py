"""No tracked file names a path that exists on one particular machine only.

A home directory (/root, /home/<user>, /Users/<user>) or a /tmp/<something> path works on the machine where it
was written and nowhere else: CI and every new session start on a fresh machine. Scripts and docs use the
project's own `.venv`, pytest's temporary directories or `mktemp`. Two exceptions: an example that says it is
one (the word "example" on the same line), and the paths listed in INSIDE_AN_IMAGE, which name places inside a
test image's own filesystem, as upstream's image has them, not on any machine of ours.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MACHINE_PATH = re.compile(
    r"(?<![\w.~$/-])(?:/root(?=[/\s'\"`:]|$)|/home/[A-Za-z0-9_.-]+|/Users/[A-Za-z0-9_.-]+|/tmp/[A-Za-z0-9_.{$<-][^\s'\"`),]*)"
)
EXAMPLE_MARK = re.compile(r"\bexample\b", re.IGNORECASE)
# file -> the paths it may name, each inside a container image: why it is there.
INSIDE_AN_IMAGE = {
    "tests/images/labvm/Dockerfile": {"/root": "root logs in to the lab VM image by key, so root's .ssh is made"},
    "tests/images/labvm/labvm-entrypoint.sh": {"/root": "the lab VM's own root account, as above"},
    "tests/images/README.md": {"/root": "the lab VM's authorized_keys, inside the VM"},
    "tests/doubles/influxdb/Dockerfile": {"/home/influxdb": "upstream's influxdb image has this user and home"},
    "tests/doubles/influxdb/server.py": {"/root": "the image's fallback HOME, as upstream's CLI config path"},
    "tests/doubles/promtail/config.yml": {"/tmp/positions.yaml": "upstream's promtail image ships this config"},
    "tests/doubles/README.md": {"/tmp/positions.yaml": "the same config, documented"},
}


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def machine_paths(text: str, allowed: dict[str, str] | None = None) -> list[tuple[int, str]]:
    """(line number, line) of every line naming a machine's own path, outside a marked example and the
    ``allowed`` paths."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        paths = [match.group(0) for match in MACHINE_PATH.finditer(line)]
        paths = [path for path in paths if not any(path.startswith(ok) for ok in allowed or {})]
        if paths and not EXAMPLE_MARK.search(line):
            found.append((number, line.strip()))
    return found


def test_the_pattern_finds_home_and_tmp_paths_and_spares_the_rest() -> None:
    for line in ("VENV_BIN = '/tmp/venv/bin'", "cd /root/work", "ls /home/alice/x", "open('/Users/bob/y')",
                 "path: /tmp/gsttest-vf"):
        assert machine_paths(line), line
    for line in ("dir: /var/tmp/grafana-stack-images", ".venv/bin/pytest", "mktemp -d", "/tmp is a tmpfs",
                 "for example /tmp/x", "$TMPDIR/x", "~/.ssh/config", "src/root/x"):
        assert not machine_paths(line), line
    assert not machine_paths("keys=/root/.ssh/authorized_keys", {"/root": "inside an image"})
    assert machine_paths("keys=/home/x/.ssh", {"/root": "inside an image"})


def test_no_tracked_file_names_a_path_of_one_machine() -> None:
    found = []
    for path in tracked_text_files():
        # This file names the patterns it looks for, and the allowed paths, by necessity.
        if not path.is_file() or path.resolve() == Path(__file__).resolve():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        name = str(path.relative_to(ROOT))
        found += [f"{name}:{number}: {line}" for number, line in machine_paths(text, INSIDE_AN_IMAGE.get(name))]
    assert not found, "paths of one machine (use .venv, tmp_path or mktemp; or mark an example):\n" + "\n".join(found)
