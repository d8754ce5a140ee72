"""The stack_host module (plugins/modules/stack_host.py): the Docker host of the stack in one run, against a fake
engine and a fake system - the engine started when it does not answer, images pulled or named unavailable (and then
nothing else changed), the base directory and the network created once, a network that differs named and left."""

from __future__ import annotations

import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.data2ai.grafana_stack.plugins.module_utils import docker_engine
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.docker_engine import DockerEngineError
from ansible_collections.data2ai.grafana_stack.plugins.modules.stack_host import (
    ARGUMENT_SPEC,
    Host,
    HostError,
    network_differs,
)

NETWORK = {"Name": "monitoring", "Driver": "bridge", "Labels": {"team": "lab"},
           "IPAM": {"Config": [{"Subnet": "172.20.0.0/16", "Gateway": "172.20.0.1"}]}}


class Engine:
    """A Docker engine in memory, with docker_engine's functions."""

    def __init__(self, answers: bool = True, images: tuple[str, ...] = ("grafana:13",),
                 network: dict[str, Any] | None = None, busy: bool = False, listens: bool | None = None) -> None:
        self.answers = answers
        # A busy engine listens on its socket but answers only a request that waits long enough.
        self.busy = busy
        self.listens = answers or busy if listens is None else listens
        self.images = set(images)
        self.networks: dict[str, dict[str, Any]] = {network["Name"]: network} if network else {}
        self.created: list[tuple] = []

    def engine_version(self, timeout: float) -> str:
        if not self.answers or (self.busy and timeout < 60):
            raise DockerEngineError("not reachable")
        return "20.10.24"

    def socket_listens(self) -> bool:
        return self.listens

    def inspect_image(self, name: str, timeout: float) -> dict[str, Any] | None:
        assert timeout >= 60, "a busy engine answers late"
        return {"Id": "sha256:1"} if name in self.images else None

    def inspect_network(self, name: str, timeout: float) -> dict[str, Any] | None:
        assert timeout >= 60
        return self.networks.get(name)

    def create_network(self, name: str, subnet: str, gateway: str, labels: dict[str, str], timeout: float) -> str:
        assert name not in self.networks
        self.created.append((name, subnet, gateway, labels))
        self.networks[name] = {"Name": name, "Driver": "bridge", "Labels": labels,
                               "IPAM": {"Config": [{"Subnet": subnet, "Gateway": gateway}]}}
        return "id"


class System:
    """Runs nothing: records the commands. ``docker pull`` of a name in ``pullable`` succeeds and adds the image;
    starting the engine makes it answer after ``answers_after`` probes."""

    def __init__(self, engine: Engine, dockerd: str | None = "/usr/sbin/dockerd", pullable: tuple[str, ...] = (),
                 answers_after: int = 1) -> None:
        self.engine, self.dockerd, self.pullable, self.answers_after = engine, dockerd, pullable, answers_after
        self.commands: list[str] = []

    def run(self, command: str) -> tuple[int, str, str]:
        self.commands.append(command)
        if command.startswith("docker pull"):
            name = command.rsplit(" ", 1)[1]
            if name in self.pullable:
                self.engine.images.add(name)
                return 0, "", ""
            return 1, "", "Error response from daemon: no such host"
        return 0, "", ""

    def find(self, program: str) -> str | None:
        return self.dockerd if program == "dockerd" else None


class Clock:
    """A clock that moves one second per sleep; the fake engine answers once started and slept on enough."""

    def __init__(self, engine: Engine, system: System) -> None:
        self.engine, self.system, self.time = engine, system, 0.0

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.time += seconds
        started = any("dockerd" in command or "systemctl" in command for command in self.system.commands)
        if started and self.time >= self.system.answers_after:
            self.engine.answers = True


