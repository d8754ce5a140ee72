# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A very small client of the Docker Engine API over its unix socket.

``service_health`` uses it to find a container's address on the stack network, to read the
state of Docker's own healthcheck, and to add a container's last log lines to a failure.
``stack_component`` uses it to read a component's container, image and volumes, to create a missing volume, and to
run a one-shot helper container (Tempo's volume ownership).
``stack_host`` uses it to ask whether the engine answers (or at least listens), to find the images the stack needs,
and to read or create the stack's network. Creating a volume or a network and running a one-shot container are the
only requests that change anything.
Only the standard library is used, so the module needs nothing installed on the target; the requests go
through the collection's HTTP layer (``http_transport``), which speaks HTTP over a Unix socket too.
"""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import quote

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.http_transport import HttpTransport, NoAnswer

DEFAULT_SOCKET = "/var/run/docker.sock"


class DockerEngineError(Exception):
    """The engine could not be reached or refused the request."""


def _get(path: str, socket_path: str, timeout: float) -> tuple[int, bytes]:
    return _request("GET", path, socket_path, timeout)


def _request(method: str, path: str, socket_path: str, timeout: float, document: Any = None) -> tuple[int, bytes]:
    transport = HttpTransport(timeout=timeout, unix_socket=socket_path, use_proxy=False)
    headers, body = None, None
    if document is not None:
        headers, body = {"Content-Type": "application/json"}, json.dumps(document).encode()
    try:
        response = transport.send(method, f"http://localhost{path}", headers=headers, body=body)
    except NoAnswer as exc:
        raise DockerEngineError(f"Docker engine at {socket_path} not reachable: {exc}") from exc
    finally:
        transport.close()
    return response.status, response.body


def inspect_container(name: str, socket_path: str = DEFAULT_SOCKET, timeout: float = 5.0) -> dict[str, Any] | None:
    """The container's inspect document, or None when no such container exists."""
    return _inspect("container", name, socket_path, timeout)


def _inspect(kind: str, name: str, socket_path: str, timeout: float) -> dict[str, Any] | None:
    """``GET /<kind>s/<name>/json`` (volumes: ``/volumes/<name>``): the document, or None on 404."""
    if kind in ("volume", "network"):
        path = f"/{kind}s/{quote(name, safe='')}"
    else:
        path = f"/{kind}s/{quote(name, safe='')}/json"
    status, body = _get(path, socket_path, timeout)
    if status == 404:
        return None
    if status != 200:
        raise DockerEngineError(f"inspecting {kind} {name}: HTTP {status}: {_message(body)}")
    return json.loads(body)


def inspect_image(name: str, socket_path: str = DEFAULT_SOCKET, timeout: float = 5.0) -> dict[str, Any] | None:
    """The local image's inspect document (by name:tag or ID), or None when the engine has no such image."""
    return _inspect("image", name, socket_path, timeout)


def inspect_volume(name: str, socket_path: str = DEFAULT_SOCKET, timeout: float = 5.0) -> dict[str, Any] | None:
    """The volume's inspect document, or None when no such volume exists."""
    return _inspect("volume", name, socket_path, timeout)


def create_volume(name: str, labels: dict[str, str], socket_path: str = DEFAULT_SOCKET,
                  timeout: float = 30.0) -> dict[str, Any]:
    """Creates a local volume with ``labels`` (``POST /volumes/create``); returns its document."""
    status, body = _request("POST", "/volumes/create", socket_path, timeout,
                            {"Name": name, "Driver": "local", "Labels": labels})
    if status != 201:
        raise DockerEngineError(f"creating volume {name}: HTTP {status}: {_message(body)}")
    return json.loads(body)


def inspect_network(name: str, socket_path: str = DEFAULT_SOCKET, timeout: float = 5.0) -> dict[str, Any] | None:
    """The network's inspect document, or None when no such network exists."""
    return _inspect("network", name, socket_path, timeout)


def create_network(name: str, subnet: str, gateway: str, labels: dict[str, str], socket_path: str = DEFAULT_SOCKET,
                   timeout: float = 30.0) -> str:
    """Creates a bridge network with one IPv4 subnet and its gateway (``POST /networks/create``); returns its ID."""
    status, body = _request("POST", "/networks/create", socket_path, timeout, {
        "Name": name, "Driver": "bridge", "CheckDuplicate": True, "Labels": labels,
        "IPAM": {"Driver": "default", "Config": [{"Subnet": subnet, "Gateway": gateway}]}})
    if status != 201:
        raise DockerEngineError(f"creating network {name}: HTTP {status}: {_message(body)}")
    return str(json.loads(body).get("Id", ""))


def engine_version(socket_path: str = DEFAULT_SOCKET, timeout: float = 5.0) -> str:
    """The engine's version (``GET /version``); DockerEngineError when it does not answer."""
    status, body = _get("/version", socket_path, timeout)
    if status != 200:
        raise DockerEngineError(f"Docker engine at {socket_path} answered HTTP {status}: {_message(body)}")
    return str(json.loads(body).get("Version", ""))


def socket_listens(socket_path: str = DEFAULT_SOCKET, timeout: float = 2.0) -> bool:
    """Whether a process listens on the engine's socket (it accepts a connection), whether or not it answers: a busy
    engine is slow to answer, a stopped one leaves no socket or one that refuses connections."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(socket_path)
        except OSError:
            return False
    return True


def run_once(name: str, image: str, command: list[str], socket_path: str = DEFAULT_SOCKET, timeout: float = 120.0,
             **config: Any) -> tuple[int, str]:
    """Runs a one-shot container to its end and removes it, as ``docker run --rm --name <name>`` would: a leftover of
    the same name (from a run that was cut short) goes first. ``config`` adds to the create request's body (``User``,
    ``Env``, ``Labels``, ``HostConfig`` ...). Returns its exit code and its output (stdout and stderr)."""
    where = quote(name, safe='')
    _request("DELETE", f"/containers/{where}?force=1", socket_path, timeout)
    status, body = _request("POST", f"/containers/create?name={where}", socket_path, timeout,
                            {"Image": image, "Entrypoint": command[:1], "Cmd": command[1:], **config})
    if status != 201:
        raise DockerEngineError(f"creating container {name}: HTTP {status}: {_message(body)}")
    try:
        status, body = _request("POST", f"/containers/{where}/start", socket_path, timeout)
        if status not in (204, 304):
            raise DockerEngineError(f"starting container {name}: HTTP {status}: {_message(body)}")
        status, body = _request("POST", f"/containers/{where}/wait", socket_path, timeout)
        if status != 200:
            raise DockerEngineError(f"waiting for container {name}: HTTP {status}: {_message(body)}")
        code = int(json.loads(body).get("StatusCode", -1))
        status, body = _get(f"/containers/{where}/logs?stdout=1&stderr=1", socket_path, timeout)
        return code, _demultiplex(body) if status == 200 else ""
    finally:
        _request("DELETE", f"/containers/{where}?force=1", socket_path, timeout)


def _message(body: bytes) -> str:
    """The engine's error message (``{"message": ...}``), or the body as text."""
    try:
        return str(json.loads(body).get("message", "")).strip() or body.decode(errors="replace").strip()
    except (ValueError, AttributeError):
        return body.decode(errors="replace").strip()


