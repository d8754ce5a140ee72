"""A minimal Docker Engine API client over the unix socket (stdlib only), for the TEST DOUBLES.

The Promtail double lists containers and reads their logs through it; the cAdvisor
double reads container stats. Only the few read-only calls they need exist here.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

DEFAULT_HOST = "unix:///var/run/docker.sock"


class DockerError(Exception):
    """The Docker API could not be reached or answered with an error."""


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class DockerClient:
    """``DockerClient("unix:///var/run/docker.sock")`` or ``tcp://host:port``."""

    def __init__(self, host: str = DEFAULT_HOST, timeout: float = 10.0) -> None:
        self.host, self.timeout = host or DEFAULT_HOST, timeout

    def _connection(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.host)
        if parts.scheme == "unix":
            return _UnixHTTPConnection(parts.path, self.timeout)
        if parts.scheme in ("tcp", "http"):
            return http.client.HTTPConnection(parts.hostname or "localhost", parts.port or 2375, timeout=self.timeout)
        raise DockerError(f"unsupported docker host {self.host!r} (the test double speaks unix:// and tcp://)")

    def request(self, path: str) -> tuple[int, dict[str, str], bytes]:
        conn = self._connection()
        try:
            conn.request("GET", path, headers={"Host": "docker"})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        except OSError as exc:
            raise DockerError(f"Cannot connect to the Docker daemon at {self.host}: {exc}") from exc
        finally:
            conn.close()

    def get_json(self, path: str) -> Any:
        status, _headers, body = self.request(path)
        if status >= 400:
            raise DockerError(f"docker API {path}: HTTP {status}: {body[:200]!r}")
        return json.loads(body or b"null")

    def ping(self) -> bool:
        try:
            return self.request("/_ping")[0] == 200
        except DockerError:
            return False

    def containers(self, filters: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
        path = "/containers/json"
        if filters:
            path += "?filters=" + quote(json.dumps(filters))
        return self.get_json(path)

    def inspect(self, container_id: str) -> dict[str, Any]:
        return self.get_json(f"/containers/{container_id}/json")

    def stats(self, container_id: str) -> dict[str, Any]:
        return self.get_json(f"/containers/{container_id}/stats?stream=false&one-shot=true")

    def info(self) -> dict[str, Any]:
        return self.get_json("/info")

    def version(self) -> dict[str, Any]:
        return self.get_json("/version")

    def logs(self, container_id: str, since: str = "0", tty: bool = False) -> Iterator[tuple[str, str, str]]:
        """Yield ``(stream, rfc3339nano_timestamp, line)`` for complete log lines since ``since``."""
        path = f"/containers/{container_id}/logs?stdout=1&stderr=1&timestamps=1&since={since}"
        status, _headers, body = self.request(path)
        if status >= 400:
            raise DockerError(f"docker API logs {container_id[:12]}: HTTP {status}: {body[:200]!r}")
        frames = [("stdout", body)] if tty else list(demultiplex(body))
        pending: dict[str, str] = {}
        for stream, payload in frames:
            text = pending.pop(stream, "") + payload.decode("utf-8", "replace")
            *lines, rest = text.split("\n")
            if rest:
                pending[stream] = rest
            for line in lines:
                stamp, _sep, message = line.partition(" ")
                yield stream, stamp, message.rstrip("\r")


def demultiplex(body: bytes) -> Iterator[tuple[str, bytes]]:
    """Split Docker's multiplexed stdout/stderr stream (8-byte frame headers)."""
    names = {0: "stdin", 1: "stdout", 2: "stderr"}
    pos = 0
    while pos + 8 <= len(body):
        kind, size = body[pos], struct.unpack(">I", body[pos + 4:pos + 8])[0]
        yield names.get(kind, "stdout"), body[pos + 8:pos + 8 + size]
        pos += 8 + size
