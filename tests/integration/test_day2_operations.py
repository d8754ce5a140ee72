"""Day-2 operations on one converged stack: secrets, check mode, refused input, self-healing, upgrades, rotation,
teardown, backup and restore (issue 7).

One stack per module (module-scoped fixture), converged once at -vvv with every Alertmanager receiver on and every
secret set to a unique marker value; the tests then run in the order written, each leaving the stack converged for
the next. The stack runs the locally built images: real Prometheus, Alertmanager, node exporter, PostgreSQL and
Redis, and TEST DOUBLES of Grafana, Loki, Tempo, Promtail, cAdvisor and InfluxDB 2. Prometheus sends no alert to
Alertmanager here (prometheus_alertmanager_targets: []), so the receivers, whose URLs point at closed ports on the
containers' own loopback, never send anything anywhere.

Everything the tests create is named ``gsttest-d2-*`` and labelled ``data2ai.grafana_stack.test=1``, on the network
gsttest-d2-net (172.31.244.0/24), with host ports picked free on 127.0.0.1; the image tags the upgrade test adds are
``*:gsttest-d2-next``. Cleanup removes exactly those, before the run and after it, even when a test fails.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import struct
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from stack_testlib import (
    HOST_PORTS,
    LOCAL_TEST_IMAGES,
    LOCAL_TEST_VARS,
    TEST_LABEL_KEY,
    PlaybookRun,
    ansible_playbook,
    docker,
    free_port,
    remove_labelled,
    require_images,
    wait_for,
)

PLAYBOOK_TIMEOUT = 1200

# The stack runs with what inventories/local-test-images sets (LOCAL_TEST_VARS): its images, cadvisor_privileged and
# demo_enabled (off: tests/integration/test_demo_workload.py and test_dashboards_have_data.py run the demo).
COMPONENTS = (
    "grafana", "prometheus", "alertmanager", "loki", "tempo", "node-exporter", "cadvisor", "promtail", "influxdb",
    "redis", "postgresql",
)
VOLUMES = (
    "grafana_data", "prometheus_data", "alertmanager_data", "loki_data", "tempo_data", "promtail_positions",
    "influxdb_data", "influxdb_config", "redis_data", "postgres_data",
)


# --------------------------------------------------------------------------
# docker and HTTP
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
         auth: tuple[str, str] | None = None, data: bytes | None = None, timeout: float = 15) -> HttpReply:
    """One request to a 127.0.0.1 URL; status 0 when nothing answers."""
    all_headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    if auth:
        all_headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    request = urllib.request.Request(url, data=data, headers=all_headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return HttpReply(resp.status, resp.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as err:
        return HttpReply(err.code, err.read().decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError):
        return HttpReply(0, "")


# --------------------------------------------------------------------------
# Prometheus remote write: protobuf and snappy by hand (literal-only snappy blocks are valid snappy)
# --------------------------------------------------------------------------


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        if number:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(field_number: int, payload: bytes) -> bytes:
    return _varint(field_number << 3 | 2) + _varint(len(payload)) + payload


def remote_write_body(labels: dict[str, str], value: float, timestamp_ms: int) -> bytes:
    """A WriteRequest with one series and one sample, snappy-compressed as Prometheus expects."""
    series = b"".join(
        _length_delimited(1, _length_delimited(1, name.encode()) + _length_delimited(2, labels[name].encode()))
        for name in sorted(labels)
    )
    sample = _varint(1 << 3 | 1) + struct.pack("<d", value) + _varint(2 << 3 | 0) + _varint(timestamp_ms)
    request = _length_delimited(1, series + _length_delimited(2, sample))
    compressed = bytearray(_varint(len(request)))
    for start in range(0, len(request), 60):
        chunk = request[start:start + 60]
        compressed.append((len(chunk) - 1) << 2)
        compressed += chunk
    return bytes(compressed)


# --------------------------------------------------------------------------
# The stack and its playbook runs
# --------------------------------------------------------------------------


@dataclass
class Stack:
    """One deployment of the collection on this host, named ``prefix*``, with its inventory in ``workdir``."""

    workdir: Path
    prefix: str
    subnet: str
    extra_vars: dict[str, Any] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.ports:
            self.ports = {name: free_port() for name in HOST_PORTS}

    @property
    def inventory(self) -> Path:
        return self.workdir / "inventory" / "hosts.yml"

    @property
    def base_dir(self) -> Path:
        return self.workdir / "stack"

    @property
    def credentials_dir(self) -> Path:
        return self.workdir / "inventory" / "credentials"

    @property
    def network(self) -> str:
        return f"{self.prefix}net"

    def container(self, component: str) -> str:
        return f"{self.prefix}{component}"

    def volume(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def url(self, port_name: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[port_name]}{path}"

    def host_vars(self) -> dict[str, Any]:
        return {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "stack_prefix": self.prefix,
            "stack_network": self.network,
            "stack_subnet": self.subnet,
            "stack_base_dir": str(self.base_dir),
            "stack_bind_address": "127.0.0.1",
            "stack_labels": {TEST_LABEL_KEY: "1"},
            "stack_credentials_dir": str(self.credentials_dir),
            "verify_report_dir": str(self.workdir / "reports"),
            **LOCAL_TEST_VARS,
            **self.ports,
            **self.extra_vars,
        }

    def write_inventory(self) -> None:
        self.inventory.parent.mkdir(parents=True, exist_ok=True)
        inventory = {"all": {"hosts": {"localhost": self.host_vars()}}}
        self.inventory.write_text(yaml.safe_dump(inventory, sort_keys=True))

    def run(self, playbook: str, *arguments: str, extra: dict[str, Any] | None = None,
            write_inventory: bool = True) -> PlaybookRun:
        """ansible-playbook on ``playbook`` (relative to the repository) with the current inventory."""
        if write_inventory:
            self.write_inventory()
        command = ["-i", str(self.inventory), playbook, *arguments]
        if extra:
            command += ["-e", json.dumps(extra)]
        return ansible_playbook(*command, timeout=PLAYBOOK_TIMEOUT)

    # -- what is on the host ------------------------------------------------------------------

    def container_ids(self) -> dict[str, str]:
        """component -> container id, for the stack's containers that exist."""
        ids = {}
        for component in COMPONENTS:
            proc = docker("inspect", "--type", "container", "-f", "{{.Id}}", self.container(component), check=False)
            if proc.returncode == 0:
                ids[component] = proc.stdout.strip()
        return ids

    def volumes(self) -> set[str]:
        names = docker("volume", "ls", "-q", check=True).stdout.split()
        return {name for name in names if name.startswith(self.prefix)}

    def config_files(self) -> dict[str, tuple[float, int]]:
        """Every file under the base directory -> (mtime, size)."""
        if not self.base_dir.exists():
            return {}
        return {str(path): (path.stat().st_mtime, path.stat().st_size)
                for path in self.base_dir.rglob("*") if path.is_file()}

    def state(self) -> dict[str, Any]:
        return {"containers": self.container_ids(), "volumes": self.volumes(), "files": self.config_files()}