def container_address(document: dict[str, Any], network: str | None = None) -> str | None:
    """The container's IPv4 address on ``network``, or on its first network when none is named."""
    networks = (document.get("NetworkSettings") or {}).get("Networks") or {}
    if network:
        return (networks.get(network) or {}).get("IPAddress") or None
    for settings in networks.values():
        if settings.get("IPAddress"):
            return settings["IPAddress"]
    return None


def container_logs(name: str, lines: int, socket_path: str = DEFAULT_SOCKET, timeout: float = 5.0) -> list[str]:
    """The last ``lines`` lines of a container's stdout and stderr (json-file or local log driver)."""
    path = f"/containers/{quote(name, safe='')}/logs?stdout=1&stderr=1&tail={int(lines)}"
    status, body = _get(path, socket_path, timeout)
    if status != 200:
        return []
    return [line for line in _demultiplex(body).splitlines() if line.strip()]


def _demultiplex(raw: bytes) -> str:
    """Strip the 8-byte frame headers Docker puts on logs of containers without a TTY."""
    chunks, offset = [], 0
    while offset + 8 <= len(raw) and raw[offset] in (0, 1, 2) and raw[offset + 1 : offset + 4] == b"\0\0\0":
        size = int.from_bytes(raw[offset + 4 : offset + 8], "big")
        chunks.append(raw[offset + 8 : offset + 8 + size])
        offset += 8 + size
    if offset < len(raw):  # a TTY container's log is not framed
        chunks.append(raw[offset:])
    return b"".join(chunks).decode("utf-8", errors="replace")
