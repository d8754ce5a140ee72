# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: site.yml against ``docker compose up -d --wait`` on the same containers, side by side in one run.

On this host's Docker engine, with the locally built test images (``bash tests/images/build.sh``), it measures:

1. site.yml cold (nothing of the stack on the host) and its no-op rerun (which must report changed=0), with a
   breakdown by phase (role, layer wait, Grafana content provisioning) from a timeline callback;
2. a compose file written from ``docker inspect`` of the containers site.yml made (bench/compose_from_inspect.py:
   same images, commands, environment, mounts, networks, healthchecks, published ports; each service depends on
   those of the layers before its own, healthy, as site.yml waits for each layer before the next);
3. ``docker compose up -d --wait`` on it cold (site.yml's containers, volumes and network removed first; the
   rendered configuration files stay, as compose renders none) and as a no-op rerun;
4. for the choice of a converge mechanism: one no-op ``community.docker.docker_compose_v2`` task on the same
   project, and the cost of one Ansible task (N no-op ``ansible.builtin.stat`` tasks).

It prints P1 = site.yml cold / compose cold and P2 = site.yml no-op / compose no-op (issue 14's goals: P1 <= 1.5,
P2 <= 5). Docker Compose v2 is Debian trixie's ``docker-compose`` package; when ``docker compose`` is missing, the
benchmark installs it from the archive this host's apt sources name (trixie suite, only that package, through a
private apt directory that is removed afterwards). Everything it creates carries the name prefix (``--prefix``)
and the test label ``data2ai.grafana_stack.test=1``, and is removed at the end (``--keep`` leaves it).
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