def params(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    base = {key: spec.get("default") for key, spec in ARGUMENT_SPEC.items()}
    base.update(network="monitoring", subnet="172.20.0.0/16", labels={"team": "lab"},
                base_dir=str(tmp_path / "stack"), required_images=["grafana:13"])
    base.update(overrides)
    return base


def converge(tmp_path: Path, engine: Engine, check: bool = False, system: System | None = None, **overrides: Any):
    system = system or System(engine)
    clock = Clock(engine, system)
    return Host(params(tmp_path, **overrides), check, system, engine, (clock.now, clock.sleep)).run()


def test_a_new_host_gets_its_directory_and_network_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    engine = Engine()
    result, diffs = converge(tmp_path, engine)
    assert result["changed"] and result["settled"] and result["engine"] == "running"
    assert engine.created == [("monitoring", "172.20.0.0/16", "172.20.0.1", {"team": "lab"})]
    assert stat.S_IMODE((tmp_path / "stack").stat().st_mode) == 0o755
    assert [diff["before_header"] for diff in diffs] == [str(tmp_path / "stack"), "network monitoring"]
    result, diffs = converge(tmp_path, engine)
    assert not result["changed"] and result["settled"] and diffs == [] and len(engine.created) == 1


def test_check_mode_on_a_new_host_changes_nothing_and_says_the_network_is_pending(tmp_path: Path) -> None:
    engine = Engine()
    result, diffs = converge(tmp_path, engine, check=True)
    assert result["changed"] and result["network_pending"] and not result["settled"]
    assert engine.created == [] and not (tmp_path / "stack").exists()
    assert diffs[-1] == {"before_header": "network monitoring", "after_header": "network monitoring",
                         "before": "absent\n", "after": "bridge subnet=172.20.0.0/16 gateway=172.20.0.1\n"}


def test_a_missing_image_is_pulled_and_one_that_cannot_be_had_stops_before_any_change(tmp_path: Path) -> None:
    engine = Engine()
    system = System(engine, pullable=("loki:3",))
    result = converge(tmp_path, engine, system=system, required_images=["grafana:13", "loki:3", "tempo:3"])[0]
    assert result["images_missing"] == ["loki:3", "tempo:3"] and result["images_pulled"] == ["loki:3"]
    assert result["images_unavailable"] == ["tempo:3"] and not result["settled"]
    assert engine.created == [] and not (tmp_path / "stack").exists(), "nothing may change"
    assert system.commands == ["docker pull --quiet loki:3", "docker pull --quiet tempo:3"]


def test_bundled_images_count_as_there_and_no_pull_means_unavailable(tmp_path: Path) -> None:
    engine = Engine()
    result = converge(tmp_path, engine, required_images=["grafana:13", "loki:3"], bundled_images=["loki:3"])[0]
    assert result["settled"] and result["images_missing"] == ["loki:3"] and result["images_unavailable"] == []
    system = System(Engine())
    result = converge(tmp_path, system.engine, system=system, required_images=["tempo:3"], pull_missing=False)[0]
    assert result["images_unavailable"] == ["tempo:3"] and system.commands == []


def test_check_mode_pulls_nothing_and_reports_the_pull(tmp_path: Path) -> None:
    engine = Engine()
    system = System(engine, pullable=("loki:3",))
    result, diffs = converge(tmp_path, engine, check=True, system=system, required_images=["loki:3"])
    assert result["changed"] and system.commands == [] and "loki:3" not in engine.images
    assert diffs[0]["after"] == "loki:3: pulled\n"


@pytest.mark.parametrize(("service_manager", "started"), [
    ("systemd", "systemctl start docker"),
    ("sysvinit", "setsid -f /usr/sbin/dockerd --log-level warn >> '/var/log/my dockerd.log' 2>&1 < /dev/null"),
])
def test_an_engine_that_does_not_answer_is_started_and_waited_for(tmp_path: Path, service_manager: str,
                                                                  started: str) -> None:
    engine = Engine(answers=False)
    system = System(engine, answers_after=3)
    result = converge(tmp_path, engine, system=system, service_manager=service_manager,
                      dockerd_args=["--log-level", "warn"], dockerd_log="/var/log/my dockerd.log")[0]
    assert system.commands == [started]
    assert result["engine"] == "started" and result["settled"] and result["changed"]


def test_an_engine_that_never_answers_fails_in_one_line_naming_its_log(tmp_path: Path) -> None:
    engine = Engine(answers=False)
    with pytest.raises(HostError, match=r"did not answer within 4 s of starting it \(see /var/log/dockerd.log\)"):
        converge(tmp_path, engine, system=System(engine, answers_after=100), start_timeout=4)


def test_a_busy_engine_that_answers_late_is_waited_for_and_no_second_dockerd_is_started(tmp_path: Path) -> None:
    engine = Engine(busy=True)
    system = System(engine)
    result = converge(tmp_path, engine, system=system)[0]
    assert system.commands == [] and result["engine"] == "running" and result["engine_version"] == "20.10.24"
    result = converge(tmp_path, engine, system=system)[0]
    assert not result["changed"] and result["settled"]


def test_an_engine_that_listens_but_never_answers_fails_in_one_line_and_starts_nothing(tmp_path: Path) -> None:
    engine = Engine(answers=False, listens=True)
    system = System(engine)
    with pytest.raises(HostError, match=r"^the Docker engine listens on its socket but does not answer: "):
        converge(tmp_path, engine, system=system)
    assert system.commands == []


def test_socket_listens_tells_a_listening_socket_from_a_missing_or_stale_one(tmp_path: Path) -> None:
    path = str(tmp_path / "docker.sock")
    assert not docker_engine.socket_listens(path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)
        assert docker_engine.socket_listens(path)
    # The file a killed dockerd leaves behind refuses connections.
    assert Path(path).exists() and not docker_engine.socket_listens(path)


def test_no_dockerd_stops_the_run_for_the_role_to_install_one_and_check_mode_starts_nothing(tmp_path: Path) -> None:
    engine = Engine(answers=False)
    result = converge(tmp_path, engine, system=System(engine, dockerd=None))[0]
    assert result["engine"] == "not installed" and not result["changed"] and not result["settled"]
    system = System(engine)
    result = converge(tmp_path, engine, check=True, system=system)[0]
    assert result["engine"] == "stopped" and result["network_pending"] and result["changed"]
    assert system.commands == [] and not engine.answers


@pytest.mark.parametrize(("change", "why"), [
    ({"Driver": "overlay"}, "its driver is overlay, not bridge"),
    ({"IPAM": {"Config": [{"Subnet": "10.9.0.0/16", "Gateway": "10.9.0.1"}]}},
     "its subnet is 10.9.0.0/16 (gateway 10.9.0.1), not 172.20.0.0/16 (gateway 172.20.0.1)"),
    ({"Labels": {}}, "its label team differs"),
])
def test_a_network_that_differs_is_named_and_left_as_it_is(tmp_path: Path, change: dict, why: str) -> None:
    engine = Engine(network={**NETWORK, **change})
    result = converge(tmp_path, engine)[0]
    assert result["network_differs"] == why and engine.created == []
    assert network_differs(NETWORK, "172.20.0.0/16", "172.20.0.1", {"team": "lab"}) is None


@pytest.mark.parametrize("subnet", ["172.31.0.0", "172.31.0.0/33", "300.1.0.0/16", "x/8", "10.0.0.0/31"])
def test_a_subnet_that_is_no_usable_cidr_is_refused_before_anything(tmp_path: Path, subnet: str) -> None:
    engine = Engine(answers=False)
    with pytest.raises(HostError, match="docker_host_subnet \\(stack_subnet\\) must be an IPv4 CIDR"):
        converge(tmp_path, engine, subnet=subnet)


def test_a_file_where_the_base_directory_goes_is_refused(tmp_path: Path) -> None:
    (tmp_path / "stack").write_text("")
    with pytest.raises(HostError, match="exists and is not a directory"):
        converge(tmp_path, Engine())