# --------------------------------------------------------------------------
# Clients of the stack's APIs, through the published ports
# --------------------------------------------------------------------------


@dataclass
class Grafana:
    stack: Stack
    password: str
    user: str = "admin"

    def call(self, method: str, path: str, body: Any = None, password: str | None = None,
             org_id: int | None = None) -> HttpReply:
        headers = {"X-Grafana-Org-Id": str(org_id)} if org_id else None
        return http(method, self.stack.url("grafana_host_port", path), body=body, headers=headers,
                    auth=(self.user, password or self.password))

    def create_dashboard(self, uid: str, title: str) -> None:
        reply = self.call("POST", "/api/dashboards/db",
                          {"dashboard": {"uid": uid, "title": title, "panels": [], "schemaVersion": 39},
                           "overwrite": True})
        assert reply.status == 200, reply

    def create_user(self, login: str) -> None:
        reply = self.call("POST", "/api/admin/users",
                          {"name": login, "login": login, "email": f"{login}@example.invalid",
                           "password": "Pw-" + login})
        assert reply.status == 200, reply

    def create_org(self, name: str) -> None:
        reply = self.call("POST", "/api/orgs", {"name": name})
        assert reply.status == 200, reply

    def has_dashboard(self, uid: str) -> bool:
        return self.call("GET", f"/api/dashboards/uid/{uid}").status == 200

    def has_user(self, login: str) -> bool:
        return self.call("GET", f"/api/users/lookup?loginOrEmail={login}").status == 200

    def has_org(self, name: str) -> bool:
        return self.call("GET", f"/api/orgs/name/{name}").status == 200

    def state_file(self) -> dict[str, Any]:
        """The Grafana TEST DOUBLE's own state file (not an API of Grafana): where it keeps datasource secrets."""
        text = docker("exec", self.stack.container("grafana"), "cat",
                      "/var/lib/grafana/grafana-double-state.json", check=True).stdout
        return json.loads(text)