# The compose writer beside this file, and the integration tests' helpers (one place for the small-stack inventory).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from compose_from_inspect import compose_project, write_compose  # pylint: disable=wrong-import-position
from stack_testlib import (  # pylint: disable=wrong-import-position
    TEST_LABEL,
    free_port,
    free_subnet,
    local_stack_vars,
    remove_labelled,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCKER = "/usr/bin/docker"
LOCAL_IMAGES_VARS = REPO_ROOT / "inventories" / "local-test-images" / "group_vars" / "all.yml"
CALLBACKS = REPO_ROOT / "bench" / "callback_plugins"
COMPONENTS = REPO_ROOT / "meta" / "components.yml"
# site.yml's waits: each layer's, and the roles' own waits for their component.
WAIT_TIMEOUTS = ("stack_layer_timeout", "postgresql_health_timeout", "influxdb_health_timeout",
                 "grafana_health_timeout")
HOST_PORTS = ("grafana_host_port", "prometheus_host_port", "loki_host_port", "tempo_host_port",
              "tempo_otlp_grpc_host_port", "tempo_otlp_http_host_port", "influxdb_host_port",
              "alertmanager_host_port", "cadvisor_host_port")
# Modules whose tasks provision Grafana's content (datasources, folders, dashboards), wherever they are called.
CONTENT_ACTIONS = ("grafana_content", "grafana_datasource", "grafana_folder", "grafana_dashboard")
HOST_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def component_layers(services: list[str]) -> list[list[str]]:
    """The compose services in site.yml's layers, from the component table (meta/components.yml): a component's
    service is its container's name without the prefix, its role name with '-' for '_'."""
    table = yaml.safe_load(COMPONENTS.read_text(encoding="utf-8"))
    by_name = {service.replace("-", "_"): service for service in services}
    layers = [[by_name[row["name"]] for row in table["components"] if row["layer"] == layer and row["name"] in by_name]
              for layer in table["layers"]]
    placed = {service for layer in layers for service in layer}
    if placed != set(services):
        fail(f"containers that are no component of meta/components.yml: {', '.join(sorted(set(services) - placed))}")
    return layers


# Compose has no step after a container starts, where the postgresql role creates Grafana's own role (no superuser)
# that owns Grafana's database. A compose user does it in the image's first-start hook instead: this script, run
# once by the entrypoint on an empty volume, with Grafana's database password mounted beside it.
GRAFANA_ROLE_SCRIPT = """\
#!/bin/sh
set -e
psql -v ON_ERROR_STOP=1 -v role="$GRAFANA_DATABASE_USER" -v db="$POSTGRES_DB" \\
  -v pw="$(cat /run/secrets/grafana_database_password)" --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'pw';
ALTER DATABASE :"db" OWNER TO :"role";
ALTER SCHEMA public OWNER TO :"role";
SQL
"""


def add_grafana_database_role(project: dict[str, Any], compose_dir: Path) -> None:
    """Adds to the compose project's PostgreSQL service the first-start script that makes Grafana's role."""
    services = project["services"]
    grafana, postgresql = services.get("grafana"), services.get("postgresql")
    if not grafana or not postgresql:
        return
    mounts = {mount["target"]: mount["source"] for mount in grafana.get("volumes", []) if mount["type"] == "bind"}
    ini = configparser.ConfigParser(interpolation=None, strict=False)
    ini.read_string("[DEFAULT]\n" + Path(mounts["/etc/grafana/grafana.ini"]).read_text(encoding="utf-8"))
    user, database = ini.get("database", "user"), ini.get("database", "name")
    if database != postgresql.get("environment", {}).get("POSTGRES_DB"):
        fail(f"Grafana's database {database} is not the one PostgreSQL creates")
    compose_dir.mkdir(parents=True, exist_ok=True)
    script = compose_dir / "grafana-role.sh"
    script.write_text(GRAFANA_ROLE_SCRIPT, encoding="utf-8")
    script.chmod(0o755)
    # A copy of Grafana's password that PostgreSQL's user (the owner of its own secret) can read.
    owner = next(m["source"] for m in postgresql.get("volumes", []) if m["target"].startswith("/run/secrets/"))
    password = compose_dir / "grafana_database_password"
    password.write_bytes(Path(mounts["/etc/grafana/secrets"], "database_password").read_bytes())
    password.chmod(0o400)
    os.chown(password, Path(owner).stat().st_uid, Path(owner).stat().st_gid)
    postgresql.setdefault("environment", {})["GRAFANA_DATABASE_USER"] = user
    postgresql.setdefault("volumes", []).extend([
        {"type": "bind", "target": "/docker-entrypoint-initdb.d/grafana-role.sh", "source": str(script),
         "read_only": True},
        {"type": "bind", "target": "/run/secrets/grafana_database_password", "source": str(password),
         "read_only": True},
    ])


def fail(message: str) -> None:
    raise SystemExit(f"bench_converge: {message}")


def run(command: list[str], timeout: float = 1800, **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)


def docker(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return run([DOCKER, *args], timeout=timeout)


# --------------------------------------------------------------------------
# prerequisites
# --------------------------------------------------------------------------


def compose_version() -> str | None:
    done = docker("compose", "version", "--short")
    return done.stdout.strip() if done.returncode == 0 else None


def archive_uri() -> str:
    """The URI of the host's Debian archive: the first deb822 stanza of debian.sources whose Suites hold a suite
    without a dash (bookworm, trixie, ...), never written anywhere."""
    if not HOST_SOURCES.is_file():
        fail(f"docker compose is missing and {HOST_SOURCES} (the Debian archive to install it from) is not there")
    for stanza in HOST_SOURCES.read_text(encoding="utf-8").split("\n\n"):
        fields = dict(line.split(":", 1) for line in stanza.splitlines() if ":" in line and not line.startswith("#"))
        suites = fields.get("Suites", "").split()
        if fields.get("URIs") and any("-" not in suite for suite in suites):
            return fields["URIs"].split()[0]
    fail(f"no Debian archive entry in {HOST_SOURCES}")
    return ""


def install_compose() -> str:
    """Installs Debian trixie's docker-compose (Compose v2, a Docker CLI plugin) from the host's archive: a private
    apt directory with a trixie source, ``apt-get download`` of that one package, ``dpkg -i``. Its only dependency,
    libc6 (>= 2.34), is met from Debian 12 on."""
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print("docker compose is missing: installing Debian trixie's docker-compose package", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-apt-") as apt_dir:
        base = Path(apt_dir)
        for sub in ("lists/partial", "cache/archives/partial", "sources"):
            (base / sub).mkdir(parents=True)
        (base / "sources" / "trixie.sources").write_text(
            f"Types: deb\nURIs: {archive_uri()}\nSuites: trixie\nComponents: main\nSigned-By: {KEYRING}\n",
            encoding="utf-8")
        options = ["-o", "Dir::Etc::SourceList=/dev/null", "-o", f"Dir::Etc::SourceParts={base / 'sources'}",
                   "-o", f"Dir::State::Lists={base / 'lists'}", "-o", f"Dir::Cache={base / 'cache'}",
                   "-o", "APT::Sandbox::User=root"]
        for step in (["apt-get", *options, "update", "-qq"], ["apt-get", *options, "download", "docker-compose"]):
            done = run(step, cwd=base)
            if done.returncode != 0:
                fail(f"{' '.join(step[:1] + step[-2:])} failed: {done.stderr.strip()[-500:]}")
        package = next(base.glob("docker-compose_*.deb"))
        done = run([*sudo, "dpkg", "-i", str(package)])
        if done.returncode != 0:
            fail(f"dpkg -i {package.name} failed: {done.stderr.strip()[-500:]}")
    version = compose_version()
    if not version:
        fail("docker compose still does not answer after installing docker-compose")
    return version


def local_images() -> dict[str, str]:
    """The ``*_image`` variables of inventories/local-test-images (the locally built test images)."""
    values = yaml.safe_load(LOCAL_IMAGES_VARS.read_text(encoding="utf-8"))
    return {key: value for key, value in values.items() if key.endswith("_image")}


def check_prerequisites(images: dict[str, str]) -> None:
    if not Path(DOCKER).exists() or docker("version").returncode != 0:
        fail("no Docker engine answers: bash scripts/host-prerequisites.sh starts one")
    missing = sorted({image for image in images.values() if docker("image", "inspect", image).returncode != 0})
    if missing:
        fail(f"local images missing ({', '.join(missing)}): build them with bash tests/images/build.sh")
    if not (Path(sys.executable).parent / "ansible-playbook").exists():
        fail(f"ansible-playbook not beside {sys.executable}: run the benchmark with the project's .venv/bin/python")


# --------------------------------------------------------------------------
# the stack's resources
# --------------------------------------------------------------------------


def labelled(kind: str, prefix: str) -> list[str]:
    listing = {"container": ["ps", "-a"], "volume": ["volume", "ls"], "network": ["network", "ls"]}[kind]
    form = "{{.Names}}" if kind == "container" else "{{.Name}}"
    names = docker(*listing, "--filter", f"label={TEST_LABEL}", "--format", form).stdout.split()
    return [name for name in names if name.startswith(prefix)]


def inventory_vars(workdir: Path, prefix: str, subnet: str, layer_timeout: int) -> dict[str, Any]:
    """localhost's variables: the small-stack test variables (prefix, network, directories, test label), the
    settings of inventories/local-test-images (its images, ...), free ports on 127.0.0.1 and the wait timeouts."""
    return {
        **yaml.safe_load(LOCAL_IMAGES_VARS.read_text(encoding="utf-8")),
        **local_stack_vars(workdir, prefix, subnet),
        "stack_bind_address": "127.0.0.1",
        **{name: layer_timeout for name in WAIT_TIMEOUTS},
        "verify_report_dir": str(workdir / "reports"),
        **{name: free_port() for name in HOST_PORTS},
    }


# --------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------


@dataclass
class Timed:
    """One timed command: wall time, exit code, output, and for ansible-playbook the timeline's events."""

    seconds: float
    returncode: int
    output: str
    events: list[dict[str, Any]] = field(default_factory=list)
    started: float = 0.0

    @property
    def stats(self) -> dict[str, int]:
        for event in self.events:
            if event["event"] == "stats":
                return next(iter(event["hosts"].values()))
        return {}

    def tasks(self) -> list[dict[str, Any]]:
        """Each task (and handler) with its duration: from its start to the next task's start, or to the end."""
        marks = [event for event in self.events if event["event"] in ("task", "stats")]
        end = next((event["t"] for event in self.events if event["event"] == "stats"), self.started + self.seconds)
        tasks = []
        for index, event in enumerate(marks):
            if event["event"] != "task":
                continue
            following = marks[index + 1]["t"] if index + 1 < len(marks) else end
            tasks.append({**event, "seconds": following - event["t"]})
        return tasks

    def startup(self) -> float:
        first = next((event["t"] for event in self.events if event["event"] in ("play", "task")), None)
        return (first - self.started) if first else 0.0

    def shutdown(self) -> float:
        stats = next((event["t"] for event in self.events if event["event"] == "stats"), None)
        return (self.started + self.seconds - stats) if stats else 0.0


def timed(command: list[str], env: dict[str, str] | None = None, timeline: Path | None = None,
          timeout: float = 1800) -> Timed:
    if timeline and timeline.exists():
        timeline.unlink()
    started_wall = time.time()
    started = time.monotonic()
    done = run(command, timeout=timeout, cwd=REPO_ROOT, env=env)
    seconds = time.monotonic() - started
    events = []
    if timeline and timeline.exists():
        events = [json.loads(line) for line in timeline.read_text(encoding="utf-8").splitlines() if line.strip()]
    return Timed(seconds, done.returncode, done.stdout + done.stderr, events, started_wall)


def ansible_env(workdir: Path, timeline: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update({"ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0",
                "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS), "ANSIBLE_CALLBACKS_ENABLED": "bench_timeline",
                "BENCH_TIMELINE_FILE": str(timeline), "ANSIBLE_LOCAL_TEMP": str(workdir / "ansible-tmp"),
                "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost"})
    return env


def playbook(path: Path, inventory: Path, workdir: Path, label: str) -> Timed:
    timeline = workdir / f"timeline-{label}.jsonl"
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(path)]
    result = timed(command, env=ansible_env(workdir, timeline), timeline=timeline)
    (workdir / f"{label}.log").write_text(result.output, encoding="utf-8")
    if result.returncode != 0:
        fail(f"{label}: ansible-playbook failed ({result.returncode}); end of its output:\n{result.output[-4000:]}")
    return result


def phase_of(task: dict[str, Any]) -> str:
    """The phase a task's time is counted in: its role (Grafana's content provisioning on its own), a layer wait,
    or the play's own tasks."""
    action = task["action"].rsplit(".", 1)[-1]
    if action in CONTENT_ACTIONS or "/roles/grafana/tasks/content" in task["path"]:
        return "grafana: content provisioning"
    if task["role"]:
        return task["role"]
    if action == "service_health":
        return f"wait: {task['name']}"
    return "site.yml's own tasks"


def breakdown(run_result: Timed) -> dict[str, dict[str, float]]:
    phases: dict[str, dict[str, float]] = {"ansible start-up": {"seconds": run_result.startup(), "tasks": 0}}
    for task in run_result.tasks():
        phase = phases.setdefault(phase_of(task), {"seconds": 0.0, "tasks": 0})
        phase["seconds"] += task["seconds"]
        phase["tasks"] += 1
    phases["ansible shut-down"] = {"seconds": run_result.shutdown(), "tasks": 0}
    return phases


# --------------------------------------------------------------------------
# the measurements
# --------------------------------------------------------------------------


def compose_up(project: str, compose_file: Path) -> Timed:
    command = [DOCKER, "compose", "-p", project, "-f", str(compose_file), "up", "-d", "--wait", "--wait-timeout", "300"]
    result = timed(command)
    if result.returncode != 0:
        fail(f"docker compose up failed ({result.returncode}):\n{result.output[-3000:]}")
    return result


def container_ids(prefix: str) -> dict[str, str]:
    names = labelled("container", prefix)
    if not names:
        return {}
    inspected = json.loads(docker("inspect", "--type", "container", *names).stdout)
    return {item["Name"].lstrip("/"): item["Id"] for item in inspected}


def compose_module_playbook(workdir: Path, project: str, compose_dir: Path) -> Path:
    path = workdir / "compose-module.yml"
    plays = [{"name": "One no-op docker_compose_v2 task", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "compose project up", "community.docker.docker_compose_v2": {
            "project_src": str(compose_dir), "project_name": project, "state": "present", "wait": True,
            "wait_timeout": 300}}]}]
    path.write_text(yaml.safe_dump(plays, sort_keys=False), encoding="utf-8")
    return path


def stat_playbook(workdir: Path, count: int) -> Path:
    path = workdir / "stat.yml"
    tasks = [{"name": f"stat {index:02d}", "ansible.builtin.stat": {"path": str(workdir)}} for index in range(count)]
    path.write_text(yaml.safe_dump([{"name": f"{count} no-op stat tasks", "hosts": "localhost",
                                     "gather_facts": False, "tasks": tasks}], sort_keys=False), encoding="utf-8")
    return path


def machine_facts(compose: str) -> dict[str, Any]:
    memory = Path("/proc/meminfo").read_text(encoding="utf-8").split("\n", 1)[0].split()[1]
    os_name = next((line.split("=", 1)[1].strip('"') for line in Path("/etc/os-release").read_text().splitlines()
                    if line.startswith("PRETTY_NAME=")), platform.system())
    ansible = run([str(Path(sys.executable).parent / "ansible-playbook"), "--version"]).stdout.splitlines()
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "memory_gib": round(int(memory) / 1024 / 1024, 1),
        "os": os_name,
        "kernel": platform.release(),
        "docker": docker("version", "--format", "{{.Server.Version}}").stdout.strip(),
        "compose": compose,
        "ansible": ansible[0] if ansible else "?",
        "python": platform.python_version(),
        "load_before": round(os.getloadavg()[0], 2),
    }


