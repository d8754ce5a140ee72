"""The Prometheus role's alert rules, checked with promtool inside the real Prometheus test image.

The rules are static files (roles/prometheus/files/rules/); their unit tests are tests/rules/<name>.test.yml.
The repository is mounted read-only into a throw-away container without a network, so the test files' relative
paths to the rules work the same inside and outside the container.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from stack_testlib import DOCKER, ROOT, TEST_LABEL, require_images

RULES_DIR = ROOT / "roles" / "prometheus" / "files" / "rules"
RULE_TESTS_DIR = ROOT / "tests" / "rules"
IMAGE = os.environ.get("GSTTEST_PROMETHEUS_IMAGE", "data2ai-test/prometheus:local")
SEVERITIES = {"critical", "warning", "none"}
# Alerts that fire whatever the input; they cannot have a quiet case.
ALWAYS_FIRING = {"Watchdog"}


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yml"))


def rule_test_files() -> list[Path]:
    return sorted(RULE_TESTS_DIR.glob("*.test.yml"))


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def alerting_rules() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in rule_files():
        for group in load_yaml(path)["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    yield path, rule


def alert_rule_tests() -> Iterator[dict[str, Any]]:
    for path in rule_test_files():
        for test in load_yaml(path)["tests"]:
            yield from test.get("alert_rule_test", [])


def promtool(*args: str, extra_mounts: dict[Path, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run promtool from the Prometheus image, as root (to read any mounted file), with no network."""
    command = [
        DOCKER, "run", "--rm", "--network", "none", "--user", "0",
        "--name", f"gsttest-promtool-{uuid.uuid4().hex[:12]}", "--label", TEST_LABEL,
        "-v", f"{ROOT}:/repo:ro", "-w", "/repo",
    ]
    for source, target in (extra_mounts or {}).items():
        command += ["-v", f"{source}:{target}:ro"]
    command += ["--entrypoint", "/bin/promtool", IMAGE, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def prometheus_image() -> str:
    require_images(IMAGE)
    return IMAGE


def test_every_rule_file_has_its_unit_test_file() -> None:
    assert rule_files(), f"no rule files in {RULES_DIR}"
    for path in rule_files():
        test_file = RULE_TESTS_DIR / f"{path.stem}.test.yml"
        assert test_file.is_file(), f"{path.name} has no unit tests ({test_file} is missing)"
        listed = load_yaml(test_file)["rule_files"]
        assert f"../../roles/prometheus/files/rules/{path.name}" in listed


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in alert_rule_tests():
        (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    for _path, rule in alerting_rules():
        name = rule["alert"]
        assert name in firing, f"{name} has no unit test in which it fires"
        if name not in ALWAYS_FIRING:
            assert name in quiet, f"{name} has no unit test in which it stays quiet"


def test_alerts_carry_severity_component_and_the_three_annotations() -> None:
    for path, rule in alerting_rules():
        where = f"{path.name}: {rule['alert']}"
        assert rule["labels"].get("severity") in SEVERITIES, where
        assert rule["labels"].get("component"), where
        assert {"summary", "description", "runbook"} <= set(rule["annotations"]), where


def test_alert_names_are_unique() -> None:
    names = [rule["alert"] for _path, rule in alerting_rules()]
    assert len(names) == len(set(names)), names


@pytest.mark.docker
def test_rule_files_pass_promtool_check_rules(prometheus_image: str) -> None:
    paths = [f"roles/prometheus/files/rules/{path.name}" for path in rule_files()]
    result = promtool("check", "rules", *paths)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.docker
def test_rule_unit_tests_pass_in_the_prometheus_image(prometheus_image: str) -> None:
    paths = [f"tests/rules/{path.name}" for path in rule_test_files()]
    result = promtool("test", "rules", *paths)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(paths), result.stdout


@pytest.mark.docker
def test_promtool_rejects_a_broken_rule(prometheus_image: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: rate(up[5m] > 0\n",
        encoding="utf-8",
    )
    result = promtool("check", "rules", "/check/broken.yml", extra_mounts={broken: "/check/broken.yml"})
    assert result.returncode != 0
    assert "parse error" in (result.stdout + result.stderr)


@pytest.mark.docker
def test_promtool_unit_tests_catch_a_wrong_expectation(prometheus_image: str, tmp_path: Path) -> None:
    """The unit tests compare labels exactly: a test expecting the wrong severity must fail."""
    original = (RULE_TESTS_DIR / "targets.test.yml").read_text(encoding="utf-8")
    assert "severity: critical" in original
    tampered = original.replace("severity: critical", "severity: warning", 1).replace(
        "../../roles/prometheus/files/rules/", "/repo/roles/prometheus/files/rules/"
    )
    test_file = tmp_path / "tampered.test.yml"
    test_file.write_text(tampered, encoding="utf-8")
    result = promtool("test", "rules", "/check/tampered.test.yml", extra_mounts={test_file: "/check/tampered.test.yml"})
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr
