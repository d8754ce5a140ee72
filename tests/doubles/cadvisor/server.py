"""The cAdvisor TEST DOUBLE process (``/usr/bin/cadvisor -logtostderr -port=8080 ...``).

Serves /healthz ("ok"), /metrics (container_* from the Docker API), and a plain
/containers/ page. Refuses a flag cAdvisor does not define (Go's flag package: message and exit 2); accepts and
ignores the defined flags it does not implement.
"""

from __future__ import annotations

import html
import sys
from pathlib import Path
from typing import Any

from common import DOUBLE_NOTICE
from common.config import parse_duration, parse_go_flags
from common.httpserver import Request, Response, Router, request_counter_for, start_server, wait_for_signal
from common.logs import Log, banner
from common.metrics import CONTENT_TYPE, Registry, process_families
from common.strict import FLAG_EXIT_CODE, load_upstream, refuse_unknown_flags

from cadvisor.collector import UPSTREAM_VERSION, VERSION, Collector

BOOL_FLAGS = ("logtostderr", "docker_only", "alsologtostderr", "store_container_labels", "profiling",
              "disable_root_cgroup_stats", "allow_dynamic_housekeeping", "enable_load_reader", "version")


def router(registry: Registry, collector: Collector, metrics_path: str) -> Router:
    r = Router()
    r.add("GET", "/healthz", lambda _r: Response.text("ok"))
    r.add("GET", metrics_path, lambda _r: Response(200, registry.render(), CONTENT_TYPE))
    r.add("GET", "/", lambda _r: Response(307, "", headers={"Location": "/containers/"}))

    def containers(_req: Request) -> Response:
        rows = "".join(f"<li>{html.escape(c['name'])} <code>{html.escape(c['id'])}</code> "
                       f"{html.escape(c['image'])}</li>" for c in collector.summaries())
        page = f"<html><body><h1>cAdvisor {html.escape(DOUBLE_NOTICE)}</h1><ul>{rows}</ul></body></html>"
        return Response(200, page, "text/html; charset=utf-8")

    r.add("GET", "/containers/?", containers)
    return r


def main(argv: list[str]) -> int:
    flags = parse_go_flags(argv, BOOL_FLAGS)
    refused = refuse_unknown_flags(flags, load_upstream(Path(__file__).resolve().parent, UPSTREAM_VERSION))
    if refused:
        print(f"{refused}\nUsage of /usr/bin/cadvisor:", file=sys.stderr)
        return FLAG_EXIT_CODE
    log = Log("cadvisor", "debug" if flags.get("v", "0") not in ("0", "") else "info")
    if flags.get("version") == "true":
        print(f"cAdvisor version {VERSION} ({DOUBLE_NOTICE})")
        return 0
    banner(log, "Google cAdvisor", VERSION)
    ignored = sorted(set(flags) - {"port", "listen_ip", "docker", "housekeeping_interval", "prometheus_endpoint",
                                   "store_container_labels", "v"})
    if ignored:
        log.info("flags accepted and ignored by the test double", flags=",".join(ignored))
    store_labels = flags.get("store_container_labels", "true").lower() != "false"
    collector = Collector(flags.get("docker", "unix:///var/run/docker.sock"), log,
                          max(0.5, parse_duration(flags.get("housekeeping_interval", "1s"))), store_labels)
    registry = Registry()
    registry.collector(collector.families)
    registry.collector(process_families)
    requests = request_counter_for(registry, "cadvisor")
    host, port = flags.get("listen_ip", "") or "0.0.0.0", int(flags.get("port", "8080"))
    servers: list[Any] = []
    try:
        routes = router(registry, collector, flags.get("prometheus_endpoint", "/metrics"))
        servers.append(start_server(host, port, routes, log, "cadvisor", requests))
    except OSError as exc:
        log.error("Failed to start cAdvisor", err=f"listen tcp {host}:{port}: {exc.strerror}")
        return 1
    collector.families()  # first housekeeping: logs whether the Docker API is there
    log.info("Starting cAdvisor version", version=VERSION, port=servers[0].server_port)

    def stop() -> None:
        for server in servers:
            server.shutdown()

    wait_for_signal(log, stop)
    return 0
