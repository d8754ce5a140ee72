"""Behaviour of the TEST DOUBLES for Loki, Tempo, Promtail, cAdvisor and InfluxDB 2 (tests/doubles/).

Each double runs as a subprocess on 127.0.0.1 with random ports and a temporary config file in the
same format the collection's roles write for the real component. A fake Docker Engine API on a unix
socket stands in for dockerd where a double reads containers.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml

DOUBLES_DIR = Path(__file__).resolve().parents[2] / "tests" / "doubles"
LOCAL = "127.0.0.1"


# --- helpers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCAL, 0))
        return sock.getsockname()[1]


def http(method: str, url: str, body: bytes | str | dict | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body.encode() if isinstance(body, str) else body
    hdrs = dict(headers or {})
    if isinstance(body, dict):
        hdrs.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    status, _h, body = http("GET", url, headers=headers)
    assert status == 200, (url, status, body)
    return json.loads(body)


def eventually(check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (OSError, AssertionError, ValueError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last result: {last!r}")


class Double:
    """One double running as ``python -m <package> <args>``; its log goes to a file."""

    def __init__(self, package: str, args: list[str], workdir: Path, env: dict[str, str] | None = None) -> None:
        self.package, self.args, self.workdir = package, args, workdir
        self.env = {**os.environ, "PYTHONPATH": str(DOUBLES_DIR), "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
        self.log_path = workdir / f"{package}-{time.monotonic_ns()}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Double:
        self.handle = self.log_path.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", self.package, *self.args], env=self.env,
                                     stdout=self.handle, stderr=subprocess.STDOUT, cwd=self.workdir)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_exit(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def wait_http(self, url: str, statuses: tuple[int, ...] = (200,)) -> None:
        def ready() -> bool:
            assert self.proc is not None and self.proc.poll() is None, f"{self.package} exited:\n{self.log()}"
            return http("GET", url)[0] in statuses

        eventually(ready, 15)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        try:
            if self.proc.poll() is not None:
                return self.proc.returncode
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait(5)
        finally:
            self.handle.close()


@pytest.fixture
def doubles(tmp_path: Path) -> Iterator[Callable[..., Double]]:
    started: list[Double] = []

    def run(package: str, args: list[str], env: dict[str, str] | None = None) -> Double:
        double = Double(package, args, tmp_path, env).start()
        started.append(double)
        return double

    yield run
    for double in reversed(started):
        double.stop()
    for double in started:
        print(f"----- log of the {double.package} double -----\n{double.log()[-4000:]}")


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# --- fake Docker Engine API (unix socket) ---------------------------------------------------------


class FakeDocker:
    """A minimal dockerd stand-in: one or more containers with logs and stats."""

    def __init__(self, socket_path: Path) -> None:
        self.path = socket_path
        self.containers: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.requests.append(self.path)
                status, ctype, body = fake.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.server = Server(str(socket_path), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add(self, cid: str, name: str, image: str, logs: list[tuple[str, str, str]] | None = None,
            memory_limit: int = 0) -> dict[str, Any]:
        container = {"id": cid, "name": name, "image": image, "logs": list(logs or []), "memory_limit": memory_limit}
        self.containers[cid] = container
        return container

    def answer(self, path: str) -> tuple[int, str, bytes]:
        route, _sep, query = path.partition("?")
        if route in ("/_ping",):
            return 200, "text/plain", b"OK"
        if route == "/info":
            return 200, "application/json", json.dumps({"NCPU": 4, "MemTotal": 8 * 2**30, "CgroupDriver": "cgroupfs",
                                                        "OperatingSystem": "fake docker (test)"}).encode()
        if route == "/version":
            return 200, "application/json", b'{"Version": "20.10.99-fake"}'
        if route == "/containers/json":
            return 200, "application/json", json.dumps([self.summary(c) for c in self.containers.values()]).encode()
        parts = route.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "containers" and parts[1] in self.containers:
            container = self.containers[parts[1]]
            if parts[2] == "json":
                return 200, "application/json", json.dumps(self.inspect(container)).encode()
            if parts[2] == "stats":
                return 200, "application/json", json.dumps(self.stats()).encode()
            if parts[2] == "logs":
                return 200, "application/vnd.docker.raw-stream", self.logs(container, query)
        return 404, "application/json", b'{"message": "page not found"}'

    @staticmethod
    def summary(c: dict[str, Any]) -> dict[str, Any]:
        return {"Id": c["id"], "Names": [f"/{c['name']}"], "Image": c["image"],
                "Labels": {"com.example.role": "web"}, "HostConfig": {"NetworkMode": "monitoring"},
                "NetworkSettings": {"Networks": {"monitoring": {"IPAddress": "172.20.0.9"}}}}

    @staticmethod
    def inspect(c: dict[str, Any]) -> dict[str, Any]:
        return {"Id": c["id"], "Config": {"Image": c["image"], "Tty": False},
                "State": {"StartedAt": "2024-05-01T10:00:00.5Z"},
                "HostConfig": {"Memory": c["memory_limit"], "CpuShares": 0}}

    @staticmethod
    def stats() -> dict[str, Any]:
        return {"cpu_stats": {"cpu_usage": {"total_usage": 1_500_000_000, "usage_in_usermode": 1_000_000_000,
                                            "usage_in_kernelmode": 500_000_000}},
                "memory_stats": {"usage": 50_000_000, "stats": {"total_inactive_file": 10_000_000,
                                                                "total_rss": 30_000_000, "total_cache": 15_000_000}},
                "networks": {"eth0": {"rx_bytes": 1234, "tx_bytes": 5678, "rx_packets": 10, "tx_packets": 20,
                                      "rx_errors": 0, "tx_errors": 0}},
                "pids_stats": {"current": 7}}

    @staticmethod
    def logs(c: dict[str, Any], query: str) -> bytes:
        params = dict(item.split("=", 1) for item in query.split("&") if "=" in item)
        seconds, _sep, frac = params.get("since", "0").partition(".")
        since_ns = int(seconds) * 10**9 + int((frac or "0").ljust(9, "0")[:9])
        out = b""
        for stream, stamp, line in c["logs"]:
            ts_ns = rfc3339_ns(stamp)
            if ts_ns < since_ns:
                continue
            payload = f"{stamp} {line}\n".encode()
            out += struct.pack(">BxxxI", 1 if stream == "stdout" else 2, len(payload)) + payload
        return out


def rfc3339_ns(stamp: str) -> int:
    base, _sep, frac = stamp.rstrip("Z").partition(".")
    return int(datetime.fromisoformat(base + "+00:00").timestamp()) * 10**9 + int(frac.ljust(9, "0")[:9])


@pytest.fixture
def fake_docker(tmp_path: Path) -> Iterator[FakeDocker]:
    path = Path("/tmp") / f"gsttest-fake-docker-{os.getpid()}-{time.monotonic_ns()}.sock"
    fake = FakeDocker(path)
    yield fake
    fake.close()
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


# --- Loki ------------------------------------------------------------------------------------


def loki_config(tmp_path: Path, port: int, **overrides: Any) -> Path:
    data: dict[str, Any] = {
        "auth_enabled": False,
        "server": {"http_listen_port": port, "http_listen_address": LOCAL, "grpc_listen_port": 0},
        "common": {"path_prefix": str(tmp_path / "loki"), "replication_factor": 1,
                   "storage": {"filesystem": {"chunks_directory": str(tmp_path / "loki" / "chunks"),
                                              "rules_directory": str(tmp_path / "loki" / "rules")}},
                   "ring": {"kvstore": {"store": "inmemory"}}},
        "schema_config": {"configs": [{"from": "2024-01-01", "store": "tsdb", "object_store": "filesystem",
                                       "schema": "v13", "index": {"prefix": "index_", "period": "24h"}}]},
        "limits_config": {"retention_period": "744h"},
        "compactor": {"working_directory": str(tmp_path / "loki" / "compactor"), "retention_enabled": True,
                      "delete_request_store": "filesystem"},
    }
    data.update(overrides)
    return write_yaml(tmp_path / f"loki-{port}.yaml", data)


def start_loki(doubles: Callable[..., Double], tmp_path: Path, delay: str = "0",
               **overrides: Any) -> tuple[Double, str]:
    port = free_port()
    double = doubles("loki", [f"-config.file={loki_config(tmp_path, port, **overrides)}"],
                     {"DOUBLE_READY_DELAY": delay})
    base = f"http://{LOCAL}:{port}"
    double.wait_http(f"{base}/ready")
    return double, base


def push(base: str, labels: dict[str, str], lines: list[str]) -> int:
    now = time.time_ns()
    body = {"streams": [{"stream": labels, "values": [[str(now + i), line] for i, line in enumerate(lines)]}]}
    return http("POST", f"{base}/loki/api/v1/push", body)[0]


def query_lines(base: str, logql: str, params: dict[str, str] | None = None) -> list[str]:
    query = {"query": logql, "limit": "1000", **(params or {})}
    url = f"{base}/loki/api/v1/query_range?" + urllib.parse.urlencode(query)
    data = get_json(url)
    assert data["status"] == "success" and data["data"]["resultType"] == "streams"
    return [value[1] for stream in data["data"]["result"] for value in stream["values"]]


def test_loki_double_ready_is_503_while_the_ingester_warms_up_then_200(doubles, tmp_path):
    port = free_port()
    double = doubles("loki", [f"-config.file={loki_config(tmp_path, port)}"], {"DOUBLE_READY_DELAY": "5"})
    url = f"http://{LOCAL}:{port}/ready"

    def past_starting():
        # On a loaded machine the first answers may still be "starting"; wait for the warm-up phase itself.
        if double.proc.poll() is not None:
            return None
        answer = http("GET", url)
        return None if answer[2].startswith(b"Not ready: starting") else answer

    first = eventually(past_starting, 15, 0.05)
    assert first[0] == 503
    assert b"Ingester not ready: waiting for 5s after being ready" in first[2]
    eventually(lambda: http("GET", url)[0] == 200, 10)
    assert http("GET", url)[2].strip() == b"ready"


def test_loki_double_push_then_query_range_finds_the_line_with_line_filters(doubles, tmp_path):
    _double, base = start_loki(doubles, tmp_path)
    lines = ["GET /health 200", "needle in a haystack", "ERROR disk full"]
    assert push(base, {"job": "gsttest", "container": "web"}, lines) == 204
    assert query_lines(base, '{job="gsttest"} |= "needle"') == ["needle in a haystack"]
    assert query_lines(base, '{container=~"w.b"} |~ "ERR(OR)?"') == ["ERROR disk full"]
    assert query_lines(base, '{job="gsttest"} != "needle" != "ERROR"') == ["GET /health 200"]
    assert query_lines(base, '{job="other"}') == []
    assert get_json(f"{base}/loki/api/v1/labels")["data"] == ["container", "job"]
    assert get_json(f"{base}/loki/api/v1/label/job/values")["data"] == ["gsttest"]
    series = get_json(f"{base}/loki/api/v1/series?" + urllib.parse.urlencode({"match[]": '{job="gsttest"}'}))
    assert series["data"] == [{"container": "web", "job": "gsttest"}]


def test_loki_double_metric_and_instant_queries_follow_loki_3(doubles, tmp_path):
    _double, base = start_loki(doubles, tmp_path)
    push(base, {"job": "gsttest"}, ["a", "b", "c"])
    instant = f"{base}/loki/api/v1/query?"
    data = get_json(instant + urllib.parse.urlencode({"query": 'sum by (job) (count_over_time({job="gsttest"}[5m]))'}))
    assert data["data"]["resultType"] == "vector"
    assert data["data"]["result"][0]["metric"] == {"job": "gsttest"}
    assert data["data"]["result"][0]["value"][1] == "3"
    health = get_json(instant + urllib.parse.urlencode({"query": "vector(1)+vector(1)"}))
    assert health["data"]["result"][0]["value"][1] == "2"
    status, _h, body = http("GET", instant + urllib.parse.urlencode({"query": '{job="gsttest"}'}))
    assert status == 400 and b"log queries are not supported as an instant query type" in body
    status, _h, body = http("GET", f"{base}/loki/api/v1/query_range?" +
                            urllib.parse.urlencode({"query": '{job="gsttest"} | json'}))
    assert status == 400 and b"not supported by the Loki test double" in body


def test_loki_double_refuses_protobuf_push_and_needs_an_org_id_with_auth(doubles, tmp_path):
    _double, base = start_loki(doubles, tmp_path, auth_enabled=True)
    status, _h, body = http("POST", f"{base}/loki/api/v1/push", b"\x00\x01",
                            {"Content-Type": "application/x-protobuf", "X-Scope-OrgID": "t1"})
    assert status == 415 and b"protobuf" in body
    assert http("POST", f"{base}/loki/api/v1/push", {"streams": []})[0] == 401
    body = {"streams": [{"stream": {"job": "x"}, "values": [[str(time.time_ns()), "tenant line"]]}]}
    assert http("POST", f"{base}/loki/api/v1/push", body, {"X-Scope-OrgID": "t1"})[0] == 204
    url = f"{base}/loki/api/v1/query_range?" + urllib.parse.urlencode({"query": '{job="x"}'})
    t1 = json.loads(http("GET", url, headers={"X-Scope-OrgID": "t1"})[2])
    t2 = json.loads(http("GET", url, headers={"X-Scope-OrgID": "t2"})[2])
    assert len(t1["data"]["result"]) == 1 and t2["data"]["result"] == []


def test_loki_double_keeps_pushed_lines_across_a_restart(doubles, tmp_path):
    double, base = start_loki(doubles, tmp_path)
    assert push(base, {"job": "persist"}, ["survives restarts"]) == 204
    assert double.stop() == 0
    _again, base2 = start_loki(doubles, tmp_path)
    assert query_lines(base2, '{job="persist"}') == ["survives restarts"]


def test_loki_double_refuses_retention_without_delete_request_store(doubles, tmp_path):
    port = free_port()
    config = loki_config(tmp_path, port, compactor={"working_directory": str(tmp_path / "c"),
                                                    "retention_enabled": True})
    double = doubles("loki", [f"-config.file={config}"])
    assert double.wait_exit() != 0
    assert "compactor.delete-request-store should be configured when retention is enabled" in double.log()


def test_loki_double_refuses_a_tsdb_index_period_other_than_24h(doubles, tmp_path):
    port = free_port()
    schema = {"configs": [{"from": "2024-01-01", "store": "tsdb", "object_store": "filesystem", "schema": "v13",
                           "index": {"prefix": "index_", "period": "168h"}}]}
    double = doubles("loki", [f"-config.file={loki_config(tmp_path, port, schema_config=schema)}"])
    assert double.wait_exit() != 0
    assert "tsdb must always have periodic config for index set to 24h" in double.log()


def test_loki_double_serves_config_buildinfo_and_metrics_named_as_a_double(doubles, tmp_path):
    _double, base = start_loki(doubles, tmp_path)
    config = yaml.safe_load(http("GET", f"{base}/config")[2])
    assert config["limits_config"]["retention_period"] == "744h"
    assert config["compactor"]["delete_request_store"] == "filesystem"
    assert get_json(f"{base}/loki/api/v1/status/buildinfo")["version"].endswith("-double")
    metrics = http("GET", f"{base}/metrics")[2].decode()
    assert 'loki_build_info{' in metrics and 'double="true"' in metrics


# --- Tempo -----------------------------------------------------------------------------------

TRACE_ID = "5b8efff798038103d269b633813fc60c"


def tempo_config(tmp_path: Path, api: int, otlp_http: int, otlp_grpc: int, **extra: Any) -> Path:
    receivers = {"otlp": {"protocols": {"http": {"endpoint": f"{LOCAL}:{otlp_http}"},
                                        "grpc": {"endpoint": f"{LOCAL}:{otlp_grpc}"}}}}
    receivers.update(extra.pop("receivers", {}))
    data = {
        "stream_over_http_enabled": True,
        "server": {"http_listen_port": api, "http_listen_address": LOCAL},
        "distributor": {"receivers": receivers},
        "backend_worker": {"compaction": {"block_retention": "720h"}},  # Tempo 3.x, the double's default
        "metrics_generator": {"storage": {"path": str(tmp_path / "tempo" / "generator"),
                                          "remote_write": [{"url": "http://prometheus:9090/api/v1/write",
                                                            "send_exemplars": True}]}},
        "storage": {"trace": {"backend": "local", "wal": {"path": str(tmp_path / "tempo" / "wal")},
                              "local": {"path": str(tmp_path / "tempo" / "blocks")}}},
        "overrides": {"defaults": {"metrics_generator": {"processors": ["service-graphs", "span-metrics"]}}},
        **extra,
    }
    return write_yaml(tmp_path / f"tempo-{api}.yaml", data)


def otlp_body(trace_id: str = TRACE_ID) -> dict[str, Any]:
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
        "scopeSpans": [{"scope": {"name": "gsttest"}, "spans": [{
            "traceId": trace_id, "spanId": "eee19b7ec3c1b174", "name": "GET /cart", "kind": 2,
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000250000000",
            "attributes": [{"key": "http.method", "value": {"stringValue": "GET"}}],
        }]}],
    }]}


def start_tempo(doubles: Callable[..., Double], tmp_path: Path) -> tuple[Double, str, str]:
    api, otlp_http, otlp_grpc = free_port(), free_port(), free_port()
    double = doubles("tempo", [f"-config.file={tempo_config(tmp_path, api, otlp_http, otlp_grpc)}"],
                     {"DOUBLE_READY_DELAY": "0"})
    base = f"http://{LOCAL}:{api}"
    double.wait_http(f"{base}/ready")
    return double, base, f"http://{LOCAL}:{otlp_http}"


def test_tempo_double_otlp_json_post_then_get_by_trace_id_returns_it(doubles, tmp_path):
    _double, base, otlp = start_tempo(doubles, tmp_path)
    status, _h, body = http("POST", f"{otlp}/v1/traces", otlp_body())
    assert status == 200, body
    trace = get_json(f"{base}/api/traces/{TRACE_ID}")
    spans = [s for b in trace["batches"] for ss in b["scopeSpans"] for s in ss["spans"]]
    assert [s["name"] for s in spans] == ["GET /cart"]
    assert spans[0]["traceId"] == "W47/95gDgQPSabYzgT/GDA=="  # Tempo's JSON carries ids as base64
    assert spans[0]["kind"] == "SPAN_KIND_SERVER"
    assert trace["batches"][0]["resource"]["attributes"][0]["value"]["stringValue"] == "checkout"


def test_tempo_double_answers_404_for_an_unknown_trace_and_400_for_a_bad_id(doubles, tmp_path):
    _double, base, _otlp = start_tempo(doubles, tmp_path)
    assert http("GET", f"{base}/api/traces/0123456789abcdef0123456789abcdef")[0] == 404
    assert http("GET", f"{base}/api/traces/not-hex")[0] == 400


def test_tempo_double_searches_by_tags_and_traceql_and_lists_tags(doubles, tmp_path):
    _double, base, otlp = start_tempo(doubles, tmp_path)
    http("POST", f"{otlp}/v1/traces", otlp_body())
    found = get_json(f"{base}/api/search?" + urllib.parse.urlencode({"tags": "service.name=checkout"}))
    assert [t["traceID"] for t in found["traces"]] == [TRACE_ID]
    assert found["traces"][0]["rootServiceName"] == "checkout"
    none = get_json(f"{base}/api/search?" + urllib.parse.urlencode({"q": '{ resource.service.name = "cart" }'}))
    assert none["traces"] == []
    tags = get_json(f"{base}/api/v2/search/tags")
    assert {"name": "resource", "tags": ["service.name"]} in tags["scopes"]


def test_tempo_double_refuses_an_opencensus_receiver_like_tempo_2_9(doubles, tmp_path):
    api = free_port()
    config = tempo_config(tmp_path, api, free_port(), free_port(), receivers={"opencensus": None})
    double = doubles("tempo", [f"-config.file={config}"])
    assert double.wait_exit() != 0
    assert "'receivers' unknown type: \\\"opencensus\\\"" in double.log()


def test_tempo_double_refuses_protobuf_and_says_it_remote_writes_nothing(doubles, tmp_path):
    double, _base, otlp = start_tempo(doubles, tmp_path)
    status, _h, body = http("POST", f"{otlp}/v1/traces", b"\x0a\x00", {"Content-Type": "application/x-protobuf"})
    assert status == 415 and b"application/json only" in body
    assert "remote-writes nothing" in double.log()


# --- Promtail (end to end with the Loki double) ------------------------------------------------------


def promtail_config(tmp_path: Path, port: int, loki_url: str, scrape: list[dict[str, Any]]) -> Path:
    data = {
        "server": {"http_listen_port": port, "http_listen_address": LOCAL, "grpc_listen_port": 0},
        "positions": {"filename": str(tmp_path / "promtail" / "positions.yaml"), "sync_period": "1s"},
        "target_config": {"sync_period": "1s"},
        "clients": [{"url": f"{loki_url}/loki/api/v1/push", "batchwait": "200ms",
                     "backoff_config": {"min_period": "100ms", "max_period": "500ms", "max_retries": 100}}],
        "scrape_configs": scrape,
    }
    return write_yaml(tmp_path / f"promtail-{port}.yml", data)


def file_scrape(log_dir: Path) -> list[dict[str, Any]]:
    return [{"job_name": "system", "static_configs": [
        {"targets": ["localhost"], "labels": {"job": "varlogs", "__path__": str(log_dir / "*.log")}}]}]


def test_promtail_double_tails_a_file_glob_and_pushes_to_the_loki_double(doubles, tmp_path):
    _loki, loki_base = start_loki(doubles, tmp_path)
    log_dir = tmp_path / "varlog"
    log_dir.mkdir()
    (log_dir / "app.log").write_text("first line\nsecond line\n")
    (log_dir / "ignored.txt").write_text("not matched by the glob\n")
    port = free_port()
    promtail = doubles("promtail", [f"-config.file={promtail_config(tmp_path, port, loki_base, file_scrape(log_dir))}"])
    promtail.wait_http(f"http://{LOCAL}:{port}/ready")
    with (log_dir / "app.log").open("a") as handle:
        handle.write("third line, appended\n")
    lines = eventually(lambda: (q := query_lines(loki_base, '{job="varlogs"}')) and len(q) == 3 and q)
    assert sorted(lines) == ["first line", "second line", "third line, appended"]
    data = get_json(f"{loki_base}/loki/api/v1/series?" + urllib.parse.urlencode({"match[]": '{job="varlogs"}'}))
    assert data["data"] == [{"filename": str(log_dir / "app.log"), "job": "varlogs"}]
    metrics = http("GET", f"http://{LOCAL}:{port}/metrics")[2].decode()
    assert f'promtail_sent_entries_total{{host="{loki_base[7:]}"}} 3' in metrics


def test_promtail_double_resumes_from_positions_after_restart_without_duplicates(doubles, tmp_path):
    _loki, loki_base = start_loki(doubles, tmp_path)
    log_dir = tmp_path / "varlog"
    log_dir.mkdir()
    log_file = log_dir / "app.log"
    log_file.write_text("one\ntwo\n")
    port = free_port()
    config = promtail_config(tmp_path, port, loki_base, file_scrape(log_dir))
    first = doubles("promtail", [f"-config.file={config}"])
    eventually(lambda: len(query_lines(loki_base, '{job="varlogs"}')) == 2)
    assert first.stop() == 0
    positions = yaml.safe_load((tmp_path / "promtail" / "positions.yaml").read_text())["positions"]
    assert positions[str(log_file)] == str(len("one\ntwo\n"))
    with log_file.open("a") as handle:
        handle.write("three\npartial-without-newline")
    second = doubles("promtail", [f"-config.file={config}"])
    second.wait_http(f"http://{LOCAL}:{port}/ready")
    eventually(lambda: len(query_lines(loki_base, '{job="varlogs"}')) == 3)
    time.sleep(1.5)  # give a duplicate (if any) time to arrive
    assert sorted(query_lines(loki_base, '{job="varlogs"}')) == ["one", "three", "two"]


def test_promtail_double_retries_while_loki_is_down_then_delivers(doubles, tmp_path):
    loki_port = free_port()
    log_dir = tmp_path / "varlog"
    log_dir.mkdir()
    (log_dir / "app.log").write_text("written while loki was down\n")
    port = free_port()
    config = promtail_config(tmp_path, port, f"http://{LOCAL}:{loki_port}", file_scrape(log_dir))
    promtail = doubles("promtail", [f"-config.file={config}"])
    eventually(lambda: "error sending batch, will retry" in promtail.log())
    metrics = http("GET", f"http://{LOCAL}:{port}/metrics")[2].decode()
    assert "promtail_batch_retries_total" in metrics
    loki = doubles("loki", [f"-config.file={loki_config(tmp_path, loki_port)}"], {"DOUBLE_READY_DELAY": "0"})
    loki.wait_http(f"http://{LOCAL}:{loki_port}/ready")
    eventually(lambda: query_lines(f"http://{LOCAL}:{loki_port}", '{job="varlogs"}') == ["written while loki was down"])


def test_promtail_double_ships_docker_container_logs_labelled_by_container(doubles, tmp_path, fake_docker):
    # the fake container logged in 2024: let the Loki double accept entries older than a week
    _loki, loki_base = start_loki(doubles, tmp_path, limits_config={"reject_old_samples": False})
    cid = "c0ffee" + "0" * 58
    fake_docker.add(cid, "gsttest-web", "nginx:1", logs=[("stdout", "2024-05-01T10:00:01.000000001Z", "GET / 200"),
                                                         ("stderr", "2024-05-01T10:00:02Z", "warning: slow")])
    scrape = [{"job_name": "docker",
               "docker_sd_configs": [{"host": f"unix://{fake_docker.path}", "refresh_interval": "1s"}],
               "relabel_configs": [{"source_labels": ["__meta_docker_container_name"], "regex": "/(.*)",
                                    "target_label": "container"},
                                   {"source_labels": ["__meta_docker_container_log_stream"],
                                    "target_label": "logstream"}]}]
    port = free_port()
    promtail = doubles("promtail", [f"-config.file={promtail_config(tmp_path, port, loki_base, scrape)}"])
    promtail.wait_http(f"http://{LOCAL}:{port}/ready")
    window = {"start": "2024-05-01T00:00:00Z", "end": "2024-05-02T00:00:00Z"}
    eventually(lambda: len(query_lines(loki_base, '{container="gsttest-web"}', window)) == 2)
    assert query_lines(loki_base, '{container="gsttest-web", logstream="stderr"}', window) == ["warning: slow"]
    url = f"{loki_base}/loki/api/v1/query_range?" + urllib.parse.urlencode({"query": '{logstream="stdout"}', **window})
    stream = get_json(url)["data"]["result"][0]
    assert stream["stream"] == {"container": "gsttest-web", "logstream": "stdout"}
    assert stream["values"] == [["1714557601000000001", "GET / 200"]]  # Docker's own timestamp is kept


def test_promtail_double_ships_recent_docker_logs_once(doubles, tmp_path, fake_docker):
    _loki, loki_base = start_loki(doubles, tmp_path)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
    cid = "beef" + "1" * 60
    container = fake_docker.add(cid, "gsttest-api", "api:2", logs=[("stdout", stamp, "hello from api")])
    scrape = [{"job_name": "docker",
               "docker_sd_configs": [{"host": f"unix://{fake_docker.path}", "refresh_interval": "1s"}],
               "relabel_configs": [{"source_labels": ["__meta_docker_container_name"], "regex": "/(.*)",
                                    "target_label": "container"}]}]
    port = free_port()
    promtail = doubles("promtail", [f"-config.file={promtail_config(tmp_path, port, loki_base, scrape)}"])
    promtail.wait_http(f"http://{LOCAL}:{port}/ready")
    eventually(lambda: query_lines(loki_base, '{container="gsttest-api"}') == ["hello from api"])
    later = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
    container["logs"].append(("stdout", later, "second api line"))
    eventually(lambda: sorted(query_lines(loki_base, '{container="gsttest-api"}')) == ["hello from api",
                                                                                       "second api line"])
    assert any("/logs?" in r and "since=" in r for r in fake_docker.requests)


# --- Alloy (end to end with the Loki double) ------------------------------------------------------


def alloy_config(path: Path, loki_url: str, log_dir: Path, docker_socket: Path | None = None,
                 extra: str = "") -> Path:
    """The shape the alloy role renders: Docker discovery with its labels, /var/log files, one loki.write."""
    docker = f"""
