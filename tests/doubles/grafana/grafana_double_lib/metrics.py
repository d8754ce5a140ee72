"""Request counters for /metrics, named like Grafana's own series."""

from __future__ import annotations

import threading
import time
from collections import defaultdict


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.time()
        self._count: dict[tuple[str, str, str], int] = defaultdict(int)
        self._seconds: dict[tuple[str, str, str], float] = defaultdict(float)
        self._status_total: dict[str, int] = defaultdict(int)

    def observe(self, handler: str, method: str, status: int, seconds: float) -> None:
        key = (handler, method, str(status))
        with self._lock:
            self._count[key] += 1
            self._seconds[key] += seconds
            self._status_total[str(status)] += 1

    def render(self, version: str, commit: str, gauges: dict[str, int]) -> str:
        lines = [
            "# HELP grafana_build_info A metric with a constant '1' value labeled by version, "
            "revision, branch, and goversion from which Grafana was built",
            "# TYPE grafana_build_info gauge",
            f'grafana_build_info{{branch="double",edition="oss",goversion="none",'
            f'revision="{commit}",version="{version}"}} 1',
            "# HELP grafana_double_info Marks this endpoint as served by the Grafana TEST DOUBLE",
            "# TYPE grafana_double_info gauge",
            "grafana_double_info 1",
            "# HELP process_start_time_seconds Start time of the process since unix epoch.",
            "# TYPE process_start_time_seconds gauge",
            f"process_start_time_seconds {self.started:.3f}",
        ]
        for name, value in sorted(gauges.items()):
            lines += [f"# TYPE {name} gauge", f"{name} {value}"]
        with self._lock:
            lines += [
                "# HELP grafana_http_request_duration_seconds Histogram of latencies for HTTP requests.",
                "# TYPE grafana_http_request_duration_seconds summary",
            ]
            for (handler, method, status), count in sorted(self._count.items()):
                labels = f'handler="{handler}",method="{method}",status_code="{status}"'
                lines.append(f"grafana_http_request_duration_seconds_count{{{labels}}} {count}")
                lines.append(
                    f"grafana_http_request_duration_seconds_sum{{{labels}}} "
                    f"{self._seconds[(handler, method, status)]:.6f}"
                )
            lines += [
                "# HELP grafana_api_response_status_total api http response status",
                "# TYPE grafana_api_response_status_total counter",
            ]
            for code, count in sorted(self._status_total.items()):
                lines.append(f'grafana_api_response_status_total{{code="{code}"}} {count}')
        return "\n".join(lines) + "\n"
