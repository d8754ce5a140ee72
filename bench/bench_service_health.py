# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: waiting on many endpoints concurrently vs. one after another.

Starts N local HTTP endpoints on 127.0.0.1 that answer 503 until a staggered delay
has passed and 200 after it. Each scenario then waits for all of them twice with the
same module_utils function, ``wait_for_services``:

* concurrent: one call with all checks, as the ``service_health`` module does;
* sequential: one call per check, one after another, as one task per service does.

Scenarios (the endpoints' readiness clock is what differs):

* ``together``: every endpoint starts its delay when the scenario starts, like
  containers that were all started before the wait.
* ``on-first-probe``: an endpoint starts its delay when it is first probed, like
  deploying a service and waiting for it before deploying the next.
* ``never``: no endpoint ever becomes ready; every wait runs into its timeout.

Every number printed is measured in this run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
# collections/ansible_collections/data2ai/grafana_stack is a symlink to the repo root.
if str(REPO_ROOT / "collections") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "collections"))
health = importlib.import_module("ansible_collections.data2ai.grafana_stack.plugins.module_utils.health")

NEVER = float("inf")
SCENARIOS = ("together", "on-first-probe", "never")
SCENARIO_TITLES = {
    "together": "all started together, all come up",
    "on-first-probe": "each starts when its wait begins",
    "never": "none comes up (every wait times out)",
}


class StaggeredEndpoints:
    """HTTP endpoints /svc<i> on 127.0.0.1 that answer 503 until their delay has passed."""

    def __init__(self, delays: list[float]) -> None:
        self.delays = delays
        self.started_at: list[float | None] = [None] * len(delays)
        self.lock = threading.Lock()
        endpoints = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                ready = endpoints.is_ready(int(self.path.rsplit("svc", 1)[1]))
                payload = b"ready" if ready else b"starting"
                self.send_response(200 if ready else 503)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, index: int) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/svc{index}"

    def reset(self, clock_starts_now: bool) -> None:
        """Restart every endpoint: its delay runs from now, or from its first probe."""
        with self.lock:
            now = time.monotonic()
            self.started_at = [now if clock_starts_now else None] * len(self.delays)

    def is_ready(self, index: int) -> bool:
        with self.lock:
            now = time.monotonic()
            if self.started_at[index] is None:
                self.started_at[index] = now
            return now - self.started_at[index] >= self.delays[index]

    def __enter__(self) -> StaggeredEndpoints:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Timing:
    scenario: str
    concurrent: list[float]
    sequential: list[float]

    @property
    def concurrent_median(self) -> float:
        return statistics.median(self.concurrent)

    @property
    def sequential_median(self) -> float:
        return statistics.median(self.sequential)

    @property
    def ratio(self) -> float:
        return self.sequential_median / self.concurrent_median


def staggered_delays(count: int, low: float, high: float) -> list[float]:
    if count == 1:
        return [high]
    step = (high - low) / (count - 1)
    return [round(low + index * step, 3) for index in range(count)]


def timed(action: Callable[[], list[str]], expect_unhealthy: int) -> float:
    started = time.perf_counter()
    unhealthy = action()
    took = time.perf_counter() - started
    if len(unhealthy) != expect_unhealthy:
        raise SystemExit(f"benchmark invalid: expected {expect_unhealthy} unhealthy, got {unhealthy}")
    return took


def warm_up(endpoints: StaggeredEndpoints) -> None:
    """Pay one-time costs (imports, the shared TLS context) before anything is timed."""
    check = health.build_checks([{"name": "warm-up", "url": endpoints.url(0), "status": [200, 503]}])[0]
    health.probe_once(check, 2.0)


