"""The Promtail TEST DOUBLE process (``/usr/bin/promtail -config.file=/etc/promtail/config.yml``).

Wires positions, Loki clients and targets, and serves /ready and /metrics on
server.http_listen_port. See tests/doubles/README.md for what it does not do.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from common import DOUBLE_NOTICE
from common.config import ConfigError, dig, flag_true, parse_duration, parse_go_flags
from common.httpserver import Request, Response, Router, request_counter_for, start_server, wait_for_signal
from common.logs import Log, banner
from common.logtargets import DockerTargets, Entry, FileTargets, TargetLoop, TargetMetrics
from common.lokiclient import ClientMetrics, LokiClient
from common.metrics import CONTENT_TYPE, Registry, process_families
from common.positions import Positions
from common.strict import load_strict_yaml_config, load_upstream

# The Promtail version the double mimics; its config keys are in upstream/<UPSTREAM_VERSION>.json.
UPSTREAM_VERSION = "3.6.11"
VERSION = f"{UPSTREAM_VERSION}-double"


def validate(config: dict[str, Any]) -> None:
    clients = config.get("clients") or ([config["client"]] if config.get("client") else [])
    if not clients:
        raise ConfigError("at least one client config must be provided")
    for client in clients:
        if not isinstance(client, dict) or not client.get("url"):
            raise ConfigError("client needs a url")
    for job in config.get("scrape_configs") or []:
        if not job.get("job_name"):
            raise ConfigError("scrape config is missing job_name")
        unsupported = set(job) & {"journal", "syslog", "gcplog", "windows_events", "kafka", "gelf", "cloudflare",
                                  "heroku_drain", "loki_push_api", "kubernetes_sd_configs", "consul_sd_configs",
                                  "file_sd_configs", "consulagent_sd_configs", "azure_event_hubs"}
        if unsupported:
            raise ConfigError(f"scrape config {job['job_name']}: {sorted(unsupported)} not supported by the "
                              "Promtail test double (only static_configs with __path__ and docker_sd_configs)")
    parse_duration(dig(config, "positions.sync_period", "10s"))


class PromtailDouble:
    def __init__(self, config: dict[str, Any], log: Log) -> None:
        self.config, self.log = config, log
        self.registry = Registry()
        self.registry.build_info("promtail_build_info", VERSION)
        self.requests = request_counter_for(self.registry, "promtail")
        self.registry.collector(process_families)
        self.positions = Positions(str(dig(config, "positions.filename", "/var/log/positions.yaml")))
        self.positions.load(bool(dig(config, "positions.ignore_invalid_yaml", False)))
        client_metrics = ClientMetrics(self.registry)
        client_confs = config.get("clients") or [config["client"]]
        self.clients = [LokiClient(c, client_metrics, log) for c in client_confs]
        self.target_metrics = TargetMetrics(self.registry)
        groups: list[Any] = []
        sync = parse_duration(dig(config, "target_config.sync_period", "10s"))
        for job in config.get("scrape_configs") or []:
            if job.get("static_configs"):
                groups.append(FileTargets(job, self.positions, self.sink, self.target_metrics, log, sync))
            for sd in job.get("docker_sd_configs") or []:
                groups.append(DockerTargets(job, sd, self.positions, self.sink, self.target_metrics, log))
        self.targets = TargetLoop(groups, self.target_metrics, log)
        self._stop = threading.Event()

    def sink(self, entry: Entry) -> None:
        for client in self.clients:
            client.handle(entry)

    def router(self) -> Router:
        r = Router()
        r.add("GET", "/ready", self.ready)
        r.add("GET", "/metrics", lambda _r: Response(200, self.registry.render(), CONTENT_TYPE))
        r.add("GET", "/targets", self.targets_page)
        return r

    def ready(self, _req: Request) -> Response:
        if self.targets.active() > 0:
            return Response.text("Ready")
        return Response.text("Not ready\n", 500)

    def targets_page(self, _req: Request) -> Response:
        lines = [f"Promtail {DOUBLE_NOTICE}: active targets"]
        for group in self.targets.groups:
            if isinstance(group, FileTargets):
                lines += [f"file {path} offset={state.offset} {state.labels}" for path, state in group.files.items()]
            else:
                lines += [f"docker {c.name} last_ts={c.last_ts}" for c in group.containers.values()]
        return Response.text("\n".join(lines) + "\n")

    def sync_positions_loop(self) -> None:
        period = max(0.1, parse_duration(dig(self.config, "positions.sync_period", "10s")))
        while not self._stop.wait(period):
            self._save_positions()

    def _save_positions(self) -> None:
        try:
            self.positions.save()
        except OSError as exc:
            self.log.error("error writing positions file", err=str(exc))

    def start(self) -> None:
        for client in self.clients:
            client.start()
        self.targets.start()
        threading.Thread(target=self.sync_positions_loop, name="positions", daemon=True).start()

    def stop(self) -> None:
        """Stop reading, flush the clients, then persist positions (as Promtail does on SIGTERM)."""
        self._stop.set()
        self.targets.stop()
        for client in self.clients:
            client.stop()
        self._save_positions()


def main(argv: list[str]) -> int:
    flags = parse_go_flags(argv, ("config.expand-env", "check-syntax", "dry-run", "version", "print-config-stderr"))
    log = Log("promtail", flags.get("log.level", "info"))
    if flag_true(flags, "version"):
        print(f"promtail, version {VERSION} ({DOUBLE_NOTICE})")
        return 0
    banner(log, "Grafana Promtail", VERSION)
    try:
        upstream = load_upstream(Path(__file__).resolve().parent, UPSTREAM_VERSION)
        config = load_strict_yaml_config(flags.get("config.file", "/etc/promtail/config.yml"),
                                         flag_true(flags, "config.expand-env"), upstream)
        validate(config)
        if flag_true(flags, "check-syntax"):
            print("Valid config file! No syntax issues found")
            return 0
        double = PromtailDouble(config, log)
    except (ConfigError, ValueError, KeyError) as exc:
        log.error("error creating promtail", err=str(exc))
        return 1
    server = None
    if not dig(config, "server.disable", False):
        host = str(dig(config, "server.http_listen_address", "") or "0.0.0.0")
        port = int(dig(config, "server.http_listen_port", 80))
        try:
            server = start_server(host, port, double.router(), log, "promtail", double.requests)
        except OSError as exc:
            log.error("error creating promtail", err=f"listen tcp {host}:{port}: {exc.strerror}")
            return 1
    double.start()
    log.info("Starting Promtail", version=VERSION)

    def stop() -> None:
        double.stop()
        if server is not None:
            server.shutdown()

    wait_for_signal(log, stop)
    return 0
