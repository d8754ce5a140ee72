# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The traces flow of ``stack_flow_check``: an OTLP/HTTP JSON span with a random trace id goes to Tempo, which
returns it by id, also through Grafana."""

from __future__ import annotations

import secrets
import time
from typing import Any

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.flow_common import (
    FlowResult,
    FlowRun,
    FlowSettings,
    Http,
    Probe,
    also_grafana,
    grafana_http,
    grafana_proxy,
    grafana_via,
)


def otlp_trace(trace_id: str, span_id: str, span_name: str) -> dict[str, Any]:
    """One server span in OTLP/HTTP JSON (ids in hex, as the JSON mapping of OTLP wants)."""
    end = time.time_ns()
    return {
        "resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "stack-flow-check"}}]},
            "scopeSpans": [{
                "scope": {"name": "data2ai.grafana_stack.stack_flow_check"},
                "spans": [{
                    "traceId": trace_id,
                    "spanId": span_id,
                    "name": span_name,
                    "kind": 2,
                    "startTimeUnixNano": str(end - 10**7),
                    "endTimeUnixNano": str(end),
                }],
            }],
        }],
    }


def trace_probe(http: Http, url: str, span_name: str, where: str) -> Probe:
    def probe() -> tuple[bool, str]:
        answer = http.call("GET", url)
        if answer.ok and span_name in answer.body:
            return True, f"trace found by id {where}"
        problem = answer.describe() if not answer.ok else "answer without the span"
        return False, f"trace not found by id {where}: {problem}"

    return probe


def check_traces(settings: FlowSettings) -> FlowResult:
    run = FlowRun(settings)
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    span_name = settings.marker
    run.evidence["trace_id"] = trace_id
    http = Http(settings.request_timeout)
    grafana = grafana_http(settings)
    otlp_url = f"{settings.tempo_otlp_http_url.rstrip('/')}/v1/traces"

    def send() -> tuple[bool, str]:
        answer = http.call("POST", otlp_url, body=otlp_trace(trace_id, span_id, span_name))
        if answer.ok:
            return True, f"span of trace {trace_id} accepted on {otlp_url}"
        return False, f"OTLP/HTTP {otlp_url} refused the span: {answer.describe()}"

    try:
        if run.step("send", send):
            probe = trace_probe(http, f"{settings.tempo_url.rstrip('/')}/api/traces/{trace_id}", span_name,
                                "in Tempo")
            run.step("tempo", lambda: run.until(probe))
        if settings.grafana_datasource_uid:
            probe = trace_probe(grafana, grafana_proxy(settings, f"api/traces/{trace_id}"), span_name,
                                grafana_via(settings))
            run.step("grafana", lambda: run.until(probe))
    finally:
        http.close()
        grafana.close()
    run.summary = f"trace {trace_id} sent over OTLP/HTTP, found by id in Tempo{also_grafana(settings)}"
    return run.result()