def run_scenario(scenario: str, endpoints: StaggeredEndpoints, args: argparse.Namespace) -> Timing:
    count = len(endpoints.delays)
    checks = health.build_checks([{"name": f"svc{index}", "url": endpoints.url(index)} for index in range(count)])
    timeout = args.never_timeout if scenario == "never" else args.timeout
    settings = {"timeout": timeout, "interval": args.interval, "request_timeout": args.request_timeout}
    expect_unhealthy = count if scenario == "never" else 0
    clock_starts_now = scenario != "on-first-probe"

    def concurrent() -> list[str]:
        return health.wait_for_services(checks, **settings).unhealthy

    def sequential() -> list[str]:
        unhealthy: list[str] = []
        for check in checks:
            unhealthy.extend(health.wait_for_services([check], **settings).unhealthy)
        return unhealthy

    timing = Timing(scenario=scenario, concurrent=[], sequential=[])
    original_delays = list(endpoints.delays)
    if scenario == "never":
        endpoints.delays[:] = [NEVER] * count
    try:
        for _attempt in range(args.repeat):
            endpoints.reset(clock_starts_now)
            timing.concurrent.append(timed(concurrent, expect_unhealthy))
            endpoints.reset(clock_starts_now)
            timing.sequential.append(timed(sequential, expect_unhealthy))
    finally:
        endpoints.delays[:] = original_delays
    return timing


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoints", type=int, default=10, help="number of endpoints (default 10)")
    parser.add_argument("--min-delay", type=float, default=0.2, help="delay of the fastest endpoint, s")
    parser.add_argument("--max-delay", type=float, default=1.0, help="delay of the slowest endpoint, s")
    parser.add_argument("--interval", type=float, default=0.05, help="poll interval, s (default 0.05)")
    parser.add_argument("--request-timeout", type=float, default=2.0, help="per-request timeout, s")
    parser.add_argument("--timeout", type=float, default=30.0, help="overall timeout when services come up, s")
    parser.add_argument("--never-timeout", type=float, default=0.5, help="timeout in the 'never' scenario, s")
    parser.add_argument("--repeat", type=int, default=1, help="runs per mode; the median is reported")
    parser.add_argument("--scenario", choices=SCENARIOS, action="append", help="run only these (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if args.endpoints < 1 or args.repeat < 1:
        parser.error("--endpoints and --repeat must be at least 1")
    if not 0 <= args.min_delay <= args.max_delay:
        parser.error("need 0 <= --min-delay <= --max-delay")
    return args


def report(timings: list[Timing], args: argparse.Namespace, delays: list[float]) -> str:
    header = (
        f"service_health benchmark: {args.endpoints} endpoints on 127.0.0.1, ready after "
        f"{delays[0]:.2f}-{delays[-1]:.2f} s (staggered), poll interval {args.interval:g} s, "
        f"'never' timeout {args.never_timeout:g} s, median of {args.repeat} run(s)"
    )
    lines = [header, "", f"{'scenario':<40} {'concurrent':>11} {'sequential':>11} {'seq/conc':>9}"]
    for timing in timings:
        lines.append(
            f"{SCENARIO_TITLES[timing.scenario]:<40} {timing.concurrent_median:>10.3f}s "
            f"{timing.sequential_median:>10.3f}s {timing.ratio:>8.2f}x"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    delays = staggered_delays(args.endpoints, args.min_delay, args.max_delay)
    with StaggeredEndpoints(delays) as endpoints:
        warm_up(endpoints)
        timings = [run_scenario(scenario, endpoints, args) for scenario in (args.scenario or SCENARIOS)]
    if args.json:
        results: dict[str, Any] = {
            "endpoints": args.endpoints,
            "delays": delays,
            "interval": args.interval,
            "never_timeout": args.never_timeout,
            "repeat": args.repeat,
            "scenarios": {
                timing.scenario: {
                    "concurrent_s": timing.concurrent,
                    "sequential_s": timing.sequential,
                    "ratio": timing.ratio,
                }
                for timing in timings
            },
        }
        print(json.dumps(results, indent=2))
    else:
        print(report(timings, args, delays))
    return 0


if __name__ == "__main__":
    sys.exit(main())
