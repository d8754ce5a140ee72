"""HTTP API and receivers of the Tempo TEST DOUBLE (``/tempo -config.file=/etc/tempo.yaml``).

Speaks: the Tempo HTTP API subset on server.http_listen_port, OTLP/HTTP with JSON
bodies, and Zipkin v2 JSON. Does NOT speak gRPC (OTLP gRPC, Jaeger gRPC) nor Jaeger
thrift: those ports are opened as plain listeners that refuse the protocol, and say so.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from common import DOUBLE_NOTICE
from common.config import (
    ConfigError,
    dig,
    flag_true,
    format_duration,
    parse_duration,
    parse_go_flags,
    split_endpoint,
)
from common.httpserver import HTTPError, Request, Response, Router, request_counter_for, start_server, wait_for_signal
from common.logs import Log, banner
from common.metrics import CONTENT_TYPE, Family, Registry, process_families
from common.readiness import Readiness
from common.strict import Upstream, load_strict_yaml_config, load_upstream

from tempo import otlp, search
from tempo.store import TraceStore

# The Tempo version the double mimics: its config key set (upstream/<version>.json) and its config format.
# The image sets it (Dockerfile ARG TEMPO_VERSION); the default is the version the tempo role pins.
VERSION_ENV = "DOUBLE_TEMPO_VERSION"
DEFAULT_UPSTREAM_VERSION = "3.0.3"
VALID_RECEIVERS = ["zipkin", "otlp", "kafka", "jaeger"]
# (receiver, protocol) -> (default endpoint, transport the double offers)
RECEIVER_DEFAULTS: dict[tuple[str, str], tuple[str, str]] = {
    ("otlp", "http"): ("localhost:4318", "otlp-http"),
    ("otlp", "grpc"): ("localhost:4317", "tcp-refuse"),
    ("jaeger", "grpc"): ("localhost:14250", "tcp-refuse"),
    ("jaeger", "thrift_http"): ("localhost:14268", "thrift-http"),
    ("jaeger", "thrift_compact"): ("localhost:6831", "udp-discard"),
    ("jaeger", "thrift_binary"): ("localhost:6832", "udp-discard"),
    ("zipkin", ""): ("localhost:9411", "zipkin"),
}
INTRINSICS = ["duration", "event:name", "kind", "name", "rootName", "rootServiceName", "span:duration",
              "span:kind", "span:name", "span:status", "span:statusMessage", "status", "statusMessage",
              "trace:duration", "trace:rootName", "trace:rootService"]


def upstream_version() -> str:
    return os.environ.get(VERSION_ENV, "") or DEFAULT_UPSTREAM_VERSION


def major(version: str) -> int:
    return int(version.split(".", 1)[0])


def retention_key(version: str) -> str:
    """Where block retention lives: the backend worker in 3.x, the compactor in 2.x."""
    return "backend_worker.compaction" if major(version) >= 3 else "compactor.compaction"


def validate(config: dict[str, Any], version: str = DEFAULT_UPSTREAM_VERSION) -> None:
    receivers = dig(config, "distributor.receivers", {}) or {}
    if not isinstance(receivers, dict):
        raise ConfigError("failed to create distributor: distributor.receivers must be a mapping")
    for name in receivers:
        if name not in VALID_RECEIVERS:
            raise ConfigError(
                "failed to init module services: error initialising module: distributor: failed to create "
                f"distributor: cannot unmarshal the configuration: 'receivers' unknown type: \"{name}\" for id: "
                f"\"{name}\" (valid values: [{' '.join(VALID_RECEIVERS)}])"
            )
    backend = dig(config, "storage.trace.backend", "")
    if backend and backend != "local":
        raise ConfigError(f"storage.trace.backend {backend!r}: the Tempo test double only implements 'local'")
    if not dig(config, "storage.trace.local.path"):
        raise ConfigError("failed to init module services: error initialising module: store: "
                          "storage.trace.local.path is required for the local backend")
    parse_duration(dig(config, f"{retention_key(version)}.block_retention", "336h"))


def receiver_endpoints(config: dict[str, Any]) -> list[tuple[str, str, int, bool, str]]:
    """[(receiver/protocol, host, port, host_explicit, transport)] for the configured receivers."""
    out = []
    receivers = dig(config, "distributor.receivers", {}) or {}
    for name, body in receivers.items():
        body = body or {}
        if name == "zipkin":
            default, transport = RECEIVER_DEFAULTS[("zipkin", "")]
            host, port, explicit = split_endpoint(body.get("endpoint"), "127.0.0.1", int(default.split(":")[1]))
            out.append(("zipkin", host, port, explicit, transport))
            continue
        for proto, proto_body in (body.get("protocols") or {}).items():
            default, transport = RECEIVER_DEFAULTS.get((name, proto), ("", "unsupported"))
            if not default:
                continue
            endpoint = (proto_body or {}).get("endpoint")
            host, port, explicit = split_endpoint(endpoint, "127.0.0.1", int(default.split(":")[1]))
            out.append((f"{name}/{proto}", host, port, explicit, transport))
    return out


class TempoDouble:
    def __init__(self, config: dict[str, Any], log: Log, version: str = DEFAULT_UPSTREAM_VERSION) -> None:
        self.config, self.log, self.version = config, log, version
        self.multitenant = bool(config.get("multitenancy_enabled", False))
        self.store = make_store(config)
        delay = os.environ.get("DOUBLE_READY_DELAY")
        warmup = float(delay) if delay else parse_duration(dig(config, "ingester.lifecycler.min_ready_duration", "3s"))
        self.readiness = Readiness(warmup, lambda d: f"Ingester not ready: waiting for {format_duration(d)} "
                                                     "after being ready")
        self.registry = Registry()
        self.registry.build_info("tempo_build_info", f"{version}-double")
        self.spans_received = self.registry.counter(
            "tempo_distributor_spans_received_total", "The total number of spans received per tenant", ("tenant",))
        self.bytes_received = self.registry.counter(
            "tempo_distributor_bytes_received_total", "The total number of proto bytes received per tenant",
            ("tenant",))
        self.traces_created = self.registry.counter(
            "tempo_ingester_traces_created_total", "The total number of traces created per tenant.", ("tenant",))
        self.refused = self.registry.counter(
            "tempo_double_refused_connections_total",
            "Connections/datagrams on receiver ports whose protocol the TEST DOUBLE does not speak.", ("receiver",))
        self.requests = request_counter_for(self.registry, "tempo")
        self.registry.collector(lambda: [Family("tempo_double_stored_traces", "gauge",
                                                "Traces held by the Tempo TEST DOUBLE.").add(self.store.count())])
        self.registry.collector(process_families)

    def tenant(self, req: Request) -> str:
        if not self.multitenant:
            return "single-tenant"
        org = req.headers.get("X-Scope-OrgID")
        if not org:
            raise HTTPError(401, "no org id")
        return org

    # --- API (3200) -----------------------------------------------------------------

    def api_router(self) -> Router:
        r = Router()
        r.add("GET", "/ready", self.ready)
        r.add("GET", "/metrics", lambda _r: Response(200, self.registry.render(), CONTENT_TYPE))
        r.add("GET", "/status/config", self.status_config)
        r.add("GET", "/status/services", self.services)
        r.add("GET", "/status", lambda _r: Response.text(f"Tempo {self.version}-double ({DOUBLE_NOTICE})\n"))
        r.add("GET", "/status/version",
              lambda _r: Response.text(f"tempo, version {self.version}-double ({DOUBLE_NOTICE})\n"))
        r.add("GET", "/api/echo", lambda _r: Response.text("echo"))
        r.add("GET", "/api/status/buildinfo", self.buildinfo)
        r.add("GET", "/api/traces/(?P<trace_id>[^/]+)", self.trace_v1)
        r.add("GET", "/api/v2/traces/(?P<trace_id>[^/]+)", self.trace_v2)
        r.add("GET", "/api/search", self.search)
        r.add("GET", "/api/search/tags", self.tags_v1)
        r.add("GET", "/api/v2/search/tags", self.tags_v2)
        r.add("GET", "/api/search/tag/(?P<tag>[^/]+)/values", self.tag_values_v1)
        r.add("GET", "/api/v2/search/tag/(?P<tag>[^/]+)/values", self.tag_values_v2)
        return r

    def ready(self, _req: Request) -> Response:
        ok, message = self.readiness.check()
        return Response.text(message + "\n", 200 if ok else 503)

    def status_config(self, _req: Request) -> Response:
        header = f"# Tempo {DOUBLE_NOTICE}: the config as loaded (the double does not add every default)\n"
        return Response(200, header + yaml.safe_dump(self.config, sort_keys=True), "text/plain; charset=utf-8")

    def services(self, _req: Request) -> Response:
        state = "Running" if self.readiness.check()[0] else "Starting"
        names = ["server", "distributor", "ingester", "querier", "query-frontend", "compactor", "store"]
        if self.config.get("metrics_generator"):
            names.append("metrics-generator")
        return Response.text("".join(f"{name}: {state}\n" for name in names))

    def buildinfo(self, _req: Request) -> Response:
        return Response.json({"version": f"{self.version}-double", "revision": "double", "branch": "double",
                              "buildUser": "data2ai-test-double", "buildDate": "1970-01-01T00:00:00Z",
                              "goVersion": f"python{sys.version.split()[0]}"})

    def _trace(self, req: Request) -> list[dict[str, Any]]:
        accept = req.headers.get("Accept", "")
        if "application/protobuf" in accept and "json" not in accept and "*/*" not in accept:
            raise HTTPError(406, "the Tempo test double answers only application/json, not application/protobuf")
        try:
            trace_id = otlp.trace_id_from_path(req.params["trace_id"])
        except otlp.OTLPError as exc:
            raise HTTPError(400, str(exc)) from exc
        batches = self.store.get(self.tenant(req), trace_id)
        if batches is None:
            raise HTTPError(404, f"trace not found: {req.params['trace_id']}")
        return [otlp.batch_for_output(b) for b in batches]

    def trace_v1(self, req: Request) -> Response:
        return Response.json({"batches": self._trace(req)})

    def trace_v2(self, req: Request) -> Response:
        return Response.json({"trace": {"batches": self._trace(req)}, "status": "COMPLETE"})

    def search(self, req: Request) -> Response:
        tenant = self.tenant(req)
        try:
            conditions = search.parse_traceql(req.arg("q") or "{}") if req.arg("q") else []
            conditions += search.parse_tags(req.arg("tags") or "")
            min_d = parse_duration(req.arg("minDuration")) if req.arg("minDuration") else None
            max_d = parse_duration(req.arg("maxDuration")) if req.arg("maxDuration") else None
        except (search.SearchError, ConfigError) as exc:
            raise HTTPError(400, str(exc)) from exc
        start = float(req.arg("start") or 0)
        end = float(req.arg("end") or 0) or float("inf")
        limit = int(req.arg("limit") or 20)
        results = []
        for trace_id, batches in self.store.all(tenant):
            summary = _summarise(trace_id, batches, conditions)
            if summary is None:
                continue
            begin_s, duration_s = int(summary["startTimeUnixNano"]) / 1e9, summary["durationMs"] / 1000
            if begin_s + duration_s < start or begin_s > end:
                continue
            if (min_d is not None and duration_s < min_d) or (max_d is not None and duration_s > max_d):
                continue
            results.append(summary)
        results.sort(key=lambda s: int(s["startTimeUnixNano"]), reverse=True)
        return Response.json({"traces": results[:limit],
                              "metrics": {"inspectedTraces": self.store.count(), "completedJobs": 1, "totalJobs": 1}})

    def _collect_tags(self, tenant: str) -> tuple[set[str], set[str]]:
        resource_keys: set[str] = set()
        span_keys: set[str] = set()
        for _tid, batches in self.store.all(tenant):
            for resource, span in otlp.iter_spans(batches):
                resource_keys |= set(resource)
                span_keys |= set(otlp.attrs(span.get("attributes")))
        return resource_keys, span_keys

    def tags_v1(self, req: Request) -> Response:
        resource_keys, span_keys = self._collect_tags(self.tenant(req))
        return Response.json({"tagNames": sorted(resource_keys | span_keys)})

    def tags_v2(self, req: Request) -> Response:
        resource_keys, span_keys = self._collect_tags(self.tenant(req))
        scopes = {"resource": sorted(resource_keys), "span": sorted(span_keys), "intrinsic": INTRINSICS}
        wanted = req.arg("scope") or "all"
        chosen = [{"name": name, "tags": tags} for name, tags in scopes.items() if wanted in ("all", "", name)]
        return Response.json({"scopes": chosen})

    def _tag_values(self, tenant: str, tag: str) -> list[Any]:
        attr = tag if tag.startswith((".", "resource.", "span.")) or tag in ("name", "status", "kind") else f".{tag}"
        values: set[str] = set()
        for _tid, batches in self.store.all(tenant):
            for resource, span in otlp.iter_spans(batches):
                values.update(str(v) for v in search.span_values(attr, resource, span))
        return sorted(values)

    def tag_values_v1(self, req: Request) -> Response:
        return Response.json({"tagValues": self._tag_values(self.tenant(req), req.params["tag"])})

    def tag_values_v2(self, req: Request) -> Response:
        values = self._tag_values(self.tenant(req), req.params["tag"])
        return Response.json({"tagValues": [{"type": "string", "value": v} for v in values]})

    # --- receivers ----------------------------------------------------------------------

    def ingest(self, tenant: str, body: Any, size: int) -> None:
        try:
            traces = otlp.split_by_trace(body)
        except otlp.OTLPError as exc:
            raise HTTPError(400, str(exc)) from exc
        for trace_id in traces:
            if self.store.get(tenant, trace_id) is None:
                self.traces_created.inc(tenant=tenant)
        self.store.append(tenant, traces)
        spans = sum(len(ss["spans"]) for batches in traces.values() for b in batches for ss in b["scopeSpans"])
        self.spans_received.inc(spans, tenant=tenant)
        self.bytes_received.inc(size, tenant=tenant)
        self.log.debug("received spans", tenant=tenant, spans=spans, traces=len(traces))

    def otlp_router(self) -> Router:
        r = Router()

        def traces(req: Request) -> Response:
            ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip()
            if ctype != "application/json":
                raise HTTPError(415, f"unsupported Content-Type {ctype or '(none)'!r}: the Tempo test double "
                                     "accepts OTLP/HTTP with application/json only (protobuf is not implemented)")
            body = req.json()
            self.ingest(self.tenant(req), body, len(req.body))
            return Response.json({"partialSuccess": {}})

        r.add("POST", "/v1/traces", traces)
        return r

    def zipkin_router(self) -> Router:
        r = Router()

        def spans(req: Request) -> Response:
            ctype = (req.headers.get("Content-Type") or "application/json").split(";")[0].strip()
            if ctype != "application/json":
                raise HTTPError(415, "the Tempo test double accepts Zipkin v2 JSON only")
            try:
                body = otlp.zipkin_to_otlp(req.json())
            except otlp.OTLPError as exc:
                raise HTTPError(400, str(exc)) from exc
            self.ingest(self.tenant(req), body, len(req.body))
            return Response(202)

        r.add("POST", "/api/v2/spans", spans)
        return r

    def thrift_router(self) -> Router:
        r = Router()

        def refuse(_req: Request) -> Response:
            self.refused.inc(receiver="jaeger/thrift_http")
            raise HTTPError(415, "Jaeger thrift is not implemented by the Tempo test double")

        r.add("POST", "/api/traces", refuse)
        return r

    def retention_loop(self) -> None:
        compaction = retention_key(self.version)
        retention = parse_duration(dig(self.config, f"{compaction}.block_retention", "336h"))
        interval = max(1.0, parse_duration(dig(self.config, f"{compaction}.compaction_cycle", "30s")))
        while retention > 0:
            time.sleep(interval)
            dropped = self.store.apply_retention(time.time() - retention)
            if dropped:
                self.log.info("compactor deleted traces past block_retention", traces=dropped)


def _summarise(trace_id: str, batches: list[dict[str, Any]], conditions: list[Any]) -> dict[str, Any] | None:
    spans = otlp.iter_spans(batches)
    matched = [(res, span) for res, span in spans if search.span_matches(conditions, res, span)]
    if not matched:
        return None
    starts = [int(s.get("startTimeUnixNano", 0)) for _r, s in spans]
    ends = [int(s.get("endTimeUnixNano", 0)) for _r, s in spans]
    roots = [(r, s) for r, s in spans if not s.get("parentSpanId")]
    root_res, root_span = roots[0] if roots else ({}, {})
    span_set = {"spans": [{"spanID": s["spanId"], "name": s.get("name", ""),
                           "startTimeUnixNano": str(s.get("startTimeUnixNano", "0")),
                           "durationNanos": str(int(s.get("endTimeUnixNano", 0)) - int(s.get("startTimeUnixNano", 0)))}
                          for _r, s in matched[:3]],
                "matched": len(matched)}
    return {
        "traceID": trace_id.lstrip("0") or "0",
        "rootServiceName": root_res.get("service.name", "<root span not yet received>") if roots
        else "<root span not yet received>",
        "rootTraceName": root_span.get("name", ""),
        "startTimeUnixNano": str(min(starts)),
        "durationMs": int((max(ends) - min(starts)) / 1e6),
        "spanSet": span_set,
        "spanSets": [span_set],
    }


def make_store(config: dict[str, Any]) -> TraceStore:
    """Create (and check writable) the storage directories, like Tempo's store module does at start."""
    paths = [dig(config, "storage.trace.local.path"), dig(config, "storage.trace.wal.path"),
             dig(config, "metrics_generator.storage.path")]
    for raw in filter(None, paths):
        directory = Path(str(raw))
        try:
            directory.mkdir(parents=True, exist_ok=True)
            probe = directory / ".double-write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            raise ConfigError(f"failed to init module services: error initialising module: store: "
                              f"mkdir {directory}: {reason}") from exc
    return TraceStore(Path(str(dig(config, "storage.trace.local.path"))))


