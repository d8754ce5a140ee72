# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""End-to-end checks of the stack's four data flows, for the ``stack_flow_check`` module.

Each check puts its own uniquely marked test data in at one end of a flow and polls the other end until
the data shows up or the flow's deadline passes. One file a flow:

- ``flow_metrics``: Node Exporter and cAdvisor series in Prometheus, then the same queries through Grafana's
  datasource proxy (only reads);
- ``flow_logs``: a short-lived container echoes a marker, Promtail ships it, a LogQL query_range on Loki finds
  it, then the same query through Grafana;
- ``flow_traces``: an OTLP/HTTP JSON span with a random trace id goes to Tempo, which returns it by id, also
  through Grafana;
- ``flow_alerts``: an alert fired by a Prometheus rule is active in Alertmanager, and a test alert posted to
  Alertmanager reaches a webhook sink run here (``flow_webhook_sink``), first firing, then resolved.

``flow_common`` holds the settings, the steps of a run and the HTTP calls (on ``http_transport``). Plain Python,
so it is unit-tested without running a module.
"""

from __future__ import annotations

from typing import Callable

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.flow_alerts import check_alerts
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.flow_common import (  # noqa: F401  # pylint: disable=unused-import
    DEFAULT_METRICS_SERIES,
    FlowResult,
    FlowSettings,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.flow_logs import check_logs
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.flow_metrics import check_metrics
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.flow_traces import check_traces

FLOWS = ("metrics", "logs", "traces", "alerts")
# Flows that put test data into the stack; check mode skips them. The metrics flow only reads.
FLOWS_SENDING_DATA = ("logs", "traces", "alerts")

CHECKS: dict[str, Callable[[FlowSettings], FlowResult]] = {
    "metrics": check_metrics,
    "logs": check_logs,
    "traces": check_traces,
    "alerts": check_alerts,
}


def check_flow(settings: FlowSettings) -> FlowResult:
    """Run the check of ``settings.flow``."""
    return CHECKS[settings.flow](settings)
