"""The stack's demo workload: three services (frontend -> checkout -> inventory) in one process.

Each service is a small HTTP server with its own OpenTelemetry resource (service.name), so a trace crosses three
services over real HTTP calls, with W3C trace context (traceparent) propagated in the headers. The process sends:
- traces as OTLP/HTTP JSON to Tempo (POST /v1/traces, the OTLP specification's JSON encoding);
- one log line per request on stdout, holding traceID=<id> (the pattern of the stack's Loki derived field);
- Prometheus metrics on /metrics (metrics_port);
- points into InfluxDB 2 (POST /api/v2/write, line protocol) with a token that can only write that bucket, read
  from a file.
A load generator calls the frontend requests_per_second times a second. Settings come from a JSON file; a fault
scenario (playbooks/scenario.yml: errors, added latency, a CPU burn) from a second one, re-read when it changes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import Counter, Histogram, start_http_server

PROPAGATOR = TraceContextTextMapPropagator()
ITEMS = ("coffee", "tea", "mug", "kettle")
REQUESTS = Counter("demo_requests", "Requests a demo service answered.", ["service", "route", "code"])
DURATION = Histogram("demo_request_duration_seconds", "Time a demo service took to answer.", ["service", "route"])


def log(service: str, message: str, **fields: object) -> None:
    """One logfmt line on stdout; the log collector ships it to Loki."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
    parts = " ".join(f"{key}={value}" for key, value in fields.items())
    print(f'ts={stamp} service={service} {parts} msg="{message}"', flush=True)


class Scenario:
    """The fault scenario file (playbooks/scenario.yml writes it), read again whenever it changes."""

    def __init__(self, path: str) -> None:
        self.path, self.stamp, self.values = path, None, {}
        self.lock = threading.Lock()

    def current(self) -> dict:
        try:
            stamp = os.stat(self.path).st_mtime_ns
        except OSError:
            return {}
        with self.lock:
            if stamp != self.stamp:
                try:
                    with open(self.path, encoding="utf-8") as handle:
                        self.values = json.load(handle)
                except (OSError, ValueError):
                    self.values = {}
                self.stamp = stamp
                log("demo", "scenario", name=self.values.get("name", "none"))
            return self.values


SCENARIO = Scenario("")


def otlp_value(value: object) -> dict[str, object]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def otlp_attributes(attributes: object) -> list[dict[str, object]]:
    return [{"key": key, "value": otlp_value(value)} for key, value in dict(attributes or {}).items()]


class OtlpJsonExporter(SpanExporter):
    """OTLP/HTTP with the JSON encoding (ids as hex, per the OTLP specification), which Tempo's receiver takes."""

    def __init__(self, url: str) -> None:
        self.url = url

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        resource_spans = []
        for resource in {id(span.resource): span.resource for span in spans}.values():
            resource_spans.append({
                "resource": {"attributes": otlp_attributes(resource.attributes)},
                "scopeSpans": [{"scope": {"name": "data2ai.demo"}, "spans": [
                    self.span(span) for span in spans if span.resource is resource]}],
            })
        body = json.dumps({"resourceSpans": resource_spans}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10):
                return SpanExportResult.SUCCESS
        except (urllib.error.URLError, OSError) as exc:
            log("demo", "traces not sent", error=type(exc).__name__, url=self.url)
            return SpanExportResult.FAILURE

    @staticmethod
    def span(span: ReadableSpan) -> dict[str, object]:
        out = {
            "traceId": f"{span.context.trace_id:032x}",
            "spanId": f"{span.context.span_id:016x}",
            "name": span.name,
            # The SDK counts kinds from INTERNAL = 0; OTLP from UNSPECIFIED = 0.
            "kind": span.kind.value + 1,
            "startTimeUnixNano": str(span.start_time),
            "endTimeUnixNano": str(span.end_time),
            "attributes": otlp_attributes(span.attributes),
            "status": {"code": span.status.status_code.value},
        }
        if span.parent is not None:
            out["parentSpanId"] = f"{span.parent.span_id:016x}"
        return out


