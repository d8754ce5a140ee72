"""HTTP API of the Loki TEST DOUBLE (``/usr/bin/loki -config.file=/etc/loki/local-config.yaml``).

Implements /ready, /metrics, /config, /services, buildinfo, push (JSON only), query,
query_range, labels, label values, series and index stats. See tests/doubles/README.md.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from common import DOUBLE_NOTICE
from common.config import ConfigError, dig, flag_true, load_yaml_config, parse_duration, parse_go_flags
from common.httpserver import HTTPError, Request, Response, Router, request_counter_for, start_server, wait_for_signal
from common.logs import Log, banner
from common.metrics import CONTENT_TYPE, Family, Registry, process_families
from common.readiness import Readiness
from common.strict import FLAG_EXIT_CODE, load_strict_yaml_config, load_upstream, refuse_unknown_flags

from loki import config as lokiconfig
from loki import logql
from loki.store import Store, format_labels

Entry = tuple[dict[str, str], int, str]
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
BOOL_FLAGS = ("config.expand-env", "verify-config", "health", "version", "print-config-stderr",
              "log-config-reverse-order")


def parse_time(value: str | None, default_ns: int) -> int:
    """Loki's timestamp parsing: float seconds, integer seconds (<= 10 digits) or ns, or RFC3339."""
    if value is None or value == "":
        return default_ns
    if "." in value:
        try:
            return int(float(value) * 1e9)
        except ValueError:
            pass
    try:
        number = int(value)
    except ValueError:
        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1e9)
        except ValueError as exc:
            raise HTTPError(400, f'cannot parse "{value}" to a valid timestamp') from exc
    return number * 1_000_000_000 if len(value) <= 10 else number


