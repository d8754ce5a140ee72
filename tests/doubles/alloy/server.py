"""The Alloy TEST DOUBLE's command line: ``alloy run|validate|fmt [flags] <path>``, like grafana/alloy's CLI
(docs/sources/reference/cli/run.md, validate.md and fmt.md at v1.18.1).

``run`` serves ``--server.http.listen-addr`` (default ``127.0.0.1:12345``) with ``/-/ready``, ``/-/healthy``,
``/-/reload`` (GET or POST: re-reads the file; a bad one gets 400 with the error and the running components stay)
and ``/metrics``, as ``internal/service/http/http.go`` does. See tests/doubles/README.md for what it does not do.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from common import DOUBLE_NOTICE
from common.config import ConfigError
from common.httpserver import Request, Response, Router, request_counter_for, start_server, wait_for_signal
from common.logs import Log, banner
from common.logtargets import TargetMetrics
from common.lokiclient import ClientMetrics
from common.metrics import CONTENT_TYPE, Registry, process_families

from alloy.check import Reference, load_and_check
from alloy.pipeline import Builder, Pipeline

# The Alloy release the double mimics; its components and arguments are in upstream/<UPSTREAM_VERSION>.json.
UPSTREAM_VERSION = "1.18.1"
VERSION = f"v{UPSTREAM_VERSION}-double"
# Flags of the subcommands (the bullet lists of run.md, validate.md and fmt.md). Any other flag is refused, as cobra
# refuses it.
RUN_FLAGS = {"server.http.enable-pprof", "server.http.memory-addr", "server.http.listen-addr",
             "server.http.ui-path-prefix", "disable-support-bundle", "storage.path", "disable-reporting",
             "cluster.enabled", "cluster.node-name", "cluster.join-addresses", "cluster.discover-peers",
             "cluster.rejoin-interval", "cluster.advertise-address", "cluster.advertise-interfaces",
             "cluster.max-join-peers", "cluster.name", "cluster.enable-tls", "cluster.tls-ca-path",
             "cluster.tls-cert-path", "cluster.tls-key-path", "cluster.tls-server-name", "cluster.wait-for-size",
             "cluster.wait-timeout", "config.format", "config.bypass-conversion-errors", "config.extra-args",
             "stability.level", "feature.community-components.enabled", "feature.component-shutdown-deadline",
             "feature.prometheus.direct-fanout.enabled", "server.http.enable-graphql",
             "server.http.enable-graphql-playground", "windows.priority",
             "feature.prometheus.metric-validation-scheme"}
VALIDATE_FLAGS = {"config.format", "config.bypass-conversion-errors", "config.extra-args", "stability.level",
                  "feature.community-components.enabled"}
FMT_FLAGS = {"write", "w", "test", "t"}
BOOL_FLAGS = {"disable-reporting", "server.http.enable-pprof", "feature.community-components.enabled",
              "cluster.enabled", "config.bypass-conversion-errors", "write", "w", "test", "t",
              "disable-support-bundle", "cluster.enable-tls",
              "feature.prometheus.direct-fanout.enabled", "server.http.enable-graphql",
              "server.http.enable-graphql-playground"}


def reference() -> Reference:
    return Reference.load(Path(__file__).resolve().parent, UPSTREAM_VERSION)


def parse_args(argv: list[str], known: set[str]) -> tuple[dict[str, str], list[str]]:
    """cobra/pflag style: ``--name=value``, ``--name value``, bool flags alone; positional arguments."""
    flags: dict[str, str] = {}
    positional: list[str] = []
    items = list(argv)
    while items:
        item = items.pop(0)
        if item.startswith("-") and item != "-":
            name, eq, value = item.lstrip("-").partition("=")
            if name not in known:
                raise ConfigError(f"unknown flag: {item.split('=')[0]}")
            if not eq:
                value = "true" if name in BOOL_FLAGS else (items.pop(0) if items else "")
            flags[name] = value
        else:
            positional.append(item)
    return flags, positional


class AlloyDouble:
    def __init__(self, path: str, storage: str, log: Log) -> None:
        self.path, self.storage, self.log = path, storage, log
        self.ref = reference()
        self.registry = Registry()
        self.registry.build_info("alloy_build_info", VERSION)
        self.requests = request_counter_for(self.registry, "alloy")
        self.registry.collector(process_families)
        self.client_metrics = ClientMetrics(self.registry, prefix="loki_write")
        self.target_metrics = TargetMetrics(self.registry, file_prefix="loki_source_file",
                                            docker_prefix="loki_source_docker",
                                            targets_gauge="alloy_double_targets_active")
        self.last_load = self.registry.gauge("alloy_config_last_load_successful",
                                             "Config loaded successfully.")
        self.load_failures = self.registry.counter("alloy_config_load_failures_total",
                                                   "Configuration load failures.")
        self.load_time = self.registry.gauge("alloy_config_last_load_success_timestamp_seconds",
                                             "Timestamp of the last successful configuration load.")
        self.pipeline: Pipeline | None = None
        self.lock = threading.Lock()
        self._stop = threading.Event()

    def load(self) -> Pipeline:
        statements, problems = load_and_check(self.path, self.ref)
        if problems:
            raise ConfigError("; ".join(problems))
        return Builder(self.storage, self.client_metrics, self.target_metrics, self.log).build(statements)

    def reload(self) -> str | None:
        """Load the file again: on success swap the components, on failure keep them. Returns the error."""
        with self.lock:
            try:
                fresh = self.load()
            except (ConfigError, KeyError, ValueError, TypeError, OSError) as exc:
                self.last_load.set(0)
                self.load_failures.inc()
                return f"error during the initial load: {exc}" if self.pipeline is None else str(exc)
            old, self.pipeline = self.pipeline, fresh
            if old is not None:
                old.stop(self.log)
            fresh.start(self.target_metrics, self.log)
            self.last_load.set(1)
            self.load_time.set(time.time())
            return None

    def router(self) -> Router:
        r = Router()
        r.add("GET", "/-/ready", lambda _r: Response.text("Alloy is ready.\n"))
        r.add("GET", "/-/healthy", lambda _r: Response.text("All Alloy components are healthy.\n"))
        r.add("GET,POST", "/-/reload", self.reload_handler)
        r.add("GET", "/metrics", lambda _r: Response(200, self.registry.render(), CONTENT_TYPE))
        return r

    def reload_handler(self, _req: Request) -> Response:
        self.log.info("reload requested via /-/reload endpoint")
        error = self.reload()
        if error is not None:
            self.log.error("failed to reload config", err=error)
            return Response.text(error + "\n", 400)
        self.log.info("config reloaded")
        return Response.text("config reloaded\n")

    def save_positions_loop(self, period: float = 5.0) -> None:
        while not self._stop.wait(period):
            with self.lock:
                if self.pipeline is not None:
                    self.pipeline.save_positions(self.log)

    def stop(self) -> None:
        self._stop.set()
        with self.lock:
            if self.pipeline is not None:
                self.pipeline.stop(self.log)


def cmd_validate(argv: list[str]) -> int:
    flags, paths = parse_args(argv, VALIDATE_FLAGS)
    if flags.get("config.format", "alloy") != "alloy":
        print("Error: the Alloy test double validates the alloy format only", file=sys.stderr)
        return 1
    if len(paths) != 1:
        print("Error: accepts 1 arg(s), received " + str(len(paths)), file=sys.stderr)
        return 1
    _statements, problems = load_and_check(paths[0], reference())
    for problem in problems:
        print(f"Error: {problem}", file=sys.stderr)
    return 1 if problems else 0


def cmd_fmt(argv: list[str]) -> int:
    flags, paths = parse_args(argv, FMT_FLAGS)
    if flags:
        print("Error: --write and --test are not implemented by the Alloy test double", file=sys.stderr)
        return 1
    path = paths[0] if paths else "-"
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    from alloy.syntax import SyntaxProblem, parse

    try:
        parse(text)
    except SyntaxProblem as exc:
        print(f"Error: {path}:{exc.line}:{exc.col}: {exc.message}", file=sys.stderr)
        return 1
    # Upstream prints the file formatted; the double checks the syntax and prints it unchanged.
    sys.stdout.write(text)
    return 0


def cmd_run(argv: list[str]) -> int:
    flags, paths = parse_args(argv, RUN_FLAGS)
    log = Log("alloy", "info")
    banner(log, "Grafana Alloy", VERSION)
    if len(paths) != 1:
        log.error("accepts 1 arg(s)", received=len(paths))
        return 1
    storage = flags.get("storage.path", "data-alloy/")
    double = AlloyDouble(paths[0], storage, log)
    error = double.reload()
    if error is not None:
        log.error("failed to load the configuration", err=error)
        return 1
    host, _colon, port = flags.get("server.http.listen-addr", "127.0.0.1:12345").rpartition(":")
    try:
        server = start_server(host or "0.0.0.0", int(port), double.router(), log, "alloy", double.requests)
    except OSError as exc:
        log.error("failed to start the HTTP server", err=f"listen tcp {host}:{port}: {exc.strerror}")
        double.stop()
        return 1
    log.info("now listening for http traffic", addr=f"{host}:{port}")
    threading.Thread(target=double.save_positions_loop, name="positions", daemon=True).start()

    def stop() -> None:
        double.stop()
        server.shutdown()

    wait_for_signal(log, stop)
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(f"alloy ({DOUBLE_NOTICE})\nUsage: alloy [run|validate|fmt] [flags] <path>")
        return 0
    if argv[0] in ("--version", "-v", "version"):
        print(f"alloy, version {VERSION} ({DOUBLE_NOTICE})")
        return 0
    commands = {"run": cmd_run, "validate": cmd_validate, "fmt": cmd_fmt}
    if argv[0] not in commands:
        print(f'Error: unknown command "{argv[0]}" for "alloy" (the test double implements run, validate and fmt)',
              file=sys.stderr)
        return 1
    try:
        return commands[argv[0]](argv[1:])
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
