# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The metrics flow of ``stack_flow_check``: Node Exporter and cAdvisor series are in Prometheus, then the same
queries answer through Grafana's datasource proxy. Only reads."""

from __future__ import annotations

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.flow_common import (
    Answer,
    FlowResult,
    FlowRun,
    FlowSettings,
    Http,
    Probe,
    also_grafana,
    brief,
    grafana_http,
    grafana_proxy,
    grafana_via,
    query_result,
)


def series_count(answer: Answer) -> tuple[int | None, str]:
    """The value of a count(...) instant query, or None and why not."""
    result, why = query_result(answer, "Prometheus")
    if result is None:
        return None, why
    if not result:
        return 0, "no series"
    try:
        return int(float(result[0]["value"][1])), ""
    except (KeyError, IndexError, TypeError, ValueError):
        return None, f"unexpected query result: {brief(answer.body)}"


def count_probe(http: Http, query_url: str, series: str, where: str, counts: dict[str, int]) -> Probe:
    def probe() -> tuple[bool, str]:
        count, problem = series_count(http.call("GET", query_url, {"query": f"count({series})"}))
        if count:
            counts[series] = count
            return True, f"{series}: {count} series {where}"
        return False, f"{series} not {where}: {problem or 'no series'}"

    return probe


def check_metrics(settings: FlowSettings) -> FlowResult:
    run = FlowRun(settings)
    counts: dict[str, int] = {}
    prometheus = Http(settings.request_timeout)
    grafana = grafana_http(settings)
    try:
        query_url = f"{settings.prometheus_url.rstrip('/')}/api/v1/query"
        for series in settings.metrics_series:
            probe = count_probe(prometheus, query_url, series, "in Prometheus", counts)
            run.step(f"prometheus {series}", lambda probe=probe: run.until(probe))
        if settings.grafana_datasource_uid:
            proxied = grafana_proxy(settings, "api/v1/query")
            for series in settings.metrics_series:
                probe = count_probe(grafana, proxied, series, grafana_via(settings), {})
                run.step(f"grafana {series}", lambda probe=probe: run.until(probe))
    finally:
        prometheus.close()
        grafana.close()
    found = ", ".join(f"{series} {count}" for series, count in counts.items())
    run.summary = f"series in Prometheus: {found}{also_grafana(settings)}"
    return run.result()
