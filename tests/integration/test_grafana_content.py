"""The grafana role's content (tasks/content.yml) provisioned against the Grafana TEST DOUBLE.

The double runs as a plain process on a free 127.0.0.1 port and checks every request and response against
Grafana's OpenAPI spec. The role's content step runs twice through ansible-playbook (include_role with
tasks_from: content.yml): the first run creates the datasources, folders and dashboards, the second must change
nothing, and a third in check mode (with --diff) must report nothing to change. The content is one module task
(grafana_content), and what it created is listed in the first run's output. Everything lives in pytest's temporary
directory; no container is involved.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from stack_testlib import ROOT, recap_changed, run_playbook

sys.path.insert(0, str(Path(__file__).resolve().parent / "grafana"))
from grafana_harness import ADMIN, GrafanaDouble, running_grafana_doubles

ROLE_DIR = ROOT / "roles" / "grafana"
EXTRA_DASHBOARD_UID = "gsttest-cd-extra"
READ_TOKEN = "gsttest-cd-influxdb-read-token-5c1e"

# --------------------------------------------------------------------------- the Grafana TEST DOUBLE


@pytest.fixture(scope="module")
def grafana_double(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GrafanaDouble]:
    with running_grafana_doubles(tmp_path_factory.mktemp("grafana-double")) as (double,):
        yield double


# --------------------------------------------------------------------------- the role's content step, twice
@dataclass
class ContentRuns:
    first: subprocess.CompletedProcess
    second: subprocess.CompletedProcess
    check: subprocess.CompletedProcess
    credentials_dir: Path


def _write_extra_dashboard(path: Path) -> None:
    """An instructor's own dashboard, pushed through grafana_dashboards_extra from an absolute path."""
    path.write_text(json.dumps({
        "uid": EXTRA_DASHBOARD_UID, "title": "Instructor's own", "schemaVersion": 41,
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus",
                                 "current": {"text": "Prometheus", "value": "prometheus"}}]},
        "panels": [{"id": 1, "type": "timeseries", "title": "up", "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "targets": [{"refId": "A", "expr": "up"}]}],
    }))


def _write_playbook(workdir: Path, double: GrafanaDouble) -> tuple[Path, Path, Path]:
    credentials_dir = workdir / "credentials"
    extra = workdir / "instructor-dashboard.json"
    _write_extra_dashboard(extra)
    playbook = workdir / "content.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Grafana content against the Grafana TEST DOUBLE",
        "hosts": "all",
        "connection": "local",
        "gather_facts": False,
        "vars": {
            "ansible_python_interpreter": sys.executable,
            "stack_credentials_dir": str(credentials_dir),
            "grafana_admin_password": ADMIN[1],
            # What the influxdb role sets in a site.yml run (the token that can only read the training bucket).
            "influxdb_read_token": READ_TOKEN,
            "grafana_dashboards_extra": [{"file": str(extra), "folder_uid": "training"}],
        },
        "tasks": [{
            "name": "Provision the grafana role's content",
            "ansible.builtin.include_role": {"name": "data2ai.grafana_stack.grafana", "tasks_from": "content.yml"},
            # grafana_api_url is a role var (vars/main.yml); task vars of the include take precedence over it.
            "vars": {"grafana_api_url": double.url},
        }],
    }], sort_keys=False))
    inventory = workdir / "hosts.ini"
    inventory.write_text("localhost\n")
    return playbook, inventory, credentials_dir


@pytest.fixture(scope="module")
def content_runs(grafana_double: GrafanaDouble, tmp_path_factory: pytest.TempPathFactory) -> ContentRuns:
    workdir = tmp_path_factory.mktemp("grafana-content")
    playbook, inventory, credentials_dir = _write_playbook(workdir, grafana_double)
    env = {"http_proxy": "", "https_proxy": "", "HTTP_PROXY": "", "HTTPS_PROXY": "", "all_proxy": "",
           "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost",
           "ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(workdir / "ansible-tmp")}
    # --diff: the diff of the first run must not show the InfluxDB token either.
    first = run_playbook(playbook, inventory, "--diff", env=env)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
    second = run_playbook(playbook, inventory, env=env)
    assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-3000:]
    check = run_playbook(playbook, inventory, "--check", "--diff", env=env)
    assert check.returncode == 0, check.stdout[-6000:] + check.stderr[-3000:]
    return ContentRuns(first, second, check, credentials_dir)


def _role_defaults() -> dict[str, Any]:
    return yaml.safe_load((ROLE_DIR / "defaults" / "main.yml").read_text())


def _dashboard_uids() -> dict[str, str]:
    """Dashboard uid -> folder uid, as the role's defaults list them."""
    result = {}
    for entry in _role_defaults()["grafana_dashboards"]:
        model = json.loads((ROLE_DIR / "files" / entry["file"]).read_text())
        result[model["uid"]] = entry["folder_uid"]
    return result


# --------------------------------------------------------------------------- what the double holds afterwards
def test_first_run_changes_and_second_run_changes_nothing(content_runs: ContentRuns) -> None:
    assert recap_changed(content_runs.first.stdout) > 0
    assert recap_changed(content_runs.second.stdout) == 0, content_runs.second.stdout[-6000:]


