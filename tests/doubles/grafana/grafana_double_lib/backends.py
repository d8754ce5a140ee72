"""Checks that the configured database and remote cache are real, reachable servers.

Grafana's /api/health reports the database; the double also insists that the settings point at a
PostgreSQL that answers the PostgreSQL protocol (and accepts the configured credentials) and at a
Redis that answers PING. That is what a stack test needs to catch: a wrong host, port, password
or database name in the Grafana role.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import unquote, urlsplit

from .settings import Settings

CONNECT_TIMEOUT = 2.0
CACHE_SECONDS = 2.0
PROTOCOL_VERSION_3 = 196608


class ProbeError(Exception):
    """The service was not reachable, or did not answer like the expected server."""


@dataclass
class PostgresTarget:
    host: str
    port: int
    user: str
    password: str
    database: str
    # Grafana's driver could not read the connection string (the probe reports it, the login never happens).
    error: str = ""


@dataclass
class RedisTarget:
    host: str
    port: int
    password: str
    username: str
    db: int


@dataclass
class BackendStatus:
    database_ok: bool
    cache_ok: bool
    details: dict[str, str] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return self.database_ok and self.cache_ok


def _split_host(hostport: str, default_port: int) -> tuple[str, int]:
    hostport = hostport.strip()
    if hostport.startswith("["):
        host, _bracket, rest = hostport[1:].partition("]")
        return host, int(rest.lstrip(":") or default_port)
    host, sep, port = hostport.rpartition(":")
    if not sep:
        return hostport, default_port
    return host, int(port)


def grafana_postgres_dsn(user: str, host: str, port: int, name: str, password: str, ssl_mode: str = "") -> str:
    """The key=value connection string Grafana hands its PostgreSQL driver, built as upstream builds it
    (grafana/grafana pkg/services/sqlstore/database_config.go, buildConnectionString): empty values become '',
    and the password is appended as it is, unquoted (" password=%s"). Certificates are not modelled (empty)."""
    args = [user, host, str(port), name, ssl_mode, "", "", ""]
    args = [arg if arg != "" else "''" for arg in args]
    dsn = "user={} host={} port={} dbname={} sslmode={} sslcert={} sslkey={} sslrootcert={}".format(*args)
    if password != "":
        dsn += f" password={password}"
    return dsn


def parse_libpq_dsn(dsn: str) -> dict[str, str]:
    """Parses a key=value connection string like Grafana's PostgreSQL driver, lib/pq (conn.go, parseOpts, after
    libpq's conninfo_parse): a value ends at whitespace and a backslash takes the next character as it is; a value
    that starts with a single quote runs to the next unescaped single quote."""
    options: dict[str, str] = {}
    index, size = 0, len(dsn)
    while True:
        while index < size and dsn[index].isspace():
            index += 1
        if index >= size:
            return options
        start = index
        while index < size and not dsn[index].isspace() and dsn[index] != "=":
            index += 1
        key = dsn[start:index]
        while index < size and dsn[index].isspace():
            index += 1
        if index >= size or dsn[index] != "=":
            raise ProbeError(f'missing "=" after "{key}" in connection info string')
        index += 1
        while index < size and dsn[index].isspace():
            index += 1
        value: list[str] = []
        if index < size and dsn[index] == "'":
            index += 1
            while True:
                if index >= size:
                    raise ProbeError("unterminated quoted string literal in connection string")
                char = dsn[index]
                index += 1
                if char == "'":
                    break
                if char == "\\":
                    char = dsn[index] if index < size else ""
                    index += 1
                value.append(char)
        else:
            while index < size and not dsn[index].isspace():
                char = dsn[index]
                index += 1
                if char == "\\":
                    if index >= size:
                        raise ProbeError("missing character after backslash")
                    char = dsn[index]
                    index += 1
                value.append(char)
        options[key] = "".join(value)


def postgres_target(settings: Settings) -> PostgresTarget | None:
    """Where and as whom Grafana logs in: the settings go through Grafana's connection string and lib/pq's parser,
    so a password only works here when it would work for Grafana (one with a space, a backslash or a leading quote
    must be written quoted for the connection string, as the grafana role does)."""
    url = settings.get("database", "url")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql"):
            return None
        host, port = parts.hostname or "127.0.0.1", parts.port or 5432
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        database = parts.path.lstrip("/") or "grafana"
    else:
        if settings.get("database", "type").lower() not in ("postgres", "postgresql"):
            return None
        host, port = _split_host(settings.get("database", "host"), 5432)
        user, password = settings.get("database", "user"), settings.get("database", "password")
        database = settings.get("database", "name")
    try:
        options = parse_libpq_dsn(grafana_postgres_dsn(user, host, port, database, password,
                                                       settings.get("database", "ssl_mode")))
    except ProbeError as exc:
        return PostgresTarget(host=host, port=port, user=user, password="", database=database, error=str(exc))
    return PostgresTarget(
        host=options.get("host", host),
        port=int(options.get("port") or port),
        user=options.get("user", ""),
        password=options.get("password", ""),
        database=options.get("dbname", ""),
    )


def redis_target(settings: Settings) -> RedisTarget | None:
    if settings.get("remote_cache", "type").lower() != "redis":
        return None
    options: dict[str, str] = {}
    for item in settings.get("remote_cache", "connstr").split(","):
        key, _equals, value = item.partition("=")
        if key.strip():
            options[key.strip().lower()] = value.strip()
    host, port = _split_host(options.get("addr", "127.0.0.1:6379"), 6379)
    return RedisTarget(
        host=host,
        port=port,
        password=options.get("password", ""),
        username=options.get("username", ""),
        db=int(options.get("db", "0") or 0),
    )


# -- PostgreSQL wire protocol --------------------------------------------------------------------


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ProbeError("connection closed by the server")
        data += chunk
    return data


def _read_message(sock: socket.socket) -> tuple[bytes, bytes]:
    kind = _recv_exact(sock, 1)
    (length,) = struct.unpack("!I", _recv_exact(sock, 4))
    if length < 4 or length > 1 << 20:
        raise ProbeError("not a PostgreSQL server (bad message length)")
    return kind, _recv_exact(sock, length - 4)


def _send(sock: socket.socket, kind: bytes, payload: bytes) -> None:
    sock.sendall(kind + struct.pack("!I", len(payload) + 4) + payload)


def _pg_error_text(payload: bytes) -> str:
    fields = {}
    for part in payload.split(b"\x00"):
        if part:
            fields[chr(part[0])] = part[1:].decode(errors="replace")
    return f"{fields.get('S', 'ERROR')} {fields.get('C', '')}: {fields.get('M', '')}".strip()


class ScramClient:
    """SCRAM-SHA-256 (RFC 5802/7677) as PostgreSQL uses it, without channel binding."""

    def __init__(self, password: str, nonce: str | None = None, username: str = "") -> None:
        # PostgreSQL ignores the SCRAM username (it uses the startup message's user): send "".
        self.password = password
        self.nonce = nonce or base64.b64encode(secrets.token_bytes(18)).decode()
        self.client_first_bare = f"n={username},r={self.nonce}"
        self.auth_message = b""
        self.salted = b""

    def first_message(self) -> bytes:
        return ("n,," + self.client_first_bare).encode()

    def final_message(self, server_first: bytes) -> bytes:
        attrs = dict(item.split("=", 1) for item in server_first.decode().split(","))
        if not attrs["r"].startswith(self.nonce):
            raise ProbeError("SCRAM server nonce does not extend the client nonce")
        salt = base64.b64decode(attrs["s"])
        self.salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), salt, int(attrs["i"]))
        client_key = hmac.new(self.salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        self.auth_message = ",".join([self.client_first_bare, server_first.decode(), without_proof]).encode()
        signature = hmac.new(stored_key, self.auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify_server(self, server_final: bytes) -> None:
        server_key = hmac.new(self.salted, b"Server Key", hashlib.sha256).digest()
        expected = hmac.new(server_key, self.auth_message, hashlib.sha256).digest()
        attrs = dict(item.split("=", 1) for item in server_final.decode().split(","))
        if base64.b64decode(attrs.get("v", "")) != expected:
            raise ProbeError("SCRAM server signature does not match")


def probe_postgres(target: PostgresTarget) -> str:
    """Log in like a client: startup, then cleartext, md5 or SCRAM-SHA-256 authentication."""
    if target.error:
        raise ProbeError(target.error)
    with socket.create_connection((target.host, target.port), timeout=CONNECT_TIMEOUT) as sock:
        sock.settimeout(CONNECT_TIMEOUT)
        params = b"user\x00" + target.user.encode() + b"\x00database\x00" + target.database.encode() + b"\x00\x00"
        startup = struct.pack("!I", PROTOCOL_VERSION_3) + params
        sock.sendall(struct.pack("!I", len(startup) + 4) + startup)
        scram: ScramClient | None = None
        while True:
            kind, payload = _read_message(sock)
            if kind == b"E":
                raise ProbeError(_pg_error_text(payload))
            if kind == b"Z":
                _send(sock, b"X", b"")
                return "ok"
            if kind != b"R":
                continue
            (code,) = struct.unpack("!I", payload[:4])
            scram = _answer_auth(sock, target, code, payload[4:], scram)


def _answer_auth(
    sock: socket.socket, target: PostgresTarget, code: int, data: bytes, scram: ScramClient | None
) -> ScramClient | None:
    if code == 0:  # AuthenticationOk
        return scram
    if code == 3:  # cleartext password
        _send(sock, b"p", target.password.encode() + b"\x00")
        return scram
    if code == 5:  # md5: "md5" + md5(md5(password + user) + salt)
        inner = hashlib.md5((target.password + target.user).encode()).hexdigest()
        outer = hashlib.md5(inner.encode() + data[:4]).hexdigest()
        _send(sock, b"p", b"md5" + outer.encode() + b"\x00")
        return scram
    if code == 10:  # SASL: the server lists its mechanisms
        if b"SCRAM-SHA-256\x00" not in data:
            raise ProbeError("server offers no SCRAM-SHA-256")
        scram = ScramClient(target.password)
        first = scram.first_message()
        _send(sock, b"p", b"SCRAM-SHA-256\x00" + struct.pack("!I", len(first)) + first)
        return scram
    if code == 11 and scram is not None:  # SASLContinue
        _send(sock, b"p", scram.final_message(data))
        return scram
    if code == 12 and scram is not None:  # SASLFinal
        scram.verify_server(data)
        return scram
    raise ProbeError(f"unsupported PostgreSQL authentication request {code}")


# -- Redis RESP ----------------------------------------------------------------------------------


def _resp_command(*words: str) -> bytes:
    out = f"*{len(words)}\r\n".encode()
    for word in words:
        raw = word.encode()
        out += f"${len(raw)}\r\n".encode() + raw + b"\r\n"
    return out


def _resp_line(sock: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise ProbeError("connection closed by the server")
        data += chunk
        if len(data) > 4096:
            raise ProbeError("not a Redis server (line too long)")
    return data[:-2].decode(errors="replace")


def probe_redis(target: RedisTarget) -> str:
    with socket.create_connection((target.host, target.port), timeout=CONNECT_TIMEOUT) as sock:
        sock.settimeout(CONNECT_TIMEOUT)
        if target.password:
            words = ["AUTH", target.username, target.password] if target.username else ["AUTH", target.password]
            sock.sendall(_resp_command(*words))
            reply = _resp_line(sock)
            if reply != "+OK":
                raise ProbeError(f"AUTH refused: {reply}")
        if target.db:
            sock.sendall(_resp_command("SELECT", str(target.db)))
            reply = _resp_line(sock)
            if reply != "+OK":
                raise ProbeError(f"SELECT refused: {reply}")
        sock.sendall(_resp_command("PING"))
        reply = _resp_line(sock)
        if reply != "+PONG":
            raise ProbeError(f"PING answered {reply!r}, not +PONG")
        return "ok"


# -- cached monitor ------------------------------------------------------------------------------


def _run(probe: Callable[[], str]) -> tuple[bool, str]:
    try:
        return True, probe()
    except (OSError, ProbeError, ValueError, KeyError, struct.error) as exc:
        return False, f"{type(exc).__name__}: {exc}"


class BackendMonitor:
    """Runs the probes at most every CACHE_SECONDS; `skip` reports ok without checking."""

    def __init__(self, settings: Settings, skip: bool) -> None:
        self.skip = skip
        self.postgres = postgres_target(settings)
        self.redis = redis_target(settings)
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._status = BackendStatus(True, True, {"check": "not run yet"})

    def describe(self) -> str:
        if self.skip:
            return "backend checks skipped (--skip-backend-check)"
        pg = (
            f"postgres {self.postgres.host}:{self.postgres.port}/{self.postgres.database}"
            if self.postgres
            else "no external database (sqlite3)"
        )
        rd = f"redis {self.redis.host}:{self.redis.port}" if self.redis else "no redis cache"
        return f"{pg}; {rd}"

    def status(self) -> BackendStatus:
        if self.skip:
            return BackendStatus(True, True, {"check": "skipped"})
        with self._lock:
            if time.monotonic() - self._checked_at < CACHE_SECONDS:
                return self._status
            self._status = self._check()
            self._checked_at = time.monotonic()
            return self._status

    def _check(self) -> BackendStatus:
        details: dict[str, str] = {}
        db_ok, cache_ok = True, True
        if self.postgres is not None:
            target = self.postgres
            db_ok, details["database"] = _run(lambda: probe_postgres(target))
        if self.redis is not None:
            cache = self.redis
            cache_ok, details["remoteCache"] = _run(lambda: probe_redis(cache))
        return BackendStatus(db_ok, cache_ok, details)