def _tcp_refuser(double: TempoDouble, name: str, host: str, port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(16)

    def loop() -> None:
        while True:
            conn, peer = sock.accept()
            double.refused.inc(receiver=name)
            double.log.warning("connection on a receiver the test double does not speak (gRPC); closing it",
                               receiver=name, peer=f"{peer[0]}:{peer[1]}")
            conn.close()

    threading.Thread(target=loop, name=f"refuse-{name}", daemon=True).start()


def _udp_discarder(double: TempoDouble, name: str, host: str, port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, port))

    def loop() -> None:
        while True:
            sock.recvfrom(65536)
            double.refused.inc(receiver=name)

    threading.Thread(target=loop, name=f"discard-{name}", daemon=True).start()


def start_receivers(double: TempoDouble, log: Log) -> list[Any]:
    servers: list[Any] = []
    routers = {"otlp-http": double.otlp_router, "zipkin": double.zipkin_router, "thrift-http": double.thrift_router}
    for name, host, port, explicit, transport in receiver_endpoints(double.config):
        if not explicit:
            log.warning("receiver endpoint has no explicit host: like Tempo 2.7+ it binds localhost only and is "
                        "unreachable from other containers; set endpoint: 0.0.0.0:<port>", receiver=name,
                        endpoint=f"{host}:{port}")
        if transport in routers:
            servers.append(start_server(host, port, routers[transport](), log, "tempo", double.requests))
            log.info("Starting HTTP server", receiver=name, endpoint=f"{host}:{port}")
        elif transport == "tcp-refuse":
            _tcp_refuser(double, name, host, port)
            log.warning("Starting GRPC server: the Tempo TEST DOUBLE does not speak gRPC; this port only accepts "
                        "and closes connections", receiver=name, endpoint=f"{host}:{port}")
        elif transport == "udp-discard":
            _udp_discarder(double, name, host, port)
            log.warning("Jaeger thrift over UDP is not implemented by the test double; datagrams are counted and "
                        "discarded", receiver=name, endpoint=f"{host}:{port}")
    return servers


