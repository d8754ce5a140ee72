"""The local test images of real servers behave like their upstream images.

The images are built by ``tests/images/build.sh``. Each test starts containers named
``gsttest-img-*`` with the label ``data2ai.grafana_stack.test=1``, publishes ports only on
127.0.0.1 (host port chosen by Docker), and removes them afterwards, even on failure.
A missing Docker engine or a missing image fails the test with a clear message.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from stack_testlib import DOCKER, TEST_LABEL, docker, http_get, wait_for

pytestmark = pytest.mark.docker

NAME_PREFIX = "gsttest-img-"
BUILD_HINT = "build the test images first: tests/images/build.sh"
HOST_APT_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
READY_TIMEOUT = 30.0


def image(name: str) -> str:
    return f"data2ai-test/{name}:local"


PROM_IMAGES = {
    "prometheus": (9090, "/-/ready"),
    "alertmanager": (9093, "/-/ready"),
    "node-exporter": (9100, "/metrics"),
}
ALL_IMAGES = [
    "base-bookworm",
    "base-trixie",
    "prometheus",
    "alertmanager",
    "node-exporter",
    "postgres",
    "redis",
    "labvm",
]


@dataclass
class Container:
    """A started test container and its published ports on 127.0.0.1."""

    name: str
    ports: dict[int, int] = field(default_factory=dict)

    def url(self, port: int, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[port]}{path}"

    def exec(
        self, *cmd: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        env_args = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
        return docker("exec", *env_args, self.name, *cmd, check=check)

    def logs(self) -> str:
        proc = docker("logs", self.name, check=False)
        return proc.stdout + proc.stderr


class Containers:
    """Starts labelled, prefixed containers and removes every one of them at the end."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.volumes: list[str] = []

    def volume(self, kind: str) -> str:
        """A named, labelled volume that remove_all deletes."""
        name = f"{NAME_PREFIX}{kind}-{secrets.token_hex(4)}"
        docker("volume", "create", "--label", TEST_LABEL, name, check=True)
        self.volumes.append(name)
        return name

    def new_name(self, kind: str) -> str:
        name = f"{NAME_PREFIX}{kind}-{secrets.token_hex(4)}"
        self.names.append(name)
        return name

    def common_args(self, kind: str) -> list[str]:
        return ["--name", self.new_name(kind), "--label", TEST_LABEL]

    def start(
        self,
        name: str,
        *,
        ports: tuple[int, ...] = (),
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        docker_args: tuple[str, ...] = (),
    ) -> Container:
        run_args = self.common_args(name)
        for port in ports:
            run_args += ["--publish", f"127.0.0.1::{port}"]
        for key, value in (env or {}).items():
            run_args += ["--env", f"{key}={value}"]
        docker("run", "--detach", *run_args, *docker_args, image(name), *args, check=True)
        container = Container(run_args[1])
        for port in ports:
            host = docker("port", container.name, f"{port}/tcp", check=True).stdout.splitlines()[0]
            container.ports[port] = int(host.rsplit(":", 1)[1])
        return container

    def run_once(
        self, name: str, *cmd: str, entrypoint: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """docker run --rm (still named and labelled) and return the result unchecked."""
        run_args = self.common_args(name)
        if entrypoint is not None:
            run_args += ["--entrypoint", entrypoint]
        for key, value in (env or {}).items():
            run_args += ["--env", f"{key}={value}"]
        return docker("run", "--rm", *run_args, image(name), *cmd, check=False)

    def remove_all(self) -> None:
        for name in self.names:
            docker("rm", "--force", "--volumes", name, check=False, timeout=60)
        for name in self.volumes:
            docker("volume", "rm", "--force", name, check=False, timeout=60)


@pytest.fixture(scope="session")
def docker_engine() -> None:
    if not Path(DOCKER).exists():
        pytest.fail(f"{DOCKER} (Debian's docker client) is missing: apt-get install docker.io")
    proc = docker("version", "--format", "{{.Server.Version}}", check=False, timeout=30)
    if proc.returncode != 0:
        pytest.fail(f"the Docker engine does not answer through {DOCKER}: {proc.stderr.strip()}")


@pytest.fixture(scope="session")
def built_images(docker_engine: None) -> None:
    missing = [name for name in ALL_IMAGES if docker("image", "inspect", image(name), check=False).returncode != 0]
    if missing:
        pytest.fail(f"missing test images {', '.join(image(m) for m in missing)}; {BUILD_HINT}")


@pytest.fixture
def containers(built_images: None) -> Iterator[Containers]:
    started = Containers()
    try:
        yield started
    finally:
        started.remove_all()


def wait_http(container: Container, port: int, path: str) -> str:
    """Wait for a 200 on path; return the body. The failure message carries the logs."""
    body = ""

    def ready() -> bool:
        nonlocal body
        status, body = http_get(container.url(port, path))
        return status == 200

    start = time.monotonic()
    while time.monotonic() - start < READY_TIMEOUT:
        if ready():
            return body
        time.sleep(0.25)
    pytest.fail(f"{path} on {container.name} not 200 within {READY_TIMEOUT:.0f} s; logs:\n{container.logs()}")


def image_config(name: str) -> dict:
    return json.loads(docker("image", "inspect", "--format", "{{json .Config}}", image(name), check=True).stdout)


# --- Prometheus, Alertmanager, node exporter ------------------------------------------


def test_prometheus_becomes_ready_with_its_default_config(containers: Containers) -> None:
    prom = containers.start("prometheus", ports=(9090,))
    wait_http(prom, 9090, "/-/ready")
    status, body = http_get(prom.url(9090, "/api/v1/status/config"))
    assert status == 200
    assert "job_name: prometheus" in json.loads(body)["data"]["yaml"]


def test_promtool_reports_its_version_and_accepts_the_default_config(containers: Containers) -> None:
    version = containers.run_once("prometheus", "--version", entrypoint="/bin/promtool")
    assert version.returncode == 0, version.stderr
    assert re.search(r"promtool, version 2\.53\.", version.stdout + version.stderr)
    check = containers.run_once(
        "prometheus", "check", "config", "/etc/prometheus/prometheus.yml", entrypoint="/bin/promtool"
    )
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.usefixtures("built_images")
def test_prometheus_image_has_upstream_entrypoint_user_and_port() -> None:
    config = image_config("prometheus")
    assert config["Entrypoint"] == ["/bin/prometheus"]
    assert config["Cmd"][:2] == ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
    assert config["User"] == "nobody"
    assert "9090/tcp" in config["ExposedPorts"]
    assert "/prometheus" in config["Volumes"]


def test_prometheus_stores_its_data_in_slash_prometheus_as_nobody(containers: Containers) -> None:
    prom = containers.start("prometheus", ports=(9090,))
    wait_http(prom, 9090, "/-/ready")
    owner = prom.exec("stat", "-c", "%u %U", "/prometheus").stdout.split()
    assert owner == ["65534", "nobody"]
    assert prom.exec("id", "-u").stdout.strip() == "65534"
    assert "wal" in prom.exec("ls", "/prometheus").stdout.split()


def test_alertmanager_becomes_ready_with_its_default_config(containers: Containers) -> None:
    alertmanager = containers.start("alertmanager", ports=(9093,))
    wait_http(alertmanager, 9093, "/-/ready")
    status, body = http_get(alertmanager.url(9093, "/api/v2/status"))
    assert status == 200
    assert json.loads(body)["cluster"]["status"] in {"ready", "settling"}


def test_amtool_accepts_the_default_alertmanager_config(containers: Containers) -> None:
    check = containers.run_once(
        "alertmanager", "check-config", "/etc/alertmanager/alertmanager.yml", entrypoint="/bin/amtool"
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS" in check.stdout


@pytest.mark.usefixtures("built_images")
def test_alertmanager_image_has_upstream_entrypoint_user_and_port() -> None:
    config = image_config("alertmanager")
    assert config["Entrypoint"] == ["/bin/alertmanager"]
    assert config["Cmd"] == ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]
    assert config["User"] == "nobody"
    assert "9093/tcp" in config["ExposedPorts"]


def test_node_exporter_metrics_include_cpu_seconds(containers: Containers) -> None:
    exporter = containers.start("node-exporter", ports=(9100,))
    body = wait_http(exporter, 9100, "/metrics")
    assert "node_cpu_seconds_total" in body
    assert re.search(r'node_exporter_build_info\{.*version="1\.9\.', body)


@pytest.mark.usefixtures("built_images")
def test_node_exporter_image_has_upstream_entrypoint_user_and_port() -> None:
    config = image_config("node-exporter")
    assert config["Entrypoint"] == ["/bin/node_exporter"]
    assert config["User"] == "nobody"
    assert "9100/tcp" in config["ExposedPorts"]


@pytest.mark.parametrize("name", sorted(PROM_IMAGES))
def test_prom_images_answer_a_busybox_wget_healthcheck(containers: Containers, name: str) -> None:
    port, path = PROM_IMAGES[name]
    server = containers.start(name, ports=(port,))
    wait_http(server, port, path)
    assert server.exec("readlink", "-f", "/bin/wget").stdout.strip().endswith("/busybox")
    probe = server.exec("wget", "-q", "-O", "-", f"http://127.0.0.1:{port}{path}", check=False)
    assert probe.returncode == 0, probe.stderr


# --- PostgreSQL -----------------------------------------------------------------------

PG_ENV = {"POSTGRES_USER": "gstuser", "POSTGRES_PASSWORD": "gst-Secret-1", "POSTGRES_DB": "gstdb"}


def wait_pg_ready(pg: Container) -> None:
    """pg_isready over TCP: only the final server listens there, not the init one."""
    wait_for(
        f"pg_isready on {pg.name}",
        lambda: pg.exec("pg_isready", "-h", "127.0.0.1", "-p", "5432", check=False).returncode == 0,
        details=pg.logs,
        timeout=READY_TIMEOUT,
    )


def bridge_ip(container: Container) -> str:
    """The container's address on Docker's default bridge."""
    return docker("inspect", "--format", "{{.NetworkSettings.IPAddress}}", container.name, check=True).stdout.strip()


def psql_over_tcp(pg: Container, user: str, password: str, dbname: str, sql: str) -> subprocess.CompletedProcess[str]:
    """psql inside the container to its own network address, so pg_hba's network rule
    (password required) applies, as for any peer on the Docker network; upstream trusts
    only the unix socket and loopback."""
    return pg.exec(
        "psql",
        "-v",
        "ON_ERROR_STOP=1",
        "-tA",
        "-h",
        bridge_ip(pg),
        "-U",
        user,
        "-d",
        dbname,
        "-c",
        sql,
        env={"PGPASSWORD": password},
        check=False,
    )


def test_postgres_creates_the_user_and_database_on_first_start(containers: Containers) -> None:
    pg = containers.start("postgres", ports=(5432,), env=PG_ENV)
    wait_pg_ready(pg)
    who = psql_over_tcp(pg, "gstuser", "gst-Secret-1", "gstdb", "SELECT current_user || '|' || current_database()")
    assert who.returncode == 0, who.stderr + pg.logs()
    assert who.stdout.strip() == "gstuser|gstdb"
    sql = "CREATE TABLE t (x int); INSERT INTO t VALUES (7); SELECT x FROM t"
    made = psql_over_tcp(pg, "gstuser", "gst-Secret-1", "gstdb", sql)
    assert made.stdout.strip().splitlines()[-1] == "7", made.stderr


def test_postgres_rejects_a_wrong_password_over_the_network(containers: Containers) -> None:
    pg = containers.start("postgres", env=PG_ENV)
    wait_pg_ready(pg)
    wrong = psql_over_tcp(pg, "gstuser", "not-the-password", "gstdb", "SELECT 1")
    assert wrong.returncode != 0
    assert "password authentication failed" in wrong.stderr


def test_postgres_listens_on_all_addresses_and_port_5432(containers: Containers) -> None:
    pg = containers.start("postgres", ports=(5432,), env=PG_ENV)
    wait_pg_ready(pg)
    setting = psql_over_tcp(pg, "gstuser", "gst-Secret-1", "gstdb", "SHOW listen_addresses")
    assert setting.stdout.strip() == "*"
    with socket.create_connection(("127.0.0.1", pg.ports[5432]), timeout=5):
        pass


def test_postgres_reads_the_password_from_a_file(containers: Containers, tmp_path: Path) -> None:
    secret = tmp_path / "pg-password"
    secret.write_text("from-a-File-2\n")
    secret.chmod(0o644)
    env = {"POSTGRES_USER": "fileuser", "POSTGRES_PASSWORD_FILE": "/run/secrets/pg-password"}
    pg = containers.start("postgres", env=env, docker_args=("--volume", f"{secret}:/run/secrets/pg-password:ro"))
    wait_pg_ready(pg)
    login = psql_over_tcp(pg, "fileuser", "from-a-File-2", "fileuser", "SELECT current_database()")
    assert login.returncode == 0, login.stderr + pg.logs()
    assert login.stdout.strip() == "fileuser"


def test_postgres_refuses_to_initialise_without_a_password(containers: Containers) -> None:
    result = containers.run_once("postgres")
    assert result.returncode != 0
    assert "superuser password is not specified" in result.stderr


def test_postgres_server_runs_as_postgres_with_data_in_the_upstream_path(containers: Containers) -> None:
    pg = containers.start("postgres", env=PG_ENV)
    wait_pg_ready(pg)
    assert pg.exec("stat", "-c", "%U %a", "/var/lib/postgresql/data").stdout.split() == ["postgres", "700"]
    assert pg.exec("stat", "-c", "%U", "/proc/1").stdout.strip() == "postgres"
    assert pg.exec("id", "-u", "postgres").stdout.strip() == "999"
    assert pg.exec("cat", "/var/lib/postgresql/data/PG_VERSION").stdout.strip() == "15"


# --- Redis ----------------------------------------------------------------------------


def redis_ping_over_tcp(port: int) -> bytes:
    """PING through the published port: the server sees a non-loopback client."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"PING\r\n")
        return conn.recv(128)


def redis_cli_ping(redis: Container) -> str:
    return redis.exec("redis-cli", "PING", check=False).stdout.strip()


def test_redis_cli_ping_returns_pong(containers: Containers) -> None:
    redis = containers.start("redis", ports=(6379,))
    wait_for("redis PING", lambda: redis_cli_ping(redis) == "PONG", details=redis.logs, timeout=READY_TIMEOUT)
    assert redis.exec("redis-cli", "CONFIG", "GET", "dir").stdout.split() == ["dir", "/data"]
    assert redis.exec("stat", "-c", "%U", "/proc/1").stdout.strip() == "redis"


def test_redis_answers_network_clients_because_protected_mode_is_off(containers: Containers) -> None:
    redis = containers.start("redis", ports=(6379,))
    wait_for("redis PING", lambda: redis_cli_ping(redis) == "PONG", details=redis.logs, timeout=READY_TIMEOUT)
    assert redis_ping_over_tcp(redis.ports[6379]) == b"+PONG\r\n"


def test_redis_starts_from_a_config_file_given_as_argument(containers: Containers, tmp_path: Path) -> None:
    conf = tmp_path / "redis.conf"
    conf.write_text("port 6390\nrequirepass gst-redis-pw\n")
    conf.chmod(0o644)
    redis = containers.start(
        "redis",
        docker_args=("--volume", f"{conf}:/usr/local/etc/redis/redis.conf:ro"),
        args=("redis-server", "/usr/local/etc/redis/redis.conf"),
    )

    def pong() -> bool:
        proc = redis.exec("redis-cli", "-p", "6390", "--no-auth-warning", "-a", "gst-redis-pw", "PING", check=False)
        return proc.stdout.strip() == "PONG"

    wait_for("redis on port 6390", pong, details=redis.logs, timeout=READY_TIMEOUT)
    refused = redis.exec("redis-cli", "-p", "6390", "PING", check=False)
    assert "NOAUTH" in refused.stdout + refused.stderr


# --- Lab VM ---------------------------------------------------------------------------


def test_labvm_accepts_root_ssh_login_with_the_key_from_the_environment(containers: Containers, tmp_path: Path) -> None:
    for tool in ("ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing on this host: apt-get install openssh-client")
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    vm = containers.start(
        "labvm",
        ports=(22,),
        env={"LABVM_AUTHORIZED_KEY": key.with_suffix(".pub").read_text().strip(), "LABVM_DOCKERD": "0"},
    )
    ssh = [
        "ssh",
        "-i",
        str(key),
        "-p",
        str(vm.ports[22]),
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=5",
        "root@127.0.0.1",
    ]
    result: subprocess.CompletedProcess[str] | None = None

    def logged_in() -> bool:
        nonlocal result
        result = subprocess.run(
            [*ssh, "python3 -c 'import requests, sys; print(sys.version_info[0])'"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        return result.returncode == 0

    wait_for(f"ssh login to {vm.name}", logged_in, details=lambda: f"{result}\n{vm.logs()}", timeout=READY_TIMEOUT)
    assert result is not None and result.stdout.strip() == "3"


def test_labvm_generates_its_own_host_keys_per_container(containers: Containers) -> None:
    first = containers.start("labvm", env={"LABVM_DOCKERD": "0"})
    second = containers.start("labvm", env={"LABVM_DOCKERD": "0"})
    key_path = "/etc/ssh/ssh_host_ed25519_key.pub"
    for vm in (first, second):
        wait_for(f"host key in {vm.name}", lambda vm=vm: vm.exec("test", "-s", key_path, check=False).returncode == 0,
                 timeout=READY_TIMEOUT)
    assert first.exec("cat", key_path).stdout != second.exec("cat", key_path).stdout


LAB_VM_FLAGS = (
    "--cap-add=ALL",
    "--cap-drop=SYS_RESOURCE",
    "--security-opt",
    "seccomp=unconfined",
    "--security-opt",
    "apparmor=unconfined",
    "--security-opt",
    "systempaths=unconfined",
    "--device-cgroup-rule=a *:* rwm",
    "--volume",
    "/sys/fs/cgroup:/sys/fs/cgroup:rw",
)


def cgroup_dirs_named(name: str) -> list[Path]:
    """Cgroup directories called name, down to four levels below a hierarchy root."""
    root = Path("/sys/fs/cgroup")
    patterns = ["/".join(["*"] * depth + [name]) for depth in range(1, 6)]
    return [path for pattern in patterns for path in root.glob(pattern) if path.is_dir()]


def test_labvm_runs_its_own_dockerd_and_removes_its_cgroups_on_stop(containers: Containers) -> None:
    parent = f"{NAME_PREFIX}cg-{secrets.token_hex(4)}"
    vm = containers.start(
        "labvm",
        env={"DOCKERD_CGROUP_PARENT": parent},
        docker_args=(*LAB_VM_FLAGS, "--volume", f"{containers.volume('labvm-docker')}:/var/lib/docker"),
    )
    wait_for(
        f"dockerd in {vm.name}",
        lambda: vm.exec("docker", "info", check=False).returncode == 0,
        details=lambda: vm.exec("tail", "-n", "30", "/var/log/dockerd.log", check=False).stdout,
        timeout=READY_TIMEOUT,
    )
    saved = subprocess.run([DOCKER, "save", image("base-bookworm")], capture_output=True, check=True, timeout=120)
    loaded = subprocess.run(
        [DOCKER, "exec", "-i", vm.name, "docker", "load"],
        input=saved.stdout,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr
    vm.exec("docker", "run", "--detach", "--name", "inner", image("base-bookworm"), "sleep", "300")
    assert cgroup_dirs_named(parent), "inner containers should live under the cgroup parent"
    docker("stop", "--time", "30", vm.name, check=True)
    assert cgroup_dirs_named(parent) == []


# --- no mirror in the layers ----------------------------------------------------------


def mirror_hosts() -> set[str]:
    """Host names of the host's apt mirrors, read at run time (never written in a file)."""
    text = HOST_APT_SOURCES.read_text()
    return set(re.findall(r"^URIs:\s*\S+?://([^/\s]+)", text, flags=re.MULTILINE))


@pytest.mark.parametrize("name", ALL_IMAGES)
def test_image_keeps_no_apt_mirror_in_its_sources_or_history(containers: Containers, name: str) -> None:
    hosts = mirror_hosts()
    assert hosts, f"no URIs in {HOST_APT_SOURCES}"
    listing = containers.run_once(
        name,
        "-c",
        "cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null; ls -A /var/lib/apt/lists",
        entrypoint="/bin/sh",
    )
    assert listing.returncode == 0, listing.stderr
    history = docker("history", "--no-trunc", image(name), check=True).stdout
    for host in hosts:
        assert host not in listing.stdout
        assert host not in history
    assert set(listing.stdout.split()) <= {"lock", "partial"}
