# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the Grafana API modules, run through ansible-playbook against the Grafana TEST DOUBLE.

The double (tests/doubles/grafana/grafana_double.py) is started once per session and Grafana version on an
ephemeral 127.0.0.1 port. Before each test its state is reset; after each test the spec violations it
recorded are fetched, and any violation fails the test.

The dashboard, folder and lifecycle tests run against the double as Grafana 12 (legacy /api) and as Grafana 13
(/apis for dashboards and folders, no datasource routes by numeric id); the others, which use no API that changed,
as Grafana 12 only, to keep the run short. Of the lifecycle cases, only the modules whose API changed in 13 run as
13 too (the others are deselected there).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from grafana_harness import Ansible, GrafanaDouble, running_grafana_doubles

GRAFANA_12, GRAFANA_13 = "12.3.0", "13.0.1"
#: test modules run against both versions; in test_grafana_folders_and_members only the folder tests
BOTH_VERSIONS = ("test_grafana_dashboard_module", "test_grafana_module_lifecycle")


#: the lifecycle cases that also run as Grafana 13: the modules whose API changed in 13
LIFECYCLE_AS_13 = frozenset({"grafana_dashboard", "grafana_folder", "grafana_datasource"})


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "grafana_version" not in metafunc.fixturenames:
        return
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    both = module in BOTH_VERSIONS or (
        module == "test_grafana_folders_and_members" and "folder" in metafunc.function.__name__
    )
    metafunc.parametrize("grafana_version", [GRAFANA_12, GRAFANA_13] if both else [GRAFANA_12], scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselects the lifecycle cases of modules that Grafana 13 did not change, in 13 mode."""
    dropped = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        case = params.get("case")
        if params.get("grafana_version") == GRAFANA_13 and case is not None and case.module not in LIFECYCLE_AS_13:
            dropped.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


@pytest.fixture(scope="session")
def grafana_double(tmp_path_factory: pytest.TempPathFactory, grafana_version: str) -> Iterator[GrafanaDouble]:
    """One Grafana TEST DOUBLE per Grafana version for the session, on a free 127.0.0.1 port."""
    workdir = tmp_path_factory.mktemp(f"grafana-double-{grafana_version}")
    with running_grafana_doubles(workdir, options=("--grafana-version", grafana_version)) as (double,):
        yield double


@pytest.fixture(autouse=True)
def grafana(grafana_double: GrafanaDouble) -> Iterator[GrafanaDouble]:
    """The double, reset before the test; any spec violation recorded during the test fails it."""
    grafana_double.reset()
    yield grafana_double
    grafana_double.assert_no_violations()


@pytest.fixture
def ansible(grafana: GrafanaDouble, tmp_path: Path) -> Ansible:
    return Ansible(grafana, tmp_path)