class LokiDouble:
    def __init__(self, config: dict[str, Any], log: Log) -> None:
        self.raw_config = config
        self.config = lokiconfig.effective(config)
        self.log = log
        self.auth_enabled = bool(self.config.get("auth_enabled", True))
        self.store = Store(Path(lokiconfig.storage_dir(config)))
        warmup = os.environ.get("DOUBLE_READY_DELAY")
        delay = float(warmup) if warmup else parse_duration(dig(config, "ingester.lifecycler.min_ready_duration", "3s"))
        self.readiness = Readiness(delay, lambda d: f"Ingester not ready: waiting for {d:g}s after being ready")
        self.registry = Registry()
        self.registry.build_info("loki_build_info", lokiconfig.VERSION)
        self.lines_received = self.registry.counter(
            "loki_distributor_lines_received_total", "The total number of lines received per tenant", ("tenant",))
        self.bytes_received = self.registry.counter(
            "loki_distributor_bytes_received_total", "The total number of uncompressed bytes received per tenant",
            ("tenant",))
        self.discarded = self.registry.counter(
            "loki_discarded_samples_total", "The total number of samples that were discarded.", ("reason", "tenant"))
        self.requests = request_counter_for(self.registry, "loki")
        self.registry.collector(self._store_families)
        self.registry.collector(process_families)
        self.started = time.time()

    # --- lifecycle ------------------------------------------------------------------

    def prepare_dirs(self) -> None:
        dirs = [self.store.directory]
        comp = lokiconfig.compactor_dir(self.raw_config)
        if comp:
            dirs.append(Path(comp))
        for directory in dirs:
            try:
                directory.mkdir(parents=True, exist_ok=True)
                probe = directory / ".double-write-test"
                probe.write_text("ok")
                probe.unlink()
            except OSError as exc:
                reason = (exc.strerror or str(exc)).lower()
                raise ConfigError(f"error initialising module: store: mkdir {directory}: {reason}") from exc

    def retention_loop(self) -> None:
        period = parse_duration(dig(self.config, "limits_config.retention_period", "0s"))
        if not dig(self.config, "compactor.retention_enabled", False) or period <= 0:
            return
        interval = max(1.0, parse_duration(dig(self.config, "compactor.compaction_interval", "10m")))
        while True:
            time.sleep(interval)
            dropped = self.store.apply_retention(time.time_ns() - int(period * 1e9))
            if dropped:
                self.log.info("compactor applied retention", deleted_entries=dropped)

    # --- helpers --------------------------------------------------------------------

    def tenant(self, request: Request) -> str:
        if not self.auth_enabled:
            return "fake"
        org = request.headers.get("X-Scope-OrgID")
        if not org:
            raise HTTPError(401, "no org id")
        return org

    def _store_families(self) -> list[Family]:
        streams, entries = self.store.stats()
        return [
            Family("loki_ingester_memory_streams", "gauge", "The total number of streams in memory.").add(streams),
            Family("loki_double_stored_entries", "gauge", "Entries held by the Loki TEST DOUBLE.").add(entries),
        ]

    @staticmethod
    def success(data: Any) -> Response:
        return Response.json({"status": "success", "data": data})

    # --- routes ---------------------------------------------------------------------

    def router(self) -> Router:
        r = Router()
        r.add("GET", "/ready", self.ready)
        r.add("GET", "/metrics", lambda _req: Response(200, self.registry.render(), CONTENT_TYPE))
        r.add("GET", "/config", self.show_config)
        r.add("GET", "/services", self.services)
        r.add("GET", "/loki/api/v1/status/buildinfo", self.buildinfo)
        r.add("POST", "/loki/api/v1/push", self.push)
        r.add("GET,POST", "/loki/api/v1/query_range", self.query_range)
        r.add("GET,POST", "/loki/api/v1/query", self.query)
        r.add("GET,POST", "/loki/api/v1/labels", self.labels)
        r.add("GET,POST", "/loki/api/v1/label/(?P<name>[^/]+)/values", self.label_values)
        r.add("GET,POST", "/loki/api/v1/series", self.series)
        r.add("GET,POST", "/loki/api/v1/index/stats", self.index_stats)
        return r

    def ready(self, _req: Request) -> Response:
        ok, message = self.readiness.check()
        return Response.text(message + "\n", 200 if ok else 503)

    def show_config(self, req: Request) -> Response:
        mode = req.arg("mode", "")
        data = self.raw_config if mode == "diff" else lokiconfig.DEFAULTS if mode == "defaults" else self.config
        header = f"# Loki {DOUBLE_NOTICE}: effective config = file + the defaults the double knows\n"
        return Response(200, header + yaml.safe_dump(data, sort_keys=True), "text/plain; charset=utf-8")

    def services(self, _req: Request) -> Response:
        state = "Running" if self.readiness.check()[0] else "Starting"
        names = ["server", "distributor", "ingester", "querier", "query-frontend", "compactor"]
        return Response.text("".join(f"{name} => {state}\n" for name in names))

    def buildinfo(self, _req: Request) -> Response:
        return Response.json({
            "version": lokiconfig.VERSION, "revision": "double", "branch": "double",
            "buildUser": "data2ai-test-double", "buildDate": "1970-01-01T00:00:00Z",
            "goVersion": f"python{sys.version.split()[0]}",
        })

    def push(self, req: Request) -> Response:
        tenant = self.tenant(req)
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/json":
            raise HTTPError(415, f"unsupported Content-Type {ctype or '(none)'!r}: the Loki test double accepts only "
                                 "application/json push bodies; snappy-compressed protobuf is not implemented")
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("streams"), list):
            raise HTTPError(400, 'loghttp.PushRequest: expected an object with a "streams" array')
        batch, errors = self._validate_streams(tenant, body["streams"])
        written = self.store.append(tenant, batch)
        self.lines_received.inc(len(batch), tenant=tenant)
        self.bytes_received.inc(sum(len(line.encode()) for _l, _t, line in batch), tenant=tenant)
        self.log.debug("push", tenant=tenant, entries=len(batch), new=written, rejected=len(errors))
        if errors:
            return Response.text("\n".join(errors[:10]) + "\n", 400)
        return Response(204)

    def _validate_streams(self, tenant: str, streams: list[Any]) -> tuple[list[Entry], list[str]]:
        now = time.time_ns()
        max_age = parse_duration(dig(self.config, "limits_config.reject_old_samples_max_age", "1w"))
        grace = parse_duration(dig(self.config, "limits_config.creation_grace_period", "10m"))
        reject_old = bool(dig(self.config, "limits_config.reject_old_samples", True))
        max_names = int(dig(self.config, "limits_config.max_label_names_per_series", 15))
        batch: list[Entry] = []
        errors: list[str] = []
        for stream in streams:
            labels = stream.get("stream") if isinstance(stream, dict) else None
            values = stream.get("values") if isinstance(stream, dict) else None
            if not isinstance(labels, dict) or not labels:
                raise HTTPError(400, "error at least one label pair is required per stream")
            if not isinstance(values, list):
                raise HTTPError(400, 'loghttp.PushRequest: each stream needs a "values" array')
            for name in labels:
                if not LABEL_NAME.match(str(name)):
                    raise HTTPError(400, f'error parsing labels {format_labels(labels)}: invalid label name "{name}"')
            labels = {str(k): str(v) for k, v in labels.items()}
            if len(labels) > max_names:
                self.discarded.inc(len(values), reason="max_label_names_per_series", tenant=tenant)
                errors.append(f"entry for stream '{format_labels(labels)}' has {len(labels)} label names; "
                              f"limit {max_names}")
                continue
            for value in values:
                entry = self._entry(value)
                ts = entry[0]
                if reject_old and ts < now - int(max_age * 1e9):
                    self.discarded.inc(reason="greater_than_max_sample_age", tenant=tenant)
                    errors.append(f"entry for stream '{format_labels(labels)}' has timestamp too old: {_iso(ts)}, "
                                  f"oldest acceptable timestamp is: {_iso(now - int(max_age * 1e9))}")
                    continue
                if ts > now + int(grace * 1e9):
                    self.discarded.inc(reason="too_far_in_future", tenant=tenant)
                    errors.append(f"entry for stream '{format_labels(labels)}' has timestamp too new: {_iso(ts)}")
                    continue
                batch.append((labels, ts, entry[1]))
        return batch, errors

    @staticmethod
    def _entry(value: Any) -> tuple[int, str]:
        if not isinstance(value, list) or len(value) not in (2, 3) or not isinstance(value[0], str):
            raise HTTPError(400, 'loghttp.PushRequest: each value must be ["<unix epoch in nanoseconds>", "<log line>"]'
                                 ' optionally followed by structured metadata')
        try:
            ts = int(value[0])
        except ValueError as exc:
            raise HTTPError(400, f'loghttp.PushRequest: invalid timestamp "{value[0]}"') from exc
        return ts, str(value[1])

    # --- queries ----------------------------------------------------------------------

    def _limit(self, req: Request) -> int:
        limit = int(req.arg("limit", "100") or 100)
        max_limit = int(dig(self.config, "limits_config.max_entries_limit_per_query", 5000))
        if limit > max_limit:
            raise HTTPError(400, f"max entries limit per query exceeded, limit > max_entries_limit_per_query "
                                 f"({limit} > {max_limit})")
        return limit

    @staticmethod
    def _parse(req: Request) -> logql.Expr:
        try:
            return logql.parse(req.arg("query", "") or "")
        except logql.LogQLError as exc:
            raise HTTPError(400, str(exc)) from exc

    def query_range(self, req: Request) -> Response:
        tenant = self.tenant(req)
        expr = self._parse(req)
        now = time.time_ns()
        end = parse_time(req.arg("end"), now)
        since = req.arg("since")
        default_start = end - int(parse_duration(since) * 1e9) if since else end - 3600 * 10**9
        start = parse_time(req.arg("start"), default_start)
        if end < start:
            raise HTTPError(400, "end timestamp must not be before or equal to start time")
        started = time.monotonic()
        if isinstance(expr, logql.LogQuery):
            forward = (req.arg("direction", "backward") or "backward").lower() == "forward"
            result, lines = self._streams(tenant, expr, start, end, self._limit(req), forward)
            return self.success({"resultType": "streams", "result": result, "stats": _stats(lines, started)})
        step = req.arg("step")
        step_s = parse_duration(step) if step and not step.replace(".", "").isdigit() else float(step or 0)
        if step_s <= 0:
            step_s = max(math.ceil((end - start) / 1e9 / 250), 1)
        matrix: dict[tuple[tuple[str, str], ...], list[list[Any]]] = {}
        t = start
        while t <= end:
            value = self._eval(expr, t, tenant)
            for key, val in (value.items() if isinstance(value, dict) else [((), value)]):
                matrix.setdefault(key, []).append([t / 1e9, _num(val)])
            t += int(step_s * 1e9)
        result = [{"metric": dict(key), "values": vals} for key, vals in sorted(matrix.items())]
        return self.success({"resultType": "matrix", "result": result, "stats": _stats(0, started)})

    def query(self, req: Request) -> Response:
        tenant = self.tenant(req)
        expr = self._parse(req)
        if isinstance(expr, logql.LogQuery):
            raise HTTPError(400, "log queries are not supported as an instant query type, "
                                 "please change your query to a range query type")
        at = parse_time(req.arg("time"), time.time_ns())
        started = time.monotonic()
        value = self._eval(expr, at, tenant)
        if not isinstance(value, dict):
            scalar = [at / 1e9, _num(value)]
            return self.success({"resultType": "scalar", "result": scalar, "stats": _stats(0, started)})
        result = [{"metric": dict(key), "value": [at / 1e9, _num(val)]} for key, val in sorted(value.items())]
        return self.success({"resultType": "vector", "result": result, "stats": _stats(0, started)})

    def _eval(self, expr: logql.Expr, at_ns: int, tenant: str) -> Any:
        def source(query: logql.LogQuery, start_ns: int, end_ns: int) -> list[Any]:
            # Loki range windows are (t - range, t]
            return self.store.select(tenant, query, start_ns, end_ns + 1, inclusive_start=False)

        try:
            return logql.evaluate(expr, at_ns, source)
        except logql.LogQLError as exc:
            raise HTTPError(400, str(exc)) from exc

    def _streams(self, tenant: str, query: logql.LogQuery, start: int, end: int, limit: int,
                 forward: bool) -> tuple[list[dict[str, Any]], int]:
        selected = self.store.select(tenant, query, start, end)
        flat = [(ts, idx, line) for idx, (_labels, entries) in enumerate(selected) for ts, line in entries]
        flat.sort(key=lambda item: item[0], reverse=not forward)
        kept = flat[:limit]
        grouped: dict[int, list[list[str]]] = {}
        for ts, idx, line in kept:
            grouped.setdefault(idx, []).append([str(ts), line])
        result = [{"stream": selected[idx][0], "values": values} for idx, values in grouped.items()]
        result.sort(key=lambda s: format_labels(s["stream"]))
        return result, len(flat)

    def _range_args(self, req: Request, default_window_s: int = 6 * 3600) -> tuple[int, int]:
        now = time.time_ns()
        end = parse_time(req.arg("end"), now)
        start = parse_time(req.arg("start"), end - default_window_s * 10**9)
        return start, end

    def _matching_series(self, req: Request, selectors: list[str]) -> list[dict[str, str]]:
        tenant = self.tenant(req)
        start, end = self._range_args(req)
        found: dict[str, dict[str, str]] = {}
        queries = []
        for text in selectors:
            try:
                expr = logql.parse(text)
            except logql.LogQLError as exc:
                raise HTTPError(400, str(exc)) from exc
            if not isinstance(expr, logql.LogQuery):
                raise HTTPError(400, f"invalid selector {text!r}")
            queries.append(expr)
        for labels in self.store.series(tenant, start, end):
            if not queries or any(all(m.matches(labels) for m in q.matchers) for q in queries):
                found[format_labels(labels)] = labels
        return [found[k] for k in sorted(found)]

    def labels(self, req: Request) -> Response:
        selectors = [req.arg("query")] if req.arg("query") else []
        names = {name for labels in self._matching_series(req, selectors) for name in labels}
        return self.success(sorted(names))

    def label_values(self, req: Request) -> Response:
        selectors = [req.arg("query")] if req.arg("query") else []
        name = req.params["name"]
        values = {labels[name] for labels in self._matching_series(req, selectors) if name in labels}
        return self.success(sorted(values))

    def series(self, req: Request) -> Response:
        selectors = req.args("match[]") or req.args("match")
        if not selectors:
            raise HTTPError(400, "at least one match[] selector is required by the Loki test double")
        return self.success(self._matching_series(req, selectors))

    def index_stats(self, req: Request) -> Response:
        tenant = self.tenant(req)
        expr = self._parse(req)
        if not isinstance(expr, logql.LogQuery):
            raise HTTPError(400, "index stats need a stream selector")
        start, end = self._range_args(req, 3600)
        selected = self.store.select(tenant, logql.LogQuery(expr.matchers), start, end)
        entries = [line for _labels, lines in selected for _ts, line in lines]
        return Response.json({"streams": sum(1 for _l, e in selected if e), "chunks": sum(1 for _l, e in selected if e),
                              "bytes": sum(len(x.encode()) for x in entries), "entries": len(entries)})


