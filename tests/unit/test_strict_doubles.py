"""The TEST DOUBLES refuse what their upstream version refuses, and accept what our roles render.

Tempo, Loki and Promtail refuse an unknown config key at start (yaml.v2 UnmarshalStrict); Loki and cAdvisor
refuse an unknown flag (Go's flag package, exit 2), influxd too (cobra, exit 1). influxd ignores unknown keys in
its config file (viper), and so does its double. The roles' templates are rendered with their defaults by
ansible-playbook (no Docker) and loaded into the doubles in their check modes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from role_rendering import ROLES_DIR, render_role_template

DOUBLES_DIR = Path(__file__).resolve().parents[2] / "tests" / "doubles"
sys.path.insert(0, str(DOUBLES_DIR))

from common.strict import load_upstream, unknown_flags, unknown_keys  # noqa: E402


def run_double(package: str, args: list[str], cwd: Path, env: dict[str, str] | None = None,
               timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """``python -m <package> <args>`` to its exit (check modes and refusals exit at once); stderr (the log)
    is merged into stdout."""
    full_env = {**os.environ, "PYTHONPATH": str(DOUBLES_DIR), "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", package, *args], cwd=cwd, env=full_env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def tempo_minimal(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {"server": {"http_listen_port": 3200},
            "storage": {"trace": {"backend": "local", "local": {"path": str(tmp_path / "blocks")},
                                  "wal": {"path": str(tmp_path / "wal")}}}, **extra}


# --- unknown keys and flags are refused ------------------------------------------------------


def test_tempo_3_double_refuses_the_2_10_compactor_block(tmp_path: Path):
    config = write_yaml(tmp_path / "t.yaml", tempo_minimal(tmp_path, compactor={"compaction": {
        "block_retention": "720h"}}))
    result = run_double("tempo", [f"-config.file={config}", "-config.verify"], tmp_path)
    assert result.returncode == 1
    assert "field compactor not found in the top level" in result.stdout
    assert "Tempo 3.0.3 refuses unknown keys" in result.stdout


def test_tempo_3_double_refuses_local_blocks_traces_storage(tmp_path: Path):
    config = write_yaml(tmp_path / "t.yaml", tempo_minimal(tmp_path, metrics_generator={
        "traces_storage": {"path": "/var/tempo/generator/traces"}}))
    result = run_double("tempo", [f"-config.file={config}", "-config.verify"], tmp_path)
    assert result.returncode == 1
    assert "field traces_storage not found in metrics_generator" in result.stdout


def test_tempo_2_10_double_refuses_an_unknown_nested_key(tmp_path: Path):
    config = write_yaml(tmp_path / "t.yaml", tempo_minimal(tmp_path, metrics_generator={
        "traces_storage": {"path": "/x"}, "processor": {"local_blocks": {"no_such_option": 1}}}))
    result = run_double("tempo", [f"-config.file={config}", "-config.verify"], tmp_path,
                        {"DOUBLE_TEMPO_VERSION": "2.10.8"})
    assert result.returncode == 1
    assert "field no_such_option not found in metrics_generator.processor.local_blocks" in result.stdout
    assert "Tempo 2.10.8" in result.stdout


def test_tempo_double_refuses_a_version_it_has_no_key_list_for(tmp_path: Path):
    config = write_yaml(tmp_path / "t.yaml", tempo_minimal(tmp_path))
    result = run_double("tempo", [f"-config.file={config}", "-config.verify"], tmp_path,
                        {"DOUBLE_TEMPO_VERSION": "1.5.0"})
    assert result.returncode == 1
    assert "no key list for version '1.5.0'" in result.stdout


def loki_minimal(tmp_path: Path) -> dict[str, Any]:
    return {"auth_enabled": False, "common": {"path_prefix": str(tmp_path / "loki")},
            "schema_config": {"configs": [{"from": "2024-01-01", "store": "tsdb", "object_store": "filesystem",
                                           "schema": "v13", "index": {"prefix": "index_", "period": "24h"}}]}}


def test_loki_double_refuses_an_unknown_key_with_its_line(tmp_path: Path):
    data = loki_minimal(tmp_path)
    data["limits_config"] = {"retention_period": "744h", "retension_period": "744h"}
    config = write_yaml(tmp_path / "l.yaml", data)
    result = run_double("loki", [f"-config.file={config}", "-verify-config"], tmp_path)
    assert result.returncode == 1
    assert "field retension_period not found in limits_config" in result.stdout
    assert "line " in result.stdout and "Loki 3.7.6 refuses unknown keys" in result.stdout


def test_loki_double_refuses_an_unknown_flag(tmp_path: Path):
    config = write_yaml(tmp_path / "l.yaml", loki_minimal(tmp_path))
    result = run_double("loki", [f"-config.file={config}", "-verify-config", "-no.such-flag=1"], tmp_path)
    assert result.returncode == 2
    assert "flag provided but not defined: -no.such-flag" in result.stdout


def test_promtail_double_refuses_an_unknown_client_key(tmp_path: Path):
    config = write_yaml(tmp_path / "p.yml", {
        "server": {"http_listen_port": 9080},
        "positions": {"filename": str(tmp_path / "positions.yaml")},
        "clients": [{"url": "http://loki:3100/loki/api/v1/push", "tenant": "x"}],
        "scrape_configs": [{"job_name": "varlogs", "static_configs": [{"targets": ["localhost"],
                                                                       "labels": {"__path__": "/var/log/*log"}}]}],
    })
    result = run_double("promtail", [f"-config.file={config}", "-check-syntax"], tmp_path)
    assert result.returncode == 1
    assert "field tenant not found in clients" in result.stdout
    assert "Promtail 3.6.11 refuses unknown keys" in result.stdout


def test_cadvisor_double_refuses_an_unknown_flag(tmp_path: Path):
    result = run_double("cadvisor", ["-logtostderr", "--docker_only=true", "--no_such_flag=1"], tmp_path)
    assert result.returncode == 2
    assert "flag provided but not defined: -no_such_flag" in result.stdout


def test_influxd_double_refuses_an_unknown_flag(tmp_path: Path):
    result = run_double("influxdb", ["--http-bind-address=127.0.0.1:0", "--no-such-flag=1"], tmp_path,
                        {"INFLUXD_CONFIG_PATH": str(tmp_path)})
    assert result.returncode == 1
    assert "Error: unknown flag: --no-such-flag" in result.stdout


def test_influxd_double_ignores_unknown_config_file_keys_like_influxd(tmp_path: Path):
    """influxd reads its config file through viper and looks up only its options' keys (v2.9.1
    kit/cli/viper.go), so an unknown key is ignored; the double does the same."""
    write_yaml(tmp_path / "config.yml", {"http-bind-address": "127.0.0.1:1", "no-such-key": True})
    proc = subprocess.Popen([sys.executable, "-m", "influxdb", "--http-bind-address=127.0.0.1:0",
                             f"--bolt-path={tmp_path / 'influxd.bolt'}", f"--engine-path={tmp_path / 'engine'}"],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(DOUBLES_DIR),
                                               "INFLUXD_CONFIG_PATH": str(tmp_path)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(3)  # still running: the unknown key did not stop it
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert "Listening" in output, output


# --- what our roles render is accepted ----------------------------------------------------------


@pytest.mark.parametrize(("image", "version"), [("grafana/tempo:3.0.3", "3.0.3"), ("grafana/tempo:2.10.8", "2.10.8")])
def test_rendered_tempo_config_is_accepted_by_the_matching_version(tmp_path: Path, image: str, version: str):
    text = render_role_template("tempo", "tempo.yaml.j2", tmp_path, {"tempo_image": image})
    assert unknown_keys(text, load_upstream(DOUBLES_DIR / "tempo", version).keys) == []
    result = run_double("tempo", [f"-config.file={tmp_path / 'tempo.yaml'}", "-config.verify"], tmp_path,
                        {"DOUBLE_TEMPO_VERSION": version})
    assert result.returncode == 0, result.stdout


def test_rendered_2_10_tempo_config_is_refused_by_tempo_3(tmp_path: Path):
    """The formats are not interchangeable, which is why the role picks one. (The reverse is not refused by key:
    2.10 already had a backend_worker block, for its microservices mode.)"""
    text = render_role_template("tempo", "tempo.yaml.j2", tmp_path, {"tempo_image": "grafana/tempo:2.10.8"})
    refused = {(u.parent, u.key) for u in unknown_keys(text, load_upstream(DOUBLES_DIR / "tempo", "3.0.3").keys)}
    assert refused == {("", "compactor"), ("metrics_generator", "traces_storage")}


def test_rendered_loki_config_is_accepted(tmp_path: Path):
    text = render_role_template("loki", "config.yaml.j2", tmp_path)
    assert unknown_keys(text, load_upstream(DOUBLES_DIR / "loki", "3.7.6").keys) == []
    result = run_double("loki", [f"-config.file={tmp_path / 'config.yaml'}", "-verify-config"], tmp_path)
    assert result.returncode == 0, result.stdout


def test_rendered_promtail_config_is_accepted(tmp_path: Path):
    text = render_role_template("promtail", "config.yml.j2", tmp_path)
    assert unknown_keys(text, load_upstream(DOUBLES_DIR / "promtail", "3.6.11").keys) == []
    result = run_double("promtail", [f"-config.file={tmp_path / 'config.yml'}", "-check-syntax"], tmp_path)
    assert result.returncode == 0, result.stdout


def test_cadvisor_role_flags_are_defined_by_cadvisor():
    defaults = yaml.safe_load((ROLES_DIR / "cadvisor" / "defaults" / "main.yml").read_text(encoding="utf-8"))
    flags = ["docker_only", "housekeeping_interval",
             *(arg.lstrip("-").split("=", 1)[0] for arg in defaults["cadvisor_extra_args"])]
    assert unknown_flags(flags, load_upstream(DOUBLES_DIR / "cadvisor", "0.60.5")) == []
