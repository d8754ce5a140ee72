"""Suite-wide setup: the checkout imports as the collection data2ai.grafana_stack, and in CI (CI=true) a skipped
test is a failed test.

collections/ansible_collections/data2ai/grafana_stack is a symlink to the repository root, so with collections/ on
sys.path the plugins import under their FQCN, as from an installed collection.

A missing prerequisite fails its test with a one-line hint (see tests/integration/stack_testlib.py); it never
skips. A skip is left only for a case that a user's own choice makes impossible, and CI makes no such choice, so
there every skip, at collection or at run time, is reported as a failure that names the skip's reason.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

COLLECTIONS = str(Path(__file__).resolve().parents[1] / "collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

IN_CI = os.environ.get("CI", "").lower() == "true"


def _fail_if_skipped(report: pytest.CollectReport | pytest.TestReport) -> None:
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may be skipped: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    _fail_if_skipped(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> object:
    outcome = yield
    _fail_if_skipped(outcome.get_result())
