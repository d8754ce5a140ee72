"""Loki push client of the Promtail and Alloy TEST DOUBLES (``loki.write`` in Alloy): batches entries and POSTs
JSON to ``clients[].url``.

Retries connection errors, 429 and 5xx with exponential backoff (``backoff_config``),
drops a batch on other 4xx answers or when retries run out, and counts both.
Real Promtail sends snappy-compressed protobuf; the double sends Loki's JSON push body.
"""

from __future__ import annotations

import base64
import json
import queue
import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from common.config import dig, parse_duration
from common.logs import Log
from common.metrics import Registry

Entry = tuple[dict[str, str], int, str]


class ClientMetrics:
    """The push client's series; ``prefix`` is ``promtail`` here and ``loki_write`` in the Alloy double."""

    def __init__(self, registry: Registry, prefix: str = "promtail") -> None:
        self.sent_entries = registry.counter(f"{prefix}_sent_entries_total",
                                             "Number of log entries sent to the ingester.", ("host",))
        self.sent_bytes = registry.counter(f"{prefix}_sent_bytes_total", "Number of bytes sent.", ("host",))
        self.dropped = registry.counter(f"{prefix}_dropped_entries_total",
                                        "Number of log entries dropped because failed to be sent to the ingester "
                                        "after all retries.", ("host", "reason", "tenant"))
        self.retries = registry.counter(f"{prefix}_batch_retries_total",
                                        "Number of times batches has had to be retried.", ("host", "tenant"))
        self.requests = registry.counter(f"{prefix}_double_push_requests_total",
                                         "Push requests made by the TEST DOUBLE, by status code.",
                                         ("host", "status_code"))


class LokiClient:
    def __init__(self, config: dict[str, Any], metrics: ClientMetrics, log: Log,
                 user_agent: str = "promtail-test-double") -> None:
        self.user_agent = user_agent
        self.url = str(config["url"])
        self.host = urlsplit(self.url).netloc
        self.tenant = str(config.get("tenant_id") or "")
        self.external = {str(k): str(v) for k, v in (config.get("external_labels") or {}).items()}
        self.batch_wait = parse_duration(config.get("batchwait", "1s"))
        self.batch_size = int(config.get("batchsize", 1048576))
        self.timeout = parse_duration(config.get("timeout", "10s"))
        self.min_backoff = parse_duration(dig(config, "backoff_config.min_period", "500ms"))
        self.max_backoff = parse_duration(dig(config, "backoff_config.max_period", "5m"))
        self.max_retries = int(dig(config, "backoff_config.max_retries", 10))
        self.headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
        user, password = dig(config, "basic_auth.username"), dig(config, "basic_auth.password")
        if user is not None:
            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"
        if self.tenant:
            self.headers["X-Scope-OrgID"] = self.tenant
        self.metrics, self.log = metrics, log
        self.queue: queue.Queue[Entry] = queue.Queue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"client-{self.host}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def handle(self, entry: Entry) -> None:
        self.queue.put(entry)

    def stop(self, drain_timeout: float = 5.0) -> None:
        """Flush what is queued (bounded in time), then stop."""
        self._stopping.set()
        self._thread.join(drain_timeout + self.timeout)

    def _collect(self) -> list[Entry]:
        batch: list[Entry] = []
        size, deadline = 0, None
        while True:
            timeout = 0.1 if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                entry = self.queue.get(timeout=min(timeout, 0.1))
            except queue.Empty:
                entry = None
            if entry is not None:
                batch.append(entry)
                size += len(entry[2])
                deadline = deadline or time.monotonic() + self.batch_wait
            if batch and (size >= self.batch_size or time.monotonic() >= (deadline or 0) or self._stopping.is_set()):
                return batch
            if not batch and self._stopping.is_set():
                return batch

    def _run(self) -> None:
        while True:
            batch = self._collect()
            if not batch:
                if self._stopping.is_set():
                    return
                continue
            self._send_with_retries(batch)

    def body(self, batch: list[Entry]) -> bytes:
        streams: dict[str, dict[str, Any]] = {}
        for labels, ts, line in batch:
            merged = {**self.external, **labels}
            key = json.dumps(merged, sort_keys=True)
            streams.setdefault(key, {"stream": merged, "values": []})["values"].append([str(ts), line])
        return json.dumps({"streams": list(streams.values())}).encode()

    def _send_with_retries(self, batch: list[Entry]) -> None:
        payload = self.body(batch)
        backoff = self.min_backoff
        attempts = 1 if self._stopping.is_set() else self.max_retries
        for attempt in range(1, attempts + 1):
            status, message = self._post(payload)
            self.metrics.requests.inc(host=self.host, status_code=str(status) if status > 0 else "error")
            if 200 <= status < 300:
                self.metrics.sent_entries.inc(len(batch), host=self.host)
                self.metrics.sent_bytes.inc(sum(len(e[2]) for e in batch), host=self.host)
                return
            if 400 <= status < 500 and status != 429:
                self.log.error("final error sending batch", host=self.host, status=status, error=message)
                self.metrics.dropped.inc(len(batch), host=self.host, reason="ingester_error", tenant=self.tenant)
                return
            self.log.warning("error sending batch, will retry", host=self.host, status=status, error=message,
                             attempt=attempt)
            if attempt == attempts:
                break
            self.metrics.retries.inc(host=self.host, tenant=self.tenant)
            if self._stopping.wait(backoff):
                attempts = min(attempts, attempt + 1)
            backoff = min(backoff * 2, self.max_backoff)
        reason = "rate_limited" if status == 429 else "ingester_error"
        self.log.error("final error sending batch, giving up", host=self.host, entries=len(batch))
        self.metrics.dropped.inc(len(batch), host=self.host, reason=reason, tenant=self.tenant)

    def _post(self, payload: bytes) -> tuple[int, str]:
        request = urllib.request.Request(self.url, data=payload, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "User-Agent": self.user_agent, **self.headers})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                return resp.status, ""
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(300).decode("utf-8", "replace").strip()
        except OSError as exc:
            return -1, str(exc)