def _iso(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns / 1e9).astimezone().isoformat()


def _num(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return f"{value:g}" if not float(value).is_integer() else str(int(value))


def _stats(lines: int, started: float) -> dict[str, Any]:
    elapsed = max(time.monotonic() - started, 1e-9)
    return {"summary": {"totalLinesProcessed": lines, "totalEntriesReturned": lines, "execTime": elapsed,
                        "queueTime": 0, "subqueries": 0, "totalBytesProcessed": 0,
                        "linesProcessedPerSecond": int(lines / elapsed), "bytesProcessedPerSecond": 0,
                        "totalPostFilterLines": lines, "splits": 0, "shards": 0}}


def health_check(flags: dict[str, str]) -> int:
    """``loki -health`` (Loki 3.7+): GET /ready on localhost, exit 0 when ready."""
    port = 3100
    if "config.file" in flags:
        with contextlib.suppress(ConfigError):
            port = int(dig(load_yaml_config(flags["config.file"]), "server.http_listen_port", 3100))
    try:
        with urllib.request.urlopen(f"http://localhost:{port}/ready", timeout=5) as resp:
            print("Loki is healthy")
            return 0 if resp.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(f"Loki is unhealthy: status code {exc.code}")
    except OSError as exc:
        print(f"Loki is unhealthy: {exc}")
    return 1


def main(argv: list[str]) -> int:
    flags = parse_go_flags(argv, BOOL_FLAGS)
    upstream = load_upstream(Path(__file__).resolve().parent, lokiconfig.UPSTREAM_VERSION)
    refused = refuse_unknown_flags(flags, upstream)
    if refused:
        print(f"{refused}\nRun with -help to get list of available parameters", file=sys.stderr)
        return FLAG_EXIT_CODE
    log = Log("loki", flags.get("log.level", "info"))
    if flag_true(flags, "version"):
        print(f"loki, version {lokiconfig.VERSION} ({DOUBLE_NOTICE})")
        return 0
    if flag_true(flags, "health"):
        return health_check(flags)
    banner(log, "Grafana Loki", lokiconfig.VERSION)
    try:
        if "config.file" not in flags:
            raise ConfigError("config file not specified: use -config.file=<path>")
        config = load_strict_yaml_config(flags["config.file"], flag_true(flags, "config.expand-env"), upstream)
        lokiconfig.validate(config)
        if flag_true(flags, "verify-config"):
            log.info("config is valid")
            return 0
        double = LokiDouble(config, log)
        log.set_level(str(dig(double.config, "server.log_level", flags.get("log.level", "info"))))
        double.prepare_dirs()
    except ConfigError as exc:
        log.error("validating config", err=str(exc))
        return 1
    loaded = double.store.load()
    log.info("replayed stored entries", entries=loaded, path=str(double.store.path))
    host = str(dig(double.config, "server.http_listen_address", "") or "0.0.0.0")
    port = int(dig(double.config, "server.http_listen_port", 3100))
    try:
        server = start_server(host, port, double.router(), log, "loki", double.requests)
    except OSError as exc:
        log.error("error running loki", err=f"listen tcp {host}:{port}: {exc.strerror}")
        return 1
    threading.Thread(target=double.retention_loop, name="retention", daemon=True).start()
    double.readiness.start()
    log.info("Loki started", startup_time=f"{time.time() - double.started:.3f}s", port=server.server_port)

    def stop() -> None:
        double.readiness.stop()
        server.shutdown()

    wait_for_signal(log, stop)
    return 0