@dataclass
class Prometheus:
    stack: Stack

    def write_sample(self, name: str, labels: dict[str, str], value: float) -> int:
        """Remote-writes one sample now; returns its timestamp (ms)."""
        timestamp_ms = int(time.time() * 1000)
        body = remote_write_body({"__name__": name, **labels}, value, timestamp_ms)
        reply = http("POST", self.stack.url("prometheus_host_port", "/api/v1/write"), data=body, headers={
            "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Write-Version": "0.1.0"})
        assert reply.status in (200, 204), reply
        return timestamp_ms

    def value_at(self, query: str, timestamp_ms: int) -> float | None:
        path = "/api/v1/query?" + urllib.parse.urlencode({"query": query, "time": f"{timestamp_ms / 1000:.3f}"})
        reply = http("GET", self.stack.url("prometheus_host_port", path))
        if reply.status != 200:
            return None
        result = reply.json()["data"]["result"]
        return float(result[0]["value"][1]) if result else None


@dataclass
class Alertmanager:
    stack: Stack

    def create_silence(self, alertname: str) -> str:
        now = time.time()
        reply = http("POST", self.stack.url("alertmanager_host_port", "/api/v2/silences"), {
            "matchers": [{"name": "alertname", "value": alertname, "isRegex": False, "isEqual": True}],
            "startsAt": _utc(now - 5), "endsAt": _utc(now + 7200), "createdBy": "gsttest-d2",
            "comment": "day-2 test silence"})
        assert reply.status == 200, reply
        return str(reply.json()["silenceID"])

    def silence_state(self, silence_id: str) -> str | None:
        reply = http("GET", self.stack.url("alertmanager_host_port", f"/api/v2/silence/{silence_id}"))
        return reply.json()["status"]["state"] if reply.status == 200 else None


def _utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def influxdb_accepts(stack: Stack, token: str) -> int:
    return http("GET", stack.url("influxdb_host_port", "/api/v2/buckets"),
                headers={"Authorization": f"Token {token}"}).status


def files_containing(root: Path, needles: Iterable[str]) -> dict[Path, set[str]]:
    """Every file under ``root`` that contains one of ``needles`` -> the needles it contains."""
    found: dict[Path, set[str]] = {}
    if not root.exists():
        return found
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        content = path.read_bytes()
        hits = {needle for needle in needles if needle.encode() in content}
        if hits:
            found[path] = hits
    return found


# ==========================================================================
# The module's stack
# ==========================================================================

PREFIX = "gsttest-d2-"
SUBNET = "172.31.244.0/24"
NEXT_TAG = "gsttest-d2-next"
# Every secret of the stack, each set to a value found nowhere else. Receiver URLs point at a closed port on the
# container's own loopback, and Prometheus sends no alerts, so nothing is ever sent to them.
MARKERS = {
    "grafana_admin_password": "gsttest-mark-grafana-admin-7f3a",
    "grafana_secret_key": "gsttest-mark-grafana-secret-key-5a61",
    "postgresql_password": "gsttest-mark-postgresql-91c2",
    "redis_password": "gsttest-mark-redis-4be0",
    "influxdb_admin_password": "gsttest-mark-influx-password-22d1",
    "influxdb_admin_token": "gsttest-mark-influx-token-8e5f",
    "alertmanager_email_auth_password": "gsttest-mark-smtp-3c77",
    "alertmanager_slack_api_url": "http://127.0.0.1:9/gsttest-mark-slack-5d10",
    "alertmanager_webhook_url": "http://127.0.0.1:9/gsttest-mark-webhook-0a9b",
    "alertmanager_pagerduty_routing_key": "gsttest-mark-pagerduty-6e41",
}
RECEIVERS_ON = {
    "alertmanager_email_enabled": True,
    "alertmanager_email_to": "ops@example.invalid",
    "alertmanager_email_from": "alerts@example.invalid",
    "alertmanager_email_smarthost": "127.0.0.1:25",
    "alertmanager_email_auth_username": "alerts",
    "alertmanager_slack_enabled": True,
    "alertmanager_webhook_enabled": True,
    "alertmanager_pagerduty_enabled": True,
    "prometheus_alertmanager_targets": [],
}

pytestmark = pytest.mark.docker


def _remove_next_tags() -> None:
    for name in ("data2ai-test/prometheus", "data2ai-test/grafana-double"):
        docker("rmi", f"{name}:{NEXT_TAG}", check=False)


@dataclass
class Converged:
    stack: Stack
    first_run: PlaybookRun
    grafana: Grafana
    prometheus: Prometheus
    alertmanager: Alertmanager