def measure(args: argparse.Namespace, workdir: Path, result: dict[str, Any]) -> dict[str, Any]:
    """Fills ``result`` as it goes, so a run that stops half-way still shows what it measured."""
    images = local_images()
    check_prerequisites(images)
    compose = compose_version() or install_compose()
    facts = machine_facts(compose)
    result["machine"] = facts
    if facts["load_before"] > 2 * (facts["cpus"] or 1):
        print(f"warning: load average {facts['load_before']} on {facts['cpus']} CPUs: the seconds will stretch",
              flush=True)
    prefix = args.prefix
    remove_labelled(prefix)
    inventory = workdir / "inventory" / "hosts.yml"
    inventory.parent.mkdir(parents=True)
    host_vars = inventory_vars(workdir, prefix, free_subnet(args.subnet_base), args.layer_timeout)
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": host_vars}}}), encoding="utf-8")
    site = REPO_ROOT / "site.yml"

    print(f"site.yml cold (prefix {prefix}, network {host_vars['stack_subnet']}) ...", flush=True)
    site_cold = playbook(site, inventory, workdir, "site-cold")
    result["site_cold"] = {"seconds": site_cold.seconds, "stats": site_cold.stats, "phases": breakdown(site_cold),
                           "tasks": len(site_cold.tasks())}
    print(f"  {site_cold.seconds:.1f} s; site.yml no-op ...", flush=True)
    site_noop = playbook(site, inventory, workdir, "site-noop")
    result["site_noop"] = {"seconds": site_noop.seconds, "stats": site_noop.stats, "phases": breakdown(site_noop),
                           "tasks": len(site_noop.tasks())}
    if site_noop.stats.get("changed", -1) != 0:
        fail(f"site.yml's second run changed {site_noop.stats.get('changed')} task(s): not a no-op; "
             f"see {workdir / 'site-noop.log'}")
    print(f"  {site_noop.seconds:.1f} s, changed=0", flush=True)

    containers = sorted(container_ids(prefix))
    project_name = f"{prefix}compose".lower()
    compose_dir = workdir / "compose"
    compose_file = compose_dir / "compose.yaml"
    services = [name[len(prefix):] or name for name in containers]
    project = compose_project(containers, lambda name: name[len(prefix):] or name, layers=component_layers(services))
    add_grafana_database_role(project, compose_dir)
    write_compose(project, compose_file)

    remove_labelled(prefix)   # site.yml's containers, volumes and network; the rendered files stay
    print(f"docker compose up -d --wait cold ({len(containers)} services) ...", flush=True)
    compose_cold = compose_up(project_name, compose_file)
    before = container_ids(prefix)
    compose_noop = compose_up(project_name, compose_file)
    if container_ids(prefix) != before:
        fail("docker compose's second up recreated containers: not a no-op")
    print(f"  cold {compose_cold.seconds:.2f} s, no-op {compose_noop.seconds:.2f} s", flush=True)

    module = playbook(compose_module_playbook(workdir, project_name, compose_dir), inventory, workdir, "compose-module")
    if module.stats.get("changed", -1) != 0:
        fail("the docker_compose_v2 task changed something: not a no-op")
    stats = playbook(stat_playbook(workdir, args.tasks), inventory, workdir, "stat")
    stat_tasks = [task["seconds"] for task in stats.tasks()]

    down = docker("compose", "-p", project_name, "-f", str(compose_file), "down", "-v", "--remove-orphans")
    if down.returncode != 0:
        print(f"warning: docker compose down failed: {down.stderr.strip()[-300:]}", file=sys.stderr)
    facts["load_after"] = round(os.getloadavg()[0], 2)
    result.update({
        "containers": containers,
        "compose_cold": compose_cold.seconds,
        "compose_noop": compose_noop.seconds,
        "compose_module_noop": {"playbook": module.seconds,
                                "task": sum(task["seconds"] for task in module.tasks()),
                                "startup": module.startup()},
        "stat": {"count": args.tasks, "playbook": stats.seconds, "startup": stats.startup(),
                 "task_median": statistics.median(stat_tasks) if stat_tasks else 0.0,
                 "task_mean": statistics.mean(stat_tasks) if stat_tasks else 0.0},
    })
    return result


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------