discovery.docker "containers" {{
  host             = "unix://{docker_socket}"
  refresh_interval = "1s"
}}
discovery.relabel "containers" {{
  targets = []
  rule {{
    source_labels = ["__meta_docker_container_name"]
    regex         = "/?(.*)"
    target_label  = "container"
  }}
  rule {{
    source_labels = ["__meta_docker_container_log_stream"]
    target_label  = "stream"
  }}
}}
loki.source.docker "containers" {{
  host          = "unix://{docker_socket}"
  targets       = discovery.docker.containers.targets
  labels        = {{"job" = "docker"}}
  relabel_rules = discovery.relabel.containers.rules
  forward_to    = [loki.write.loki.receiver]
}}
""" if docker_socket else ""
    path.write_text(f"""// written by test_service_doubles.py
local.file_match "varlogs" {{
  path_targets = [{{"__path__" = "{log_dir}/*.log", "job" = "varlogs"}}]
  sync_period  = "1s"
}}
loki.source.file "varlogs" {{
  targets    = local.file_match.varlogs.targets
  forward_to = [loki.write.loki.receiver]
}}
{docker}
loki.write "loki" {{
  endpoint {{
    url        = "{loki_url}/loki/api/v1/push"
    batch_wait = "200ms"
  }}
}}
{extra}
""", encoding="utf-8")
    return path


def start_alloy(doubles: Callable[..., Double], tmp_path: Path, config: Path) -> tuple[Double, str]:
    port = free_port()
    double = doubles("alloy", ["run", str(config), f"--server.http.listen-addr={LOCAL}:{port}",
                               f"--storage.path={tmp_path / 'alloy-data'}"])
    base = f"http://{LOCAL}:{port}"
    double.wait_http(f"{base}/-/ready")
    return double, base


def test_alloy_double_ships_files_and_docker_logs_with_the_roles_labels(doubles, tmp_path, fake_docker):
    _loki, loki_base = start_loki(doubles, tmp_path, limits_config={"reject_old_samples": False})
    log_dir = tmp_path / "varlog"
    log_dir.mkdir()
    (log_dir / "syslog.log").write_text("host line one\n")
    cid = "a11e4" + "0" * 59
    fake_docker.add(cid, "gsttest-al-web", "nginx:1", logs=[("stdout", "2024-05-01T10:00:01.000000001Z", "GET / 200"),
                                                            ("stderr", "2024-05-01T10:00:02Z", "warning: slow")])
    config = alloy_config(tmp_path / "config.alloy", loki_base, log_dir, fake_docker.path)
    _alloy, base = start_alloy(doubles, tmp_path, config)
    eventually(lambda: query_lines(loki_base, '{job="varlogs"}') == ["host line one"])
    window = {"start": "2024-05-01T00:00:00Z", "end": "2024-05-02T00:00:00Z"}
    eventually(lambda: len(query_lines(loki_base, '{container="gsttest-al-web"}', window)) == 2)
    url = f"{loki_base}/loki/api/v1/query_range?" + urllib.parse.urlencode({"query": '{stream="stderr"}', **window})
    stream = get_json(url)["data"]["result"][0]
    assert stream["stream"] == {"container": "gsttest-al-web", "job": "docker", "stream": "stderr"}
    assert stream["values"] == [["1714557602000000000", "warning: slow"]]
    status, headers, body = http("GET", f"{base}/metrics")
    metrics = body.decode()
    assert status == 200 and "alloy_build_info{" in metrics and 'double="true"' in metrics
    assert headers.get("X-Test-Double") == "alloy"
    assert f'loki_write_sent_entries_total{{host="{loki_base[7:]}"}} 3' in metrics
    assert http("GET", f"{base}/-/healthy")[2] == b"All Alloy components are healthy.\n"
    assert _alloy.stop() == 0
    # Alloy keeps each source's positions under its own directory of --storage.path
    positions = yaml.safe_load((tmp_path / "alloy-data" / "loki.source.file.varlogs" / "positions.yml").read_text())
    assert positions["positions"] == {str(log_dir / "syslog.log"): str(len("host line one\n"))}


def test_alloy_double_reload_keeps_the_running_config_when_the_new_one_is_bad(doubles, tmp_path):
    _loki, loki_base = start_loki(doubles, tmp_path)
    log_dir = tmp_path / "varlog"
    log_dir.mkdir()
    (log_dir / "a.log").write_text("before the reload\n")
    config = alloy_config(tmp_path / "config.alloy", loki_base, log_dir)
    alloy, base = start_alloy(doubles, tmp_path, config)
    eventually(lambda: query_lines(loki_base, '{job="varlogs"}') == ["before the reload"])
    good_text = config.read_text()
    config.write_text(good_text.replace('batch_wait = "200ms"', 'batch_wait = "200ms"\n    colour = "blue"'))
    status, _headers, body = http("POST", f"{base}/-/reload", b"")
    assert status == 400 and b'unrecognized attribute name "endpoint.colour"' in body
    with (log_dir / "a.log").open("a") as handle:
        handle.write("after the refused reload\n")
    eventually(lambda: sorted(query_lines(loki_base, '{job="varlogs"}')) == ["after the refused reload",
                                                                             "before the reload"])
    metrics = http("GET", f"{base}/metrics")[2].decode()
    assert "alloy_config_last_load_successful 0" in metrics and "alloy_config_load_failures_total 1" in metrics
    config.write_text(good_text.replace('"job" = "varlogs"', '"job" = "reloaded"'))
    assert http("POST", f"{base}/-/reload", b"")[0:1] == (200,)
    (log_dir / "b.log").write_text("read by the new config\n")
    eventually(lambda: "read by the new config" in query_lines(loki_base, '{job="reloaded"}'))
    assert alloy.stop() == 0


# --- cAdvisor --------------------------------------------------------------------------------


def test_cadvisor_double_healthz_and_machine_metrics_without_a_docker_socket(doubles, tmp_path):
    port = free_port()
    double = doubles("cadvisor", ["-logtostderr", f"-port={port}", f"-listen_ip={LOCAL}", "-docker_only=true",
                                  "-housekeeping_interval=10s", f"-docker=unix://{tmp_path}/missing.sock"])
    base = f"http://{LOCAL}:{port}"
    double.wait_http(f"{base}/healthz")
    assert http("GET", f"{base}/healthz")[2] == b"ok"
    metrics = http("GET", f"{base}/metrics")[2].decode()
    assert "machine_cpu_cores" in metrics and 'double="true"' in metrics
    assert "container_scrape_error 1" in metrics
    assert "container_cpu_usage_seconds_total{" not in metrics
    assert "serving machine metrics only" in double.log()


def test_cadvisor_double_computes_container_series_from_the_docker_api(doubles, fake_docker):
    cid = "ab" * 32
    fake_docker.add(cid, "gsttest-grafana", "grafana/grafana:11.3.0", memory_limit=256 * 2**20)
    port = free_port()
    double = doubles("cadvisor", [f"-port={port}", f"-listen_ip={LOCAL}", f"-docker=unix://{fake_docker.path}"])
    base = f"http://{LOCAL}:{port}"
    double.wait_http(f"{base}/healthz")
    metrics = http("GET", f"{base}/metrics")[2].decode()
    labels = (f'id="/docker/{cid}",image="grafana/grafana:11.3.0",name="gsttest-grafana",'
              'container_label_com_example_role="web"')
    assert f'container_cpu_usage_seconds_total{{{labels},cpu="total"}} 1.5' in metrics
    assert f"container_memory_usage_bytes{{{labels}}} 50000000" in metrics
    assert f"container_memory_working_set_bytes{{{labels}}} 40000000" in metrics
    assert f"container_spec_memory_limit_bytes{{{labels}}} {256 * 2**20}" in metrics
    assert f"container_start_time_seconds{{{labels}}} 1714557600.5" in metrics
    assert f'container_network_receive_bytes_total{{{labels},interface="eth0"}} 1234' in metrics
    assert f"container_last_seen{{{labels}}} " in metrics
    assert "machine_cpu_cores 4" in metrics and "container_scrape_error 0" in metrics


# --- InfluxDB 2 ------------------------------------------------------------------------------


def influx_env(tmp_path: Path, port: int, **init: str) -> dict[str, str]:
    env = {"INFLUXD_HTTP_BIND_ADDRESS": f"{LOCAL}:{port}", "INFLUXD_BOLT_PATH": str(tmp_path / "ifx" / "influxd.bolt"),
           "INFLUXD_ENGINE_PATH": str(tmp_path / "ifx" / "engine"), "INFLUXD_CONFIG_PATH": str(tmp_path / "ifx-etc"),
           "INFLUX_CONFIGS_PATH": str(tmp_path / "ifx-etc" / "influx-configs"), "DOUBLE_INFLUXDB_INIT_FROM_ENV": "1",
           "DOCKER_INFLUXDB_INIT_MODE": "setup", "DOCKER_INFLUXDB_INIT_USERNAME": "admin",
           "DOCKER_INFLUXDB_INIT_PASSWORD": "gsttest-password", "DOCKER_INFLUXDB_INIT_ORG": "data2ai",
           "DOCKER_INFLUXDB_INIT_BUCKET": "training", "DOCKER_INFLUXDB_INIT_RETENTION": "30d",
           "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN": "gsttest-admin-token"}
    env.update(init)
    return env


def start_influx(doubles: Callable[..., Double], tmp_path: Path, **init: str) -> tuple[Double, str]:
    port = free_port()
    double = doubles("influxdb", [], influx_env(tmp_path, port, **init))
    base = f"http://{LOCAL}:{port}"
    double.wait_http(f"{base}/health")
    return double, base


TOKEN = {"Authorization": "Token gsttest-admin-token"}


def test_influxdb_double_setup_creates_org_bucket_and_token_on_first_start_only(doubles, tmp_path):
    double, base = start_influx(doubles, tmp_path)
    health = get_json(f"{base}/health")
    assert health["status"] == "pass" and health["version"].endswith("-double")
    assert get_json(f"{base}/api/v2/setup") == {"allowed": False}
    buckets = get_json(f"{base}/api/v2/buckets?org=data2ai&name=training", TOKEN)["buckets"]
    assert len(buckets) == 1
    assert buckets[0]["retentionRules"][0]["everySeconds"] == 2592000
    assert [o["name"] for o in get_json(f"{base}/api/v2/orgs", TOKEN)["orgs"]] == ["data2ai"]
    assert "gsttest-admin-token" in (tmp_path / "ifx-etc" / "influx-configs").read_text()
    assert double.stop() == 0
    _again, base2 = start_influx(doubles, tmp_path, DOCKER_INFLUXDB_INIT_ORG="other",
                                 DOCKER_INFLUXDB_INIT_BUCKET="other", DOCKER_INFLUXDB_INIT_ADMIN_TOKEN="new-token")
    assert [o["name"] for o in get_json(f"{base2}/api/v2/orgs", TOKEN)["orgs"]] == ["data2ai"]
    assert http("GET", f"{base2}/api/v2/orgs", headers={"Authorization": "Token new-token"})[0] == 401


def test_influxdb_double_write_then_flux_query_returns_the_point(doubles, tmp_path):
    _double, base = start_influx(doubles, tmp_path)
    now_s = int(time.time())
    status, _h, body = http("POST", f"{base}/api/v2/write?org=data2ai&bucket=training&precision=s",
                            f"room_temp,room=lab1 celsius=21.5,count=3i {now_s}\n"
                            f"room_temp,room=lab2 celsius=19 {now_s}", TOKEN)
    assert status == 204, body
    flux = ('from(bucket: "training") |> range(start: -1h) '
            '|> filter(fn: (r) => r._measurement == "room_temp" and r._field == "celsius" and r.room == "lab1")')
    status, headers, body = http("POST", f"{base}/api/v2/query?org=data2ai", {"query": flux, "type": "flux"}, TOKEN)
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = [r for r in csv.reader(io.StringIO(body.decode())) if r and not r[0].startswith("#")]
    header, data = rows[0], rows[1:]
    assert header[1:] == ["result", "table", "_start", "_stop", "_time", "_value", "_field", "_measurement", "room"]
    assert len(data) == 1 and data[0][header.index("_value")] == "21.5"
    assert "#datatype,string,long,dateTime:RFC3339" in body.decode()


def test_influxdb_double_rejects_wrong_or_missing_tokens_with_401(doubles, tmp_path):
    _double, base = start_influx(doubles, tmp_path)
    for headers in ({"Authorization": "Token wrong"}, {}):
        status, _h, body = http("GET", f"{base}/api/v2/buckets", headers=headers)
        assert status == 401
        assert json.loads(body) == {"code": "unauthorized", "message": "unauthorized access"}
    wrong = {"Authorization": "Token wrong"}
    status, _h, _b = http("POST", f"{base}/api/v2/write?org=data2ai&bucket=training", "m v=1", wrong)
    assert status == 401


def test_influxdb_double_explains_unsupported_flux_and_rotates_tokens(doubles, tmp_path):
    _double, base = start_influx(doubles, tmp_path)
    status, _h, body = http("POST", f"{base}/api/v2/query?org=data2ai",
                            'from(bucket: "training") |> range(start: -1h) |> pivot(rowKey: ["_time"])',
                            {**TOKEN, "Content-Type": "application/vnd.flux"})
    assert status == 400 and "not supported by the InfluxDB test double" in json.loads(body)["message"]
    org_id = get_json(f"{base}/api/v2/orgs?org=data2ai", TOKEN)["orgs"][0]["id"]
    bucket_id = get_json(f"{base}/api/v2/buckets?org=data2ai&name=training", TOKEN)["buckets"][0]["id"]
    perms = [{"action": a, "resource": {"type": "buckets", "id": bucket_id, "orgID": org_id}}
             for a in ("read", "write")]
    status, _h, body = http("POST", f"{base}/api/v2/authorizations",
                            {"orgID": org_id, "description": "grafana", "permissions": perms}, TOKEN)
    assert status == 201
    new = json.loads(body)
    scoped = {"Authorization": f"Token {new['token']}"}
    assert http("POST", f"{base}/api/v2/write?org=data2ai&bucket=training", "m v=1", scoped)[0] == 204
    assert http("GET", f"{base}/api/v2/orgs", headers=scoped)[0] == 200
    assert http("PATCH", f"{base}/api/v2/authorizations/{new['id']}", {"status": "inactive"}, TOKEN)[0] == 200
    assert http("POST", f"{base}/api/v2/write?org=data2ai&bucket=training", "m v=1", scoped)[0] == 401


def test_influxdb_double_refuses_setup_without_required_variables(doubles, tmp_path):
    port = free_port()
    env = influx_env(tmp_path, port)
    del env["DOCKER_INFLUXDB_INIT_BUCKET"]
    double = doubles("influxdb", [], env)
    assert double.wait_exit() != 0
    assert "DOCKER_INFLUXDB_INIT_BUCKET must be set" in double.log()


def _influx_ids(base: str) -> tuple[str, str]:
    org_id = get_json(f"{base}/api/v2/orgs?org=data2ai", TOKEN)["orgs"][0]["id"]
    bucket_id = get_json(f"{base}/api/v2/buckets?org=data2ai&name=training", TOKEN)["buckets"][0]["id"]
    return org_id, bucket_id


def _influx_token(base: str, org_id: str, permissions: list[dict[str, Any]], description: str) -> str:
    status, _h, body = http("POST", f"{base}/api/v2/authorizations",
                            {"orgID": org_id, "description": description, "permissions": permissions}, TOKEN)
    assert status == 201, body
    return json.loads(body)["token"]


def _influx_query(base: str, token: str, bucket: str, org: str = "data2ai") -> tuple[int, Any]:
    flux = f'from(bucket: "{bucket}") |> range(start: -1h)'
    status, _h, body = http("POST", f"{base}/api/v2/query?org={org}", {"query": flux, "type": "flux"},
                            {"Authorization": f"Token {token}"})
    return status, (body.decode() if status == 200 else json.loads(body))


def _influx_write(base: str, token: str, bucket: str, org: str = "data2ai") -> tuple[int, Any]:
    status, _h, body = http("POST", f"{base}/api/v2/write?org={org}&bucket={bucket}", "m v=1",
                            {"Authorization": f"Token {token}"})
    return status, json.loads(body) if body else None


def test_influxdb_double_enforces_read_write_bucket_and_org_scope_like_influxdb(doubles, tmp_path):
    """Write: 403 {"code": "forbidden", "message": "insufficient permissions for write"} (influxdata/influxdb v2.9.1
    http/write_handler.go, checkBucketWritePermissions). Query: a bucket the token cannot read is looked up through the
    authorized bucket service and reported as not found (query/stdlib/influxdata/influxdb/operators.go,
    "could not find bucket"). An unknown token: 401 "unauthorized access"."""
    _double, base = start_influx(doubles, tmp_path)
    org_id, training = _influx_ids(base)
    status, _h, body = http("POST", f"{base}/api/v2/buckets", {"orgID": org_id, "name": "other"}, TOKEN)
    assert status == 201, body
    other_org = json.loads(http("POST", f"{base}/api/v2/orgs", {"name": "elsewhere"}, TOKEN)[2])["id"]
    status, _h, body = http("POST", f"{base}/api/v2/buckets", {"orgID": other_org, "name": "training"}, TOKEN)
    assert status == 201, body
    read = _influx_token(base, org_id, [{"action": "read", "resource": {"type": "buckets", "id": training,
                                                                        "orgID": org_id}}], "read training")
    write = _influx_token(base, org_id, [{"action": "write", "resource": {"type": "buckets", "id": training,
                                                                          "orgID": org_id}}], "write training")
    org_wide = _influx_token(base, org_id, [{"action": "read", "resource": {"type": "buckets", "orgID": org_id}}],
                             "read every bucket of data2ai")

    assert _influx_write(base, "gsttest-admin-token", "training")[0] == 204, "the operator token writes"
    assert _influx_write(base, "gsttest-admin-token", "other")[0] == 204
    assert _influx_query(base, "gsttest-admin-token", "other")[0] == 200, "the operator token reads any bucket"

    assert _influx_query(base, read, "training")[0] == 200
    assert _influx_write(base, read, "training") == (403, {"code": "forbidden",
                                                           "message": "insufficient permissions for write"})
    status, body = _influx_query(base, read, "other")
    assert status == 404 and body["code"] == "not found"
    assert 'could not find bucket "other"' in body["message"]
    assert _influx_write(base, read, "other")[0] == 403
    # The same bucket name in another org is another bucket: out of the token's org scope.
    status, body = _influx_query(base, read, "training", org="elsewhere")
    assert status == 404 and 'could not find bucket "training"' in body["message"]

    assert _influx_write(base, write, "training")[0] == 204
    assert _influx_query(base, write, "training")[0] == 404, "a write-only token cannot read"

    assert _influx_query(base, org_wide, "other")[0] == 200
    assert _influx_query(base, org_wide, "training", org="elsewhere")[0] == 404
    assert _influx_write(base, org_wide, "other")[0] == 403

    unauthorized = {"code": "unauthorized", "message": "unauthorized access"}
    assert _influx_query(base, "gsttest-unknown", "training") == (401, unauthorized)
    assert _influx_write(base, "gsttest-unknown", "training")[0] == 401


def test_influxdb_double_shows_a_token_only_when_it_creates_it(doubles, tmp_path):
    """InfluxDB 2.9 stores tokens hashed: listings and reads show an empty token (authorization/storage.go)."""
    _double, base = start_influx(doubles, tmp_path)
    org_id, training = _influx_ids(base)
    token = _influx_token(base, org_id, [{"action": "read", "resource": {"type": "buckets", "id": training}}],
                          "gsttest read")
    assert token
    listed = get_json(f"{base}/api/v2/authorizations?orgID={org_id}", TOKEN)["authorizations"]
    assert {a["description"] for a in listed} == {"admin's Token", "gsttest read"}
    assert all(a["token"] == "" for a in listed)
    read_id = next(a["id"] for a in listed if a["description"] == "gsttest read")
    assert get_json(f"{base}/api/v2/authorizations/{read_id}", TOKEN)["token"] == ""
    assert http("DELETE", f"{base}/api/v2/authorizations/{read_id}", headers=TOKEN)[0] == 204
    assert _influx_query(base, token, "training")[0] == 401, "a deleted token is unknown"


def _run_influx_entrypoint(tmp_path: Path, env: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The double's /entrypoint.sh as the influxdb user would run it, with stand-ins for `id` (uid 1000) and
    `influxd` (prints its environment), so its _FILE handling runs on this machine."""
    stubs = tmp_path / "stubs"
    stubs.mkdir(exist_ok=True)
    (stubs / "id").write_text("#!/bin/sh\necho 1000\n")
    (stubs / "influxd").write_text("#!/bin/sh\necho '--- influxd environment ---'\nenv\n")
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    clean = {"PATH": f"{stubs}:/usr/bin:/bin", **env}
    proc = subprocess.run(["bash", str(DOUBLES_DIR / "influxdb" / "entrypoint.sh"), "influxd"], env=clean,
                          capture_output=True, text=True, timeout=30, check=True)
    before, _sep, after = proc.stdout.partition("--- influxd environment ---\n")
    child = dict(line.split("=", 1) for line in after.splitlines() if "=" in line)
    return before, child


