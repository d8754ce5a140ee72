# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the Grafana API modules, run through ansible-playbook against the Grafana TEST DOUBLE.

The double (tests/doubles/grafana/grafana_double.py) is started once per session on an ephemeral
127.0.0.1 port. Before each test its state is reset; after each test the spec violations it
recorded are fetched, and any violation fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from grafana_harness import Ansible, GrafanaDouble, running_grafana_doubles


@pytest.fixture(scope="session")
def grafana_double(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GrafanaDouble]:
    """One Grafana TEST DOUBLE for the session, on a free 127.0.0.1 port."""
    with running_grafana_doubles(tmp_path_factory.mktemp("grafana-double")) as (double,):
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
