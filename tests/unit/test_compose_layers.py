# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/compose_from_inspect.py: the layers site.yml waits for become compose's depends_on."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from compose_from_inspect import layer_dependencies  # pylint: disable=wrong-import-position


def test_each_service_depends_on_every_service_of_the_layers_before_its_own() -> None:
    layers = [["postgresql", "redis"], ["prometheus", "loki"], ["grafana"]]
    healthy = {"postgresql": True, "redis": True, "prometheus": True, "loki": False, "grafana": True}
    depends = layer_dependencies(layers, healthy)
    assert "postgresql" not in depends and "redis" not in depends  # the first layer waits for nothing
    assert depends["prometheus"] == depends["loki"] == {
        "postgresql": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"}}
    # A service without a healthcheck can only be waited for as started (loki has none here).
    assert depends["grafana"] == {"postgresql": {"condition": "service_healthy"},
                                  "redis": {"condition": "service_healthy"},
                                  "prometheus": {"condition": "service_healthy"},
                                  "loki": {"condition": "service_started"}}