def test_influxdb_double_entrypoint_reads_the_file_variants_like_upstream(tmp_path):
    """influxdata/influxdata-docker influxdb/2.9/entrypoint.sh lines 201-204: an existing _FILE replaces the plain
    variable (trailing newlines dropped); a missing one prints "... defined, but file not existing, skipping." and the
    run goes on (the setup then misses the variable)."""
    password, token = tmp_path / "password", tmp_path / "token"
    password.write_text("gsttest-password-from-file\n")
    token.write_text("gsttest-token-from-file")
    printed, child = _run_influx_entrypoint(tmp_path, {
        "DOCKER_INFLUXDB_INIT_PASSWORD": "gsttest-plain", "DOCKER_INFLUXDB_INIT_PASSWORD_FILE": str(password),
        "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE": str(token)})
    assert child["DOCKER_INFLUXDB_INIT_PASSWORD"] == "gsttest-password-from-file"
    assert child["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"] == "gsttest-token-from-file"
    assert "skipping" not in printed

    printed, child = _run_influx_entrypoint(tmp_path, {
        "DOCKER_INFLUXDB_INIT_PASSWORD_FILE": str(tmp_path / "missing"),
        "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE": str(tmp_path / "missing-too")})
    assert "DOCKER_INFLUXDB_INIT_PASSWORD_FILE defined, but file not existing, skipping." in printed
    assert "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE defined, but file not existing, skipping." in printed
    assert "DOCKER_INFLUXDB_INIT_PASSWORD" not in child and "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN" not in child