@pytest.fixture(scope="module")
def converged(tmp_path_factory: pytest.TempPathFactory) -> Converged:
    require_images(*LOCAL_TEST_IMAGES.values())
    remove_labelled(PREFIX)
    _remove_next_tags()
    stack = Stack(tmp_path_factory.mktemp("day2"), PREFIX, SUBNET,
                  extra_vars={**MARKERS, **RECEIVERS_ON, "prometheus_web_enable_admin_api": True})
    started = time.monotonic()
    try:
        first = stack.run("site.yml", "-vvv")
        first.assert_ok()
        print(f"first converge (-vvv): {time.monotonic() - started:.0f} s")
        yield Converged(stack, first, Grafana(stack, MARKERS["grafana_admin_password"]), Prometheus(stack),
                        Alertmanager(stack))
    finally:
        remove_labelled(PREFIX)
        _remove_next_tags()


# ==========================================================================
# 8. Check mode on a host without the stack (no fixture: nothing is created)
# ==========================================================================


def test_check_mode_on_an_empty_host_reports_what_it_would_create_and_creates_nothing(tmp_path: Path) -> None:
    require_images(*LOCAL_TEST_IMAGES.values())
    prefix = f"{PREFIX}empty-"
    stack = Stack(tmp_path, prefix, SUBNET)
    try:
        run = stack.run("site.yml", "--check")
        run.assert_ok()
        assert run.recap["failed"] == 0
        assert "does not exist yet" in run.output, "check mode does not say the containers cannot be checked"
        changed = run.changed_tasks
        # Each component's configuration, volumes and container are one task (data2ai.grafana_stack.stack_container).
        # The network is docker_host's one stack_host task (data2ai.grafana_stack.stack_host).
        for expected in ("Engine, images, base directory and network", "Run Prometheus with its checked prometheus.yml",
                         "Run Grafana with its grafana.ini and data volume"):
            assert any(expected in task for task in changed), f"check mode does not report '{expected}'"
        assert docker("network", "inspect", stack.network, check=False).returncode != 0, "the network was created"
        assert stack.container_ids() == {}, "a container was created"
        assert stack.volumes() == set(), "a volume was created"
        assert not stack.base_dir.exists(), "the configuration directory was created"
    finally:
        remove_labelled(prefix)


# ==========================================================================
# 7. No leaked secrets
# ==========================================================================


# Secrets the stack makes itself and keeps in stack_secret's host directory on the controller; the fixture sets every
# other secret (MARKERS). A file there shorter than this is no secret worth the name (and would match by chance).
GENERATED_SECRETS = ("influxdb_read_token",)
MIN_SECRET_LENGTH = 12


def stack_secrets(stack: Stack) -> dict[str, str]:
    """Every secret the stack runs with, name -> value: the markers the inventory sets, Grafana's admin credentials
    as a basic auth header carries them, and every value kept in stack_secret's host directory on the controller
    (generated ones, such as the InfluxDB read token, are read from there)."""
    secrets = dict(MARKERS)
    admin = f"admin:{MARKERS['grafana_admin_password']}"
    secrets["grafana admin basic auth"] = base64.b64encode(admin.encode()).decode()
    host_dir = stack.credentials_dir / "localhost"
    for path in sorted(host_dir.rglob("*")):
        if path.is_file():
            value = path.read_text(encoding="utf-8").strip()
            if len(value) >= MIN_SECRET_LENGTH:
                secrets[f"credentials/{path.relative_to(host_dir)}"] = value
    missing = [name for name in GENERATED_SECRETS if f"credentials/{name}" not in secrets]
    assert missing == [], f"generated secrets not found in {host_dir}: {missing}"
    return secrets


def test_a_verbose_run_with_every_secret_set_prints_none_of_them(converged: Converged) -> None:
    output = converged.first_run.output
    assert "-vvv" in converged.first_run.output or "ESTABLISH LOCAL CONNECTION" in output, "not a -vvv run"
    secrets = stack_secrets(converged.stack)
    # Issue 13's secrets are among them: Grafana's secret_key, the Redis password and the InfluxDB read token.
    assert {"grafana_secret_key", "redis_password", "credentials/influxdb_read_token"} <= set(secrets)
    leaked = {name for name, value in secrets.items() if value in output}
    assert leaked == set(), f"the -vvv output prints the secrets {sorted(leaked)}"


