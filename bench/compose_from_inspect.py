# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A Docker Compose file that recreates running containers, written from their ``docker inspect``.

Used by bench/bench_converge.py to bring up the same containers that site.yml made with ``docker compose``, and
usable on its own, for example to hand a converged stack to someone who prefers compose:

    .venv/bin/python bench/compose_from_inspect.py --prefix gsttest-md- --label data2ai.grafana_stack.test=1 \\
        --output stack-compose.yml

Each service keeps what the container runs with and its image does not already give it: image, entrypoint,
command, environment, user, working directory, labels, healthcheck, published ports, volume and bind mounts (with
read-only and propagation), networks with their aliases, restart policy, PID and network mode, capabilities,
security options, tmpfs and resource limits. Named volumes and networks are declared with their real names, labels
and (for networks) IPAM, so ``docker compose up`` creates them on an empty host. Nothing is added that the containers
do not carry; secrets reach the stack's containers as mounted files, so the file holds their paths, not their
values. The file is written with mode 0600 all the same.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

DOCKER = "/usr/bin/docker"
DEFAULT_SHM = 64 * 1024 * 1024
# Docker's own defaults: left out of a service, because compose gives the same.
DEFAULT_HOST = {"IpcMode": ("", "private", "shareable"), "CgroupnsMode": ("", "host", "private"),
                "Runtime": ("", "runc")}