def test_a_check_mode_run_after_them_has_nothing_to_change(content_runs: ContentRuns) -> None:
    assert recap_changed(content_runs.check.stdout) == 0, content_runs.check.stdout[-6000:]


def test_the_content_is_one_module_task_whose_first_run_lists_what_it_created(content_runs: ContentRuns) -> None:
    first = content_runs.first.stdout
    assert first.count("TASK [data2ai.grafana_stack.grafana : Provision the datasources, folders and dashboards") == 1
    assert "(item=" not in first  # no loop: one module run for every object
    for line in ("datasource 'prometheus' created", "datasource 'influxdb' created", "folder 'training' created",
                 f"dashboard '{EXTRA_DASHBOARD_UID}' created"):
        assert line in first, first[-6000:]
    assert "datasource 'prometheus'" not in content_runs.second.stdout


def test_every_datasource_exists_with_its_fixed_uid(content_runs: ContentRuns,
                                                    grafana_double: GrafanaDouble) -> None:
    stored = {ds["uid"]: ds for ds in grafana_double.get("/api/datasources")}
    assert {uid: ds["type"] for uid, ds in stored.items()} == {
        "prometheus": "prometheus", "loki": "loki", "tempo": "tempo", "influxdb": "influxdb",
        "alertmanager": "alertmanager"}
    assert {uid: ds["url"] for uid, ds in stored.items()} == {
        "prometheus": "http://prometheus:9090", "loki": "http://loki:3100", "tempo": "http://tempo:3200",
        "influxdb": "http://influxdb:8086", "alertmanager": "http://alertmanager:9093"}
    assert stored["prometheus"]["isDefault"] is True


def test_datasources_are_cross_linked(content_runs: ContentRuns, grafana_double: GrafanaDouble) -> None:
    prometheus = grafana_double.get("/api/datasources/uid/prometheus")["jsonData"]
    loki = grafana_double.get("/api/datasources/uid/loki")["jsonData"]
    tempo = grafana_double.get("/api/datasources/uid/tempo")["jsonData"]
    alertmanager = grafana_double.get("/api/datasources/uid/alertmanager")["jsonData"]

    assert [d["datasourceUid"] for d in prometheus["exemplarTraceIdDestinations"]] == ["tempo"]
    assert prometheus["alertmanagerUid"] == "alertmanager"
    assert {d["datasourceUid"] for d in loki["derivedFields"]} == {"tempo"}
    assert {d["matcherRegex"] for d in loki["derivedFields"]} == {r"traceID=(\w+)", r'"trace_id":"(\w+)"'}
    assert all(d["url"] == "${__value.raw}" for d in loki["derivedFields"])
    assert tempo["tracesToLogsV2"]["datasourceUid"] == "loki"
    assert tempo["tracesToMetrics"]["datasourceUid"] == "prometheus"
    assert tempo["serviceMap"]["datasourceUid"] == "prometheus"
    assert tempo["lokiSearch"]["datasourceUid"] == "loki"
    assert tempo["nodeGraph"]["enabled"] is True
    assert alertmanager["implementation"] == "prometheus"


def test_influxdb_datasource_uses_flux_and_the_influxdb_read_token(content_runs: ContentRuns,
                                                                   grafana_double: GrafanaDouble) -> None:
    influxdb = grafana_double.get("/api/datasources/uid/influxdb")
    assert influxdb["jsonData"] == {"version": "Flux", "organization": "data2ai", "defaultBucket": "training"}
    assert influxdb["secureJsonFields"] == {"token": True}
    # The token is the influxdb role's read-only one; nothing reads or generates InfluxDB's operator token.
    assert not (content_runs.credentials_dir / "localhost" / "influxdb_admin_token").exists()


def test_the_token_is_never_printed(content_runs: ContentRuns) -> None:
    for run in (content_runs.first, content_runs.second, content_runs.check):
        assert READ_TOKEN not in run.stdout + run.stderr


def test_folders_exist_with_their_fixed_uids(content_runs: ContentRuns, grafana_double: GrafanaDouble) -> None:
    for folder in _role_defaults()["grafana_folders"]:
        assert grafana_double.get(f"/api/folders/{folder['uid']}")["title"] == folder["title"]


def test_every_dashboard_loads_from_its_folder(content_runs: ContentRuns, grafana_double: GrafanaDouble) -> None:
    expected = {**_dashboard_uids(), EXTRA_DASHBOARD_UID: "training"}
    for uid, folder_uid in expected.items():
        loaded = grafana_double.get(f"/api/dashboards/uid/{uid}")
        assert loaded["dashboard"]["uid"] == uid
        assert loaded["meta"]["folderUid"] == folder_uid
    role_files = {path.name: json.loads(path.read_text()) for path in (ROLE_DIR / "files" / "dashboards").glob("*")}
    for name, model in role_files.items():
        stored = grafana_double.get(f"/api/dashboards/uid/{model['uid']}")["dashboard"]
        assert stored["panels"] == model["panels"], name
        assert stored["templating"] == model["templating"], name


def test_the_double_recorded_no_spec_violation(content_runs: ContentRuns,
                                               grafana_double: GrafanaDouble) -> None:
    assert grafana_double.violations() == []