def report(result: dict[str, Any]) -> str:
    facts = result["machine"]
    cold, noop = result["site_cold"], result["site_noop"]
    p1 = cold["seconds"] / result["compose_cold"]
    p2 = noop["seconds"] / result["compose_noop"]
    width = max([38] + [len(name) + 2 for run_ in (cold, noop) for name in run_["phases"]])
    lines = [
        f"{facts['date']}; {facts['cpus']} CPUs, {facts['memory_gib']} GiB; {facts['os']}, kernel {facts['kernel']}; "
        f"Docker {facts['docker']}, Compose {facts['compose']}; {facts['ansible']}; Python {facts['python']}; "
        f"load average {facts['load_before']} before, {facts['load_after']} after",
        f"{len(result['containers'])} containers: {', '.join(result['containers'])}",
        "",
        f"{'':34}{'site.yml':>10}{'compose':>10}{'ratio':>9}",
        f"{'cold (nothing on the host)':34}{cold['seconds']:>9.1f}s{result['compose_cold']:>9.2f}s{p1:>8.2f}x"
        f"   P1 (goal <= 1.5): {'reached' if p1 <= 1.5 else 'not reached'}",
        f"{'no-op rerun (changed=0)':34}{noop['seconds']:>9.1f}s{result['compose_noop']:>9.2f}s{p2:>8.2f}x"
        f"   P2 (goal <= 5): {'reached' if p2 <= 5 else 'not reached'}",
        f"site.yml cold: {cold['stats'].get('ok', 0)} ok ({cold['stats'].get('changed', 0)} changed), "
        f"{cold['stats'].get('skipped', 0)} skipped, {cold['tasks']} tasks started; no-op: "
        f"{noop['stats'].get('ok', 0)} ok, {noop['stats'].get('changed', 0)} changed, "
        f"{noop['stats'].get('skipped', 0)} skipped, {noop['tasks']} tasks started",
        "",
        "site.yml by phase (a task's time runs from its start to the next task's start):",
        f"{'phase':{width}}{'cold':>9}{'tasks':>7}{'no-op':>9}{'tasks':>7}{'no-op/task':>12}",
    ]
    names = list(cold["phases"]) + [name for name in noop["phases"] if name not in cold["phases"]]
    for name in names:
        one = cold["phases"].get(name, {"seconds": 0.0, "tasks": 0})
        two = noop["phases"].get(name, {"seconds": 0.0, "tasks": 0})
        per_task = f"{two['seconds'] / two['tasks']:>11.2f}s" if two["tasks"] else f"{'':12}"
        lines.append(f"{name:{width}}{one['seconds']:>8.1f}s{int(one['tasks']):>7}{two['seconds']:>8.1f}s"
                     f"{int(two['tasks']):>7}{per_task}")
    lines.append(f"{'total (wall)':{width}}{cold['seconds']:>8.1f}s{cold['tasks']:>7}{noop['seconds']:>8.1f}s"
                 f"{noop['tasks']:>7}{noop['seconds'] / max(noop['tasks'], 1):>11.2f}s")
    content = "grafana: content provisioning"
    share = [run_["phases"].get(content, {"seconds": 0.0})["seconds"] for run_ in (cold, noop)]
    lines += [
        f"Grafana content provisioning: {share[0]:.1f} s of the cold run ({100 * share[0] / cold['seconds']:.0f} %), "
        f"{share[1]:.1f} s of the no-op run ({100 * share[1] / noop['seconds']:.0f} %)",
        "",
        "converge mechanism, no-op on the same compose project:",
        f"  docker compose up -d --wait (CLI)             {result['compose_noop']:>7.2f}s",
        f"  community.docker.docker_compose_v2, one task  {result['compose_module_noop']['task']:>7.2f}s "
        f"(whole playbook {result['compose_module_noop']['playbook']:.2f} s, "
        f"start-up {result['compose_module_noop']['startup']:.2f} s)",
        f"one Ansible task: {result['stat']['count']} no-op ansible.builtin.stat tasks take "
        f"{result['stat']['playbook']:.2f} s as a playbook (start-up {result['stat']['startup']:.2f} s); "
        f"per task median {result['stat']['task_median']:.3f} s, mean {result['stat']['task_mean']:.3f} s",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prefix", default="gsttest-bench-",
                        help="name prefix of every container, volume and network (default gsttest-bench-)")
    parser.add_argument("--subnet-base", default="10.236",
                        help="first two octets of the stack's /24 subnet; a free one is picked (default 10.236)")
    parser.add_argument("--layer-timeout", type=int, default=600,
                        help="how long site.yml's waits (each layer's, and PostgreSQL's, InfluxDB's and Grafana's own) "
                        "may take, in seconds (600; the defaults are 120 to 180). Longer only matters on a loaded "
                        "host, where a healthcheck can time out for a while; it changes nothing of a run that is not "
                        "waiting")
    parser.add_argument("--tasks", type=int, default=20, help="no-op stat tasks for the cost of one task (20)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (logs, timelines, compose "
                        "file); the containers are removed all the same")
    parser.add_argument("--json", action="store_true", help="also print every number measured as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-converge-"))
    result: dict[str, Any] = {}
    try:
        measure(args, workdir, result)
    except SystemExit:
        print("the run stopped; what it measured until then:\n" + json.dumps(result, indent=2, sort_keys=True),
              file=sys.stderr)
        raise
    finally:
        remove_labelled(args.prefix)
        if args.keep:
            print(f"working directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(report(result))
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