def docker_json(*args: str) -> Any:
    done = subprocess.run([DOCKER, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def duration(nanoseconds: int) -> str:
    """A Go duration string compose reads (``10s``, ``1500ms``)."""
    if nanoseconds % 1_000_000_000 == 0:
        return f"{nanoseconds // 1_000_000_000}s"
    return f"{nanoseconds // 1_000_000}ms"


def _environment(config: dict[str, Any], image: dict[str, Any]) -> dict[str, str]:
    inherited = set(image.get("Env") or [])
    pairs = [item.split("=", 1) for item in config.get("Env") or [] if item not in inherited]
    return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}


def _healthcheck(check: dict[str, Any] | None) -> dict[str, Any] | None:
    if not check:
        return None
    if check.get("Test") == ["NONE"]:
        return {"disable": True}
    out: dict[str, Any] = {"test": check["Test"]} if check.get("Test") else {}
    for key, name in (("Interval", "interval"), ("Timeout", "timeout"), ("StartPeriod", "start_period")):
        if check.get(key):
            out[name] = duration(check[key])
    if check.get("Retries"):
        out["retries"] = check["Retries"]
    return out


def _ports(bindings: dict[str, Any] | None) -> list[dict[str, Any]]:
    ports = []
    for spec, hosts in sorted((bindings or {}).items()):
        target, protocol = ([*spec.split("/", 1), "tcp"])[:2]
        for host in hosts or []:
            port: dict[str, Any] = {"target": int(target), "protocol": protocol or "tcp"}
            if host.get("HostIp"):
                port["host_ip"] = host["HostIp"]
            if host.get("HostPort"):
                port["published"] = host["HostPort"]
            ports.append(port)
    return ports


PROPAGATIONS = ("shared", "rshared", "slave", "rslave", "private", "rprivate")


def _asked_propagation(host: dict[str, Any]) -> dict[str, str]:
    """target -> the bind propagation the container was created with explicitly (in a -v option or a mount).
    The propagation ``docker inspect`` shows under Mounts may be the daemon's choice; asking for it explicitly
    can fail where the root mount is not shared, so only an explicit one is carried over."""
    asked = {}
    for bind in host.get("Binds") or []:
        parts = bind.split(":")
        if len(parts) >= 3:
            for option in parts[2].split(","):
                if option in PROPAGATIONS:
                    asked[parts[1]] = option
    for mount in host.get("Mounts") or []:
        propagation = (mount.get("BindOptions") or {}).get("Propagation")
        if propagation:
            asked[mount["Target"]] = propagation
    return asked


def _mounts(mounts: list[dict[str, Any]], volumes: dict[str, dict[str, Any]],
            asked: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for mount in mounts:
        entry: dict[str, Any] = {"type": mount["Type"], "target": mount["Destination"]}
        if mount["Type"] == "volume":
            entry["source"] = mount["Name"]
            volumes[mount["Name"]] = {"name": mount["Name"]}
        elif mount["Type"] == "bind":
            entry["source"] = mount["Source"]
            if mount["Destination"] in asked:
                entry["bind"] = {"propagation": asked[mount["Destination"]]}
        else:
            continue
        if not mount.get("RW", True):
            entry["read_only"] = True
        out.append(entry)
    return out


def _host_settings(host: dict[str, Any], service: dict[str, Any]) -> None:
    """The HostConfig settings that differ from Docker's defaults, as compose keys."""
    policy = host.get("RestartPolicy") or {}
    if policy.get("Name") not in ("", "no", None):
        retries = policy.get("MaximumRetryCount") or 0
        service["restart"] = policy["Name"] + (f":{retries}" if policy["Name"] == "on-failure" and retries else "")
    simple = {"Privileged": "privileged", "ReadonlyRootfs": "read_only", "CapAdd": "cap_add", "CapDrop": "cap_drop",
              "SecurityOpt": "security_opt", "Init": "init", "Tmpfs": "tmpfs", "Sysctls": "sysctls",
              "ExtraHosts": "extra_hosts", "Dns": "dns", "GroupAdd": "group_add", "PidsLimit": "pids_limit",
              "UsernsMode": "userns_mode"}
    for key, name in simple.items():
        if host.get(key):
            service[name] = host[key]
    if host.get("PidMode"):
        service["pid"] = host["PidMode"]
    if host.get("IpcMode") not in DEFAULT_HOST["IpcMode"]:
        service["ipc"] = host["IpcMode"]
    if host.get("Memory"):
        service["mem_limit"] = host["Memory"]
    if host.get("NanoCpus"):
        service["cpus"] = host["NanoCpus"] / 1e9
    if host.get("ShmSize") and host["ShmSize"] != DEFAULT_SHM:
        service["shm_size"] = host["ShmSize"]
    if host.get("Ulimits"):
        service["ulimits"] = {u["Name"]: {"soft": u["Soft"], "hard": u["Hard"]} for u in host["Ulimits"]}
    if host.get("Devices"):
        service["devices"] = [f"{d['PathOnHost']}:{d['PathInContainer']}:{d['CgroupPermissions']}"
                              for d in host["Devices"]]
    log = host.get("LogConfig") or {}
    if log.get("Type") not in ("json-file", "", None) or log.get("Config"):
        service["logging"] = {"driver": log.get("Type"), "options": log.get("Config") or {}}


def service_of(container: dict[str, Any], image: dict[str, Any], networks: dict[str, dict[str, Any]],
               volumes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The compose service that recreates ``container`` (its inspect), given its image's inspect."""
    config, host, image_config = container["Config"], container["HostConfig"], image.get("Config") or {}
    service: dict[str, Any] = {"container_name": container["Name"].lstrip("/"), "image": config["Image"]}
    if config.get("Entrypoint") != image_config.get("Entrypoint"):
        service["entrypoint"] = config.get("Entrypoint") or []
    if config.get("Cmd") != image_config.get("Cmd"):
        service["command"] = config.get("Cmd") or []
    for key, name in (("User", "user"), ("WorkingDir", "working_dir"), ("StopSignal", "stop_signal")):
        if config.get(key) and config[key] != image_config.get(key):
            service[name] = config[key]
    if config.get("StopTimeout") is not None:
        service["stop_grace_period"] = f"{config['StopTimeout']}s"
    environment = _environment(config, image_config)
    if environment:
        service["environment"] = environment
    image_labels = image_config.get("Labels") or {}
    labels = {key: value for key, value in (config.get("Labels") or {}).items()
              if image_labels.get(key) != value and not key.startswith("com.docker.compose.")}
    if labels:
        service["labels"] = labels
    healthcheck = _healthcheck(config.get("Healthcheck"))
    if healthcheck and healthcheck != _healthcheck(image_config.get("Healthcheck")):
        service["healthcheck"] = healthcheck
    ports = _ports(host.get("PortBindings"))
    if ports:
        service["ports"] = ports
    mounts = _mounts(container.get("Mounts") or [], volumes, _asked_propagation(host))
    if mounts:
        service["volumes"] = mounts
    mode = host.get("NetworkMode") or "default"
    attached = container["NetworkSettings"].get("Networks") or {}
    if mode in ("host", "none") or mode.startswith("container:"):
        service["network_mode"] = mode
    else:
        service["networks"] = {}
        short_id = container["Id"][:12]
        for name, endpoint in attached.items():
            networks[name] = {"name": name}
            aliases = [alias for alias in endpoint.get("Aliases") or [] if alias != short_id]
            ipam = endpoint.get("IPAMConfig") or {}
            entry: dict[str, Any] = {}
            if aliases:
                entry["aliases"] = aliases
            if ipam.get("IPv4Address"):
                entry["ipv4_address"] = ipam["IPv4Address"]
            service["networks"][name] = entry or None
    _host_settings(host, service)
    return service


def _network_definition(name: str) -> dict[str, Any]:
    network = docker_json("network", "inspect", name)[0]
    definition: dict[str, Any] = {"name": name, "driver": network.get("Driver") or "bridge"}
    configs = [{key.lower(): value for key, value in config.items() if key in ("Subnet", "Gateway", "IPRange")}
               for config in (network.get("IPAM") or {}).get("Config") or []]
    if configs:
        definition["ipam"] = {"config": configs}
    labels = {k: v for k, v in (network.get("Labels") or {}).items() if not k.startswith("com.docker.compose.")}
    if labels:
        definition["labels"] = labels
    if network.get("Internal"):
        definition["internal"] = True
    return definition


def _volume_definition(name: str) -> dict[str, Any]:
    volume = docker_json("volume", "inspect", name)[0]
    definition: dict[str, Any] = {"name": name}
    if volume.get("Driver") not in ("local", None):
        definition["driver"] = volume["Driver"]
    labels = {k: v for k, v in (volume.get("Labels") or {}).items() if not k.startswith("com.docker.compose.")}
    if labels:
        definition["labels"] = labels
    return definition


def _has_healthcheck(container: dict[str, Any], image: dict[str, Any]) -> bool:
    check = container["Config"].get("Healthcheck") or (image.get("Config") or {}).get("Healthcheck") or {}
    return bool(check.get("Test")) and check["Test"][0] != "NONE"


def layer_dependencies(layers: list[list[str]], healthy: dict[str, bool]) -> dict[str, dict[str, Any]]:
    """Each service's ``depends_on``: every service of the layers before its own, as site.yml waits for each layer
    before it starts the next; healthy when that service has a healthcheck, started otherwise."""
    depends: dict[str, dict[str, Any]] = {}
    earlier: list[str] = []
    for layer in layers:
        for service in layer:
            if earlier:
                depends[service] = {other: {"condition": "service_healthy" if healthy[other] else "service_started"}
                                    for other in earlier}
        earlier = earlier + list(layer)
    return depends


def compose_project(containers: list[str], service_name: Any = None,
                    layers: list[list[str]] | None = None) -> dict[str, Any]:
    """The compose project (as a dict) for these container names; ``service_name(container_name)`` names each
    service (default: the container name). With ``layers`` (service names, in the order site.yml deploys them),
    each service depends on those of the layers before its own."""
    inspected = docker_json("inspect", "--type", "container", *containers)
    images: dict[str, Any] = {}
    networks: dict[str, dict[str, Any]] = {}
    volumes: dict[str, dict[str, Any]] = {}
    services = {}
    healthy = {}
    for container in inspected:
        image_id = container["Image"]
        if image_id not in images:
            images[image_id] = docker_json("image", "inspect", image_id)[0]
        name = container["Name"].lstrip("/")
        key = service_name(name) if service_name else name
        services[key] = service_of(container, images[image_id], networks, volumes)
        healthy[key] = _has_healthcheck(container, images[image_id])
    if layers:
        unknown = sorted({s for layer in layers for s in layer} - set(services))
        if unknown:
            raise SystemExit(f"compose_from_inspect: layers name services with no container: {', '.join(unknown)}")
        for key, depends in layer_dependencies(layers, healthy).items():
            services[key]["depends_on"] = depends
    project: dict[str, Any] = {"services": dict(sorted(services.items()))}
    if networks:
        project["networks"] = {name: _network_definition(name) for name in sorted(networks)}
    if volumes:
        project["volumes"] = {name: _volume_definition(name) for name in sorted(volumes)}
    return project


def escaped(value: Any) -> Any:
    """``value`` with every ``$`` doubled in its strings, so compose's variable interpolation leaves it as it is."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, list):
        return [escaped(item) for item in value]
    if isinstance(value, dict):
        return {key: escaped(item) for key, item in value.items()}
    return value


def write_compose(project: dict[str, Any], path: Path) -> None:
    """Writes the project as YAML, readable by its owner only. Strings are escaped for compose's interpolation."""
    project = escaped(project)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write("# Written by bench/compose_from_inspect.py from docker inspect of the running containers.\n")
        yaml.safe_dump(project, out, sort_keys=False, default_flow_style=False)
    os.chmod(path, 0o600)


def containers_named(prefix: str, label: str | None) -> list[str]:
    filters = ["--filter", f"name=^{prefix}"] + (["--filter", f"label={label}"] if label else [])
    done = subprocess.run([DOCKER, "ps", "-a", *filters, "--format", "{{.Names}}"], capture_output=True, text=True,
                          check=True)
    return sorted(name for name in done.stdout.split() if name.startswith(prefix))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prefix", default="", help="containers whose names start with this (the stack_prefix)")
    parser.add_argument("--label", help="and that carry this label (key=value), e.g. the stack_labels of a test")
    parser.add_argument("--container", action="append", default=[], help="a container by name (repeatable); "
                        "instead of --prefix/--label")
    parser.add_argument("--output", type=Path, required=True, help="the compose file to write (mode 0600)")
    args = parser.parse_args(argv)
    names = args.container or containers_named(args.prefix, args.label)
    if not names:
        parser.error("no container matches")
    project = compose_project(names, lambda name: name[len(args.prefix):] or name)
    write_compose(project, args.output)
    print(f"{args.output}: {len(project['services'])} services ({', '.join(project['services'])})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