def _strings(value: Any, path: str = "") -> Iterable[tuple[str, str]]:
    """Every string in a JSON document (keys included), with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", str(key)
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def secrets_in_docker_inspect(containers: Iterable[str], secrets: dict[str, str]) -> dict[str, list[str]]:
    """container -> "<secret name> in <field>" for every secret found anywhere in its `docker inspect` (Env, Cmd,
    Args, Entrypoint, Labels, Mounts, Healthcheck, the healthcheck's log, ...)."""
    found: dict[str, list[str]] = {}
    for name in containers:
        document = json.loads(docker("inspect", "--type", "container", name, check=True).stdout)[0]
        hits = [f"{secret} in {where}" for where, text in _strings(document)
                for secret, value in secrets.items() if value in text]
        if hits:
            found[name] = sorted(set(hits))
    return found


def test_docker_inspect_of_every_container_shows_no_secret(converged: Converged) -> None:
    stack = converged.stack
    secrets = stack_secrets(stack)
    names = docker("ps", "-a", "--filter", f"label={TEST_LABEL_KEY}=1", "--format", "{{.Names}}",
                   check=True).stdout.split()
    containers = sorted(name for name in names if name.startswith(PREFIX))
    expected = {stack.container(component) for component in COMPONENTS}
    assert expected <= set(containers), f"containers missing: {sorted(expected - set(containers))}"
    # Healthchecks have run by now, so their output in State.Health.Log is part of what is searched.
    leaks = secrets_in_docker_inspect(containers, secrets)
    assert leaks == {}, f"docker inspect shows secrets: {leaks}"


def test_secrets_are_only_in_owner_only_files_under_secrets_directories(converged: Converged) -> None:
    """'Outside the credentials directory' means: any file the run leaves on the host under stack_base_dir, except
    a file inside a directory named secrets/ that only its owner can read (mode 0600 or 0400); and any file on the
    controller next to the inventory (reports, ...) except stack_credentials_dir and the inventory itself, which
    stands for the user's vault here. Docker's own state (volumes, container settings under /var/lib/docker) is not
    part of it: see docs/day2.md."""
    stack = converged.stack
    markers = set(MARKERS.values())
    on_host = files_containing(stack.base_dir, markers)
    misplaced = {str(path): sorted(hits) for path, hits in on_host.items()
                 if path.parent.name != "secrets" or path.stat().st_mode & 0o077}
    assert misplaced == {}, f"secrets outside owner-only secrets/ files: {misplaced}"
    # The files that must hold them do: the test would pass vacuously otherwise.
    holders = {hit for hits in on_host.values() for hit in hits}
    in_files = markers - {MARKERS["influxdb_admin_password"], MARKERS["influxdb_admin_token"]}
    assert in_files <= holders, f"secrets not written where the stack reads them: {in_files - holders}"
    on_controller = files_containing(stack.workdir, markers)
    allowed = (stack.credentials_dir, stack.inventory, stack.base_dir)
    outside = [str(path) for path in on_controller
               if not any(path == root or root in path.parents for root in allowed)]
    assert outside == [], f"secrets in controller files: {outside}"


# ==========================================================================
# 8. Check mode on the converged stack
# ==========================================================================


def test_check_diff_on_the_converged_stack_changes_nothing(converged: Converged) -> None:
    run = converged.stack.run("site.yml", "--check", "--diff")
    run.assert_ok()
    assert run.recap["changed"] == 0, f"check mode reports changes: {run.changed_tasks}"


# ==========================================================================
# 6. Refusing bad input before anything changes
# ==========================================================================

BAD_INPUT = {
    "port that is not a number": ({"grafana_host_port": "abc"}, "grafana_host_port"),
    "port out of range": ({"prometheus_host_port": 70000}, "prometheus_host_port: 70000 is not a port"),
    "retention in words": ({"prometheus_retention_time": "30 days"},
                           "prometheus_retention_time: '30 days' is not a duration"),
    "unknown receiver type": ({"alertmanager_extra_receivers": [{"name": "team", "teams_configs": [{}]}]},
                              "unknown receiver type 'teams_configs'"),
    "student without a login": ({"students": [{"name": "Ann", "login": "ann"}, {"name": "Bob"}]},
                                "student #2 (Bob) has no login"),
    "duplicate student login": ({"students": [{"name": "Ann", "login": "ann"}, {"name": "Ann B", "login": "ANN"}]},
                                "the login is already used by student #1"),
    "subnet that is not CIDR": ({"stack_subnet": "172.31.244.0"},
                                "docker_host_subnet (stack_subnet) must be an IPv4 CIDR"),
}


def test_bad_input_is_refused_with_one_line_naming_the_variable_before_anything_changes(converged: Converged) -> None:
    stack = converged.stack
    before = stack.state()
    stack.write_inventory()

    def attempt(case: str) -> str | None:
        extra, expected = BAD_INPUT[case]
        run = stack.run("site.yml", extra=extra, write_inventory=False)
        if run.returncode == 0:
            return f"{case}: accepted"
        lines = [line for line in run.output.splitlines() if expected in line]
        if not lines:
            return f"{case}: no line with {expected!r}:\n{run.output[-3000:]}"
        return None

    with ThreadPoolExecutor(max_workers=4) as pool:
        problems = [problem for problem in pool.map(attempt, BAD_INPUT) if problem]
    assert problems == [], "\n".join(problems)
    after = stack.state()
    assert after["containers"] == before["containers"], "a container was changed"
    assert after["volumes"] == before["volumes"], "a volume was created or removed"
    assert after["files"] == before["files"], "a configuration file was changed"


# ==========================================================================
# 5. Self-healing
# ==========================================================================


def test_a_stopped_a_removed_container_and_a_hand_edited_config_are_repaired(converged: Converged) -> None:
    stack = converged.stack
    config = stack.base_dir / "prometheus" / "prometheus.yml"
    rendered = config.read_text()
    docker("stop", stack.container("redis"), check=True)
    docker("rm", "-f", stack.container("loki"), check=True)
    config.write_text(rendered.replace("scrape_interval: 15s", "scrape_interval: 5m") + "# edited by hand\n")
    # The lifecycle API is off: SIGHUP makes Prometheus read the hand edit, as the role's handler does.
    docker("kill", "--signal", "HUP", stack.container("prometheus"), check=True)
    wait_for("the hand edit live", lambda: "scrape_interval: 5m" in _loaded_prometheus_config(stack), timeout=30)

    run = stack.run("site.yml")
    run.assert_ok()
    assert config.read_text() == rendered, "the hand-edited prometheus.yml was not re-templated"
    assert any("Reload prometheus" in task for task in run.changed_tasks), "the reload handler did not fire"
    for component in ("redis", "loki"):
        state = json.loads(docker("inspect", "--type", "container", "-f", "{{json .State}}",
                                  stack.container(component), check=True).stdout)
        assert state["Running"], f"{component} is not running again"
    health = json.loads(docker("inspect", "-f", "{{json .State.Health}}", stack.container("redis"), check=True).stdout)
    assert health["Status"] == "healthy", f"redis is {health['Status']}"
    assert http("GET", stack.url("loki_host_port", "/ready")).status == 200, "loki is not ready"
    loaded = _loaded_prometheus_config(stack)
    assert "scrape_interval: 15s" in loaded and "scrape_interval: 5m" not in loaded, "Prometheus runs the hand edit"


def _loaded_prometheus_config(stack: Stack) -> str:
    return http("GET", stack.url("prometheus_host_port", "/api/v1/status/config")).json()["data"]["yaml"]


# ==========================================================================
# 3. Upgrades keep data
# ==========================================================================


def test_an_image_bump_recreates_only_that_container_and_keeps_its_data(converged: Converged) -> None:
    stack, grafana, prometheus = converged.stack, converged.grafana, converged.prometheus
    at = prometheus.write_sample("gsttest_d2_upgrade", {"case": "upgrade"}, 3.0)
    grafana.create_dashboard("gsttest-d2-upgrade", "Kept across the upgrade")
    before = stack.container_ids()
    for image in ("data2ai-test/prometheus", "data2ai-test/grafana-double"):
        docker("tag", f"{image}:local", f"{image}:{NEXT_TAG}", check=True)
    stack.extra_vars.update({"prometheus_image": f"data2ai-test/prometheus:{NEXT_TAG}",
                             "grafana_image": f"data2ai-test/grafana-double:{NEXT_TAG}"})

    run = stack.run("site.yml")
    run.assert_ok()
    after = stack.container_ids()
    recreated = {component for component in before if before[component] != after.get(component)}
    assert recreated == {"prometheus", "grafana"}, f"recreated: {sorted(recreated)}"
    for component in ("prometheus", "grafana"):
        image = docker("inspect", "-f", "{{.Config.Image}}", stack.container(component), check=True).stdout.strip()
        assert image.endswith(f":{NEXT_TAG}"), f"{component} runs {image}"
    assert prometheus.value_at('gsttest_d2_upgrade{case="upgrade"}', at) == 3.0, "the sample is gone"
    assert grafana.has_dashboard("gsttest-d2-upgrade"), "the dashboard is gone"


# ==========================================================================
# 4. Rotating secrets
# ==========================================================================


def test_rotated_secrets_work_for_every_consumer_and_the_old_ones_fail(converged: Converged) -> None:
    stack, grafana = converged.stack, converged.grafana
    old = {name: stack.extra_vars[name]
           for name in ("grafana_admin_password", "postgresql_password", "influxdb_admin_token")}
    new_admin, new_db = "gsttest-d2-rotated-admin-1b7e", "gsttest-d2-rotated-db-c410"
    # The InfluxDB token moves from the inventory (vault) to the controller, as docs/day2.md says, then rotates.
    token_file = stack.credentials_dir / "localhost" / "influxdb_admin_token"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(old["influxdb_admin_token"])
    token_file.chmod(0o600)
    del stack.extra_vars["influxdb_admin_token"]
    stack.extra_vars.update({"grafana_admin_password": new_admin, "postgresql_password": new_db})

    run = stack.run("site.yml", extra={"influxdb_admin_token_rotate": True})
    run.assert_ok()
    # Grafana's admin password
    assert grafana.call("GET", "/api/user", password=new_admin).status == 200, "the new admin password fails"
    assert grafana.call("GET", "/api/user", password=old["grafana_admin_password"]).status == 401, \
        "the old admin password still works"
    grafana.password = new_admin

    # PostgreSQL: the role's password, and Grafana, which logs in with it
    def psql(password: str) -> int:
        return docker("exec", "-i", stack.container("postgresql"), "sh", "-c",
                      'PGPASSWORD="$(cat)" psql -h postgresql -U grafana -d grafana -tAc "SELECT 1"',
                      stdin=password, check=False).returncode
    assert psql(new_db) == 0, "the new PostgreSQL password fails"
    assert psql(old["postgresql_password"]) != 0, "the old PostgreSQL password still works"
    health = http("GET", stack.url("grafana_host_port", "/api/health"))
    assert health.status == 200 and health.json()["database"] == "ok", f"Grafana lost its database: {health}"
    # InfluxDB: a new token InfluxDB made, kept on the controller; the old one is gone; Grafana's datasource has the
    # read-only token that was replaced with it, never the operator token
    new_token = token_file.read_text().strip()
    assert new_token and new_token != old["influxdb_admin_token"], "the token was not rotated"
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    assert influxdb_accepts(stack, new_token) == 200, "InfluxDB refuses the new token"
    assert influxdb_accepts(stack, old["influxdb_admin_token"]) == 401, "InfluxDB still accepts the old token"
    read_token = (stack.credentials_dir / "localhost" / "influxdb_read_token").read_text().strip()
    datasources = {ds["uid"]: ds for ds in grafana.state_file()["datasources"]}
    assert datasources["influxdb"]["secure"]["token"] == read_token != new_token, \
        "Grafana's InfluxDB datasource does not have the new read-only token"
    assert new_token not in run.output and new_db not in run.output and new_admin not in run.output
    assert read_token not in run.output


def test_a_different_secret_key_stops_the_run_unless_rotation_is_asked_for(converged: Converged) -> None:
    stack = converged.stack
    key_file = stack.base_dir / "grafana" / "secrets" / "secret_key"
    assert key_file.read_text() == MARKERS["grafana_secret_key"], "Grafana's secret_key is not the configured one"
    grafana_ini = (stack.base_dir / "grafana" / "grafana.ini").read_text()
    assert "secret_key = $__file{/etc/grafana/secrets/secret_key}" in grafana_ini
    new_key = "gsttest-d2-rotated-secret-key-77b1"

    refused = stack.run("site.yml", extra={"grafana_secret_key": new_key})
    assert refused.returncode != 0, "a new secret_key was accepted without grafana_secret_key_rotate"
    assert "grafana_secret_key differs from the key Grafana on this host encrypts its stored secrets with" \
        in refused.output and "grafana_secret_key_rotate=true" in refused.output, refused.output[-3000:]
    assert key_file.read_text() == MARKERS["grafana_secret_key"], "the refused key was written all the same"
    assert new_key not in refused.output

    stack.extra_vars["grafana_secret_key"] = new_key
    rotated = stack.run("site.yml", extra={"grafana_secret_key_rotate": True})
    rotated.assert_ok()
    assert key_file.read_text() == new_key
    assert any("Provision the datasources" in task or "datasource" in task.lower() for task in rotated.changed_tasks), \
        f"the datasources' secrets were not sent again: {rotated.changed_tasks}"
    assert new_key not in rotated.output


# ==========================================================================
# 1. Teardown keeps the data; site.yml brings it back
# ==========================================================================


def test_teardown_removes_containers_and_network_and_site_brings_back_every_dashboard_user_and_metric(
        converged: Converged) -> None:
    stack, grafana, prometheus = converged.stack, converged.grafana, converged.prometheus
    at = prometheus.write_sample("gsttest_d2_teardown", {"case": "teardown"}, 7.0)
    grafana.create_dashboard("gsttest-d2-teardown", "Kept across a teardown")
    grafana.create_user("gsttest-d2-student")
    volumes = stack.volumes()

    teardown = stack.run("playbooks/teardown.yml")
    teardown.assert_ok()
    assert stack.container_ids() == {}, "containers are left"
    assert docker("network", "inspect", stack.network, check=False).returncode != 0, "the network is left"
    assert stack.volumes() == volumes, "a volume was removed"
    assert (stack.base_dir / "grafana" / "grafana.ini").exists(), "the configuration was removed"

    site = stack.run("site.yml")
    site.assert_ok()
    assert prometheus.value_at('gsttest_d2_teardown{case="teardown"}', at) == 7.0, "the metric is gone"
    assert grafana.has_dashboard("gsttest-d2-teardown"), "the dashboard is gone"
    assert grafana.has_user("gsttest-d2-student"), "the user is gone"


def test_a_purge_without_its_confirmation_removes_nothing(converged: Converged) -> None:
    stack = converged.stack
    before = stack.state()
    for extra in ({"teardown_purge": True}, {"teardown_purge": True, "teardown_purge_confirm": "localhots"}):
        run = stack.run("playbooks/teardown.yml", extra=extra)
        assert run.returncode != 0, f"a purge with {extra} ran"
        assert "-e teardown_purge_confirm=localhost" in run.output and "Nothing was removed" in run.output
    assert stack.state() == before, "the refused purge changed something"


# ==========================================================================
# 2. Backup, purge, restore
# ==========================================================================


def test_backup_then_purge_then_restore_gives_back_users_orgs_dashboards_series_and_silences(
        converged: Converged) -> None:
    stack, grafana = converged.stack, converged.grafana
    prometheus, alertmanager = converged.prometheus, converged.alertmanager
    at = prometheus.write_sample("gsttest_d2_backup", {"case": "backup"}, 11.0)
    grafana.create_org("gsttest-d2-cohort")
    grafana.create_user("gsttest-d2-restored")
    grafana.create_dashboard("gsttest-d2-backup", "Kept in a backup")
    silence = alertmanager.create_silence("GsttestD2Backup")
    token = (stack.credentials_dir / "localhost" / "influxdb_admin_token").read_text().strip()
    backups = stack.workdir / "backups"

    backup = stack.run("playbooks/backup.yml", extra={"backup_dir": str(backups)})
    backup.assert_ok()
    latest = backups / "localhost" / "latest"
    assert latest.is_symlink() and re.fullmatch(r"\d{8}T\d{6}Z", os.readlink(latest)), "no dated backup"
    manifest = json.loads((latest / "manifest.json").read_text())
    assert {volume["key"] for volume in manifest["volumes"]} == {
        "grafana_data", "prometheus_data", "alertmanager_data", "loki_data", "tempo_data", "promtail_positions",
        "influxdb_data", "influxdb_config"}
    assert manifest["prometheus"]["method"] == "snapshot"
    for name, entry in manifest["files"].items():
        path = latest / name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], f"{name}: checksum differs"
        assert path.stat().st_mode & 0o077 == 0, f"{name} is readable by others"
    assert "grafana.pgdump" in manifest["files"] and "credentials/influxdb_admin_token" in manifest["files"]
    sums = (latest / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == len(manifest["files"])
    running = docker("ps", "--format", "{{.Names}}", "--filter", f"name={PREFIX}", check=True).stdout.split()
    assert {stack.container(component) for component in COMPONENTS} <= set(running), \
        "a component does not run again after the backup"

    purge = stack.run("playbooks/teardown.yml", extra={"teardown_purge": True, "teardown_purge_confirm": "localhost"})
    purge.assert_ok()
    assert stack.container_ids() == {} and stack.volumes() == set(), "the purge left containers or volumes"
    assert not (stack.credentials_dir / "localhost").exists(), "the purge left the controller's credentials"
    assert not stack.base_dir.exists(), "the purge left the rendered configuration"

    restore = stack.run("playbooks/restore.yml", extra={"backup_dir": str(backups)})
    restore.assert_ok()
    assert grafana.has_org("gsttest-d2-cohort"), "the org is gone"
    assert grafana.has_user("gsttest-d2-restored") and grafana.has_user("gsttest-d2-student"), "a user is gone"
    assert grafana.has_dashboard("gsttest-d2-backup") and grafana.has_dashboard("gsttest-d2-teardown")
    assert prometheus.value_at('gsttest_d2_backup{case="backup"}', at) == 11.0, "the series is gone"
    assert alertmanager.silence_state(silence) == "active", "the silence is gone"
    assert influxdb_accepts(stack, token) == 200, "InfluxDB and the restored credentials disagree"
    label_format = f'{{{{index .Labels "{TEST_LABEL_KEY}"}}}}'
    unlabelled = [name for name in stack.volumes()
                  if docker("volume", "inspect", "-f", label_format, name, check=True).stdout.strip() != "1"]
    assert unlabelled == [], f"restored volumes without the stack's labels: {unlabelled}"