class Service:
    """One service: a tracer of its own and the next service it calls (none for the last)."""

    def __init__(self, name: str, port: int, exporter: SpanExporter, downstream: tuple[str, int] | None,
                 delay_ms: int) -> None:
        self.name, self.port, self.downstream, self.delay_ms = name, port, downstream, delay_ms
        self.provider = TracerProvider(resource=Resource.create({"service.name": name,
                                                                 "service.namespace": "data2ai-demo"}))
        self.provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=2000))
        self.tracer: Tracer = self.provider.get_tracer("data2ai.demo")
        self.stats = {"count": 0, "errors": 0, "duration_ms": 0.0}
        self.lock = threading.Lock()

    def call_downstream(self) -> int:
        name, port = self.downstream
        with self.tracer.start_as_current_span(f"GET /{name}", kind=SpanKind.CLIENT) as span:
            headers: dict[str, str] = {}
            PROPAGATOR.inject(headers)
            span.set_attribute("server.address", "127.0.0.1")
            span.set_attribute("peer.service", name)
            try:
                with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/{name}",
                                                                   headers=headers), timeout=5) as answer:
                    code = answer.status
            except urllib.error.HTTPError as exc:
                code = exc.code
            span.set_attribute("http.response.status_code", code)
            if code >= 500:
                span.set_status(Status(StatusCode.ERROR))
            return code

    def handle(self, route: str, headers: dict[str, str]) -> int:
        started = time.monotonic()
        parent = PROPAGATOR.extract(headers)
        with self.tracer.start_as_current_span(f"GET {route}", context=parent, kind=SpanKind.SERVER) as span:
            span.set_attribute("http.request.method", "GET")
            span.set_attribute("url.path", route)
            fault = SCENARIO.current()
            time.sleep(random.uniform(0.5, 1.5) * self.delay_ms / 1000)
            if self.downstream:
                code = self.call_downstream()
            else:  # the last service is where the scenario's faults happen
                time.sleep(float(fault.get("added_latency_ms", 0)) / 1000)
                failed = random.random() < float(fault.get("error_rate", 0))
                code = 500 if failed else 409 if random.random() < 0.03 else 200
            span.set_attribute("http.response.status_code", code)
            if code >= 500:
                span.set_status(Status(StatusCode.ERROR))
            context = span.get_span_context()
            elapsed = time.monotonic() - started
            log(self.name, "out of stock" if code == 409 else "request served", route=route, status=code,
                item=random.choice(ITEMS), duration_ms=f"{elapsed * 1000:.1f}",
                traceID=f"{context.trace_id:032x}", spanID=f"{context.span_id:016x}")
        REQUESTS.labels(self.name, route, str(code)).inc()
        DURATION.labels(self.name, route).observe(elapsed)
        with self.lock:
            self.stats["count"] += 1
            self.stats["errors"] += code >= 400
            self.stats["duration_ms"] += elapsed * 1000
        return code

    def take_stats(self) -> dict[str, float]:
        with self.lock:
            taken, self.stats = self.stats, {"count": 0, "errors": 0, "duration_ms": 0.0}
        return taken

    def serve(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/healthz":
                    code = 200
                else:
                    # urllib sends "Traceparent"; the propagator looks the W3C header up in lower case.
                    code = service.handle(self.path, {k.lower(): v for k, v in self.headers.items()})
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok\n" if code < 400 else b"failed\n")

            def log_message(self, *_args: object) -> None:
                """Each request is logged once, with its trace id, by Service.handle."""

        server = ThreadingHTTPServer(("0.0.0.0", self.port), Handler)
        threading.Thread(target=server.serve_forever, name=self.name, daemon=True).start()


def write_points(config: dict, services: list[Service]) -> None:
    """Every interval, one point per service into InfluxDB's bucket (line protocol)."""
    influx = config["influxdb"]
    url = (f"{influx['url']}/api/v2/write?org={urllib.request.quote(influx['org'])}"
           f"&bucket={urllib.request.quote(influx['bucket'])}&precision=s")
    while True:
        time.sleep(influx["interval_seconds"])
        now = int(time.time())
        lines = []
        for service in services:
            stats = service.take_stats()
            mean = stats["duration_ms"] / stats["count"] if stats["count"] else 0.0
            lines.append(f"demo_requests,service={service.name} count={stats['count']}i,"
                         f"errors={stats['errors']}i,mean_duration_ms={mean:.3f} {now}")
        try:
            with open(influx["token_file"], encoding="utf-8") as handle:
                token = handle.read().strip()
            request = urllib.request.Request(url, data="\n".join(lines).encode(), method="POST",
                                             headers={"Authorization": f"Token {token}",
                                                      "Content-Type": "text/plain; charset=utf-8"})
            with urllib.request.urlopen(request, timeout=10):
                pass
        except (urllib.error.URLError, OSError) as exc:
            log("demo", "points not written", error=getattr(exc, "code", type(exc).__name__))


def burn_cpu() -> None:
    """While the scenario asks for it, keeps one core busy."""
    while True:
        if SCENARIO.current().get("cpu_burn"):
            deadline = time.monotonic() + 1
            while time.monotonic() < deadline:
                pass
        else:
            time.sleep(1)


def generate_load(config: dict) -> None:
    """Calls the frontend requests_per_second times a second (0: no load), each call a new trace."""
    rate = float(config["requests_per_second"])
    url = f"http://127.0.0.1:{config['services']['frontend']}/frontend"
    while rate > 0:
        time.sleep(1 / rate)
        try:
            with urllib.request.urlopen(url, timeout=10):
                pass
        except (urllib.error.URLError, OSError):
            pass  # the frontend logged and counted it


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the JSON settings file")
    with open(parser.parse_args(argv).config, encoding="utf-8") as handle:
        config = json.load(handle)
    SCENARIO.path = config["scenario_file"]
    exporter = OtlpJsonExporter(config["otlp_traces_url"])
    ports = config["services"]
    names = list(ports)  # frontend, checkout, inventory: each calls the next
    services = [Service(name, ports[name], exporter, (names[i + 1], ports[names[i + 1]]) if i + 1 < len(names)
                        else None, config["delay_ms"]) for i, name in enumerate(names)]
    for service in services:
        service.serve()
    start_http_server(config["metrics_port"])
    threading.Thread(target=write_points, args=(config, services), daemon=True).start()
    threading.Thread(target=generate_load, args=(config,), daemon=True).start()
    threading.Thread(target=burn_cpu, daemon=True).start()
    log("demo", "started", services=",".join(names), rate=config["requests_per_second"])

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    for service in services:
        service.provider.shutdown()  # sends the spans still queued
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