def load_config(flags: dict[str, str], upstream: Upstream) -> dict[str, Any]:
    """The config file, refused like Tempo's yaml.UnmarshalStrict when a key is unknown to ``upstream``."""
    if "config.file" not in flags:
        raise ConfigError("failed parsing config: config file not specified: use -config.file=<path>")
    return load_strict_yaml_config(flags["config.file"], flag_true(flags, "config.expand-env"), upstream)


def main(argv: list[str]) -> int:
    flags = parse_go_flags(argv, ("config.expand-env", "version", "config.verify"))
    log = Log("tempo", flags.get("log.level", "info"))
    version = upstream_version()
    if flag_true(flags, "version"):
        print(f"tempo, version {version}-double ({DOUBLE_NOTICE})")
        return 0
    banner(log, "Grafana Tempo", f"{version}-double")
    try:
        upstream = load_upstream(Path(__file__).resolve().parent, version)
        config = load_config(flags, upstream)
        validate(config, version)
        if flag_true(flags, "config.verify"):
            log.info("config is valid")
            return 0
        double = TempoDouble(config, log, version)
        log.set_level(str(dig(config, "server.log_level", flags.get("log.level", "info"))))
    except ConfigError as exc:
        log.error("error running Tempo", err=str(exc))
        return 1
    if dig(config, "metrics_generator.storage.remote_write"):
        log.warning("metrics_generator: the Tempo TEST DOUBLE computes no span metrics or service graphs and "
                    "remote-writes nothing, although remote_write is configured")
    log.info("loaded stored batches", batches=double.store.load(), path=str(double.store.path))
    host = str(dig(config, "server.http_listen_address", "") or "0.0.0.0")
    port = int(dig(config, "server.http_listen_port", 3200))
    try:
        servers = [start_server(host, port, double.api_router(), log, "tempo", double.requests)]
        servers += start_receivers(double, log)
    except OSError as exc:
        log.error("error running Tempo", err=f"listen tcp: {exc}")
        return 1
    threading.Thread(target=double.retention_loop, name="retention", daemon=True).start()
    double.readiness.start()
    log.info("Tempo started", port=servers[0].server_port)

    def stop() -> None:
        double.readiness.stop()
        for server in servers:
            server.shutdown()

    wait_for_signal(log, stop)
    return 0
