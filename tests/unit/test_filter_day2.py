"""The day-2 filters (plugins/filter/day2.py): teardown's purge confirmation, backup's plan and manifest, restore's
volumes and damaged files, from rows shaped as the lookup data2ai.grafana_stack.components returns them."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.data2ai.grafana_stack.plugins.filter import day2


def _row(name: str, backup: str, volumes: list[str], **extra: Any) -> dict[str, Any]:
    return {"name": name, "container": f"lab-{name}", "backup": backup, "labels": {"stack": "lab"},
            "volumes": [{"key": key, "name": f"lab-{key}"} for key in volumes],
            "health_check": {"name": name, "container": f"lab-{name}"}, **extra}


ROWS = [
    _row("postgresql", "none", ["postgres_data"]),
    _row("influxdb", "archive", ["influxdb_data", "influxdb_config"]),
    _row("prometheus", "snapshot", ["prometheus_data"]),
    _row("node_exporter", "none", []),
    _row("grafana", "database", ["grafana_data"]),
]


def test_backup_plan_dumps_the_database_first_then_follows_the_table_and_skips_what_is_not_archived() -> None:
    plan = day2.backup_plan(ROWS, ["grafana", "influxdb", "prometheus", "postgresql"], True)
    assert [step["name"] for step in plan] == ["grafana", "influxdb", "prometheus"]
    grafana, influxdb, prometheus = plan
    assert grafana["dump_database"] and grafana["method"] == "stop" and grafana["running"]
    assert influxdb["volumes"] == [{"key": "influxdb_data", "name": "lab-influxdb_data"},
                                   {"key": "influxdb_config", "name": "lab-influxdb_config"}]
    assert prometheus["method"] == "snapshot" and not prometheus["dump_database"]
    assert grafana["health_check"] == {"name": "grafana", "container": "lab-grafana"}


def test_backup_plan_waits_for_a_component_that_serves_https_by_its_own_docker_healthcheck() -> None:
    probe = {"name": "grafana", "container": "lab-grafana", "port": 3000, "path": "/api/health"}
    rows = [_row("grafana", "database", ["grafana_data"], health_check=probe, https=True),
            _row("loki", "archive", ["loki_data"], health_check={"name": "loki", "container": "lab-loki", "port": 3100},
                 https=False)]
    grafana, loki = day2.backup_plan(rows, ["grafana", "loki"], False)
    # Grafana's Docker healthcheck asks https with grafana_tls; the table's probe asks http.
    assert grafana["health_check"] == {"name": "grafana", "container": "lab-grafana"}
    assert loki["health_check"] == {"name": "loki", "container": "lab-loki", "port": 3100}
    rows[0]["https"] = False
    assert day2.backup_plan(rows, ["grafana"], False)[0]["health_check"] == probe


def test_backup_plan_stops_prometheus_without_the_admin_api_or_when_it_does_not_run() -> None:
    assert day2.backup_plan(ROWS, ["prometheus"], False)[2]["method"] == "stop"
    stopped = day2.backup_plan(ROWS, [], True)
    assert stopped[2]["method"] == "stop" and not any(step["running"] for step in stopped)


def test_backup_volumes_lists_only_the_archived_ones_with_their_archive() -> None:
    assert day2.backup_volumes(ROWS, ["grafana_data", "influxdb_config"]) == [
        {"key": "influxdb_config", "component": "influxdb", "volume": "lab-influxdb_config",
         "archive": "volumes/influxdb_config.tar.gz"},
        {"key": "grafana_data", "component": "grafana", "volume": "lab-grafana_data",
         "archive": "volumes/grafana_data.tar.gz"}]


def _stat(path: str, checksum: str = "abc", size: int = 3, exists: bool = True, item: str = "") -> dict[str, Any]:
    stat = {"exists": exists, "path": path, "checksum": checksum, "size": size} if exists else {"exists": False}
    return {"item": item or path, "stat": stat}


def test_backup_files_names_each_file_under_the_backup() -> None:
    results = [_stat("/b/h/t/grafana.pgdump", "11", 5), _stat("/b/h/t/volumes/loki_data.tar.gz", "22", 7)]
    assert day2.backup_files(results, "/b/h/t/") == {"grafana.pgdump": {"sha256": "11", "size": 5},
                                                     "volumes/loki_data.tar.gz": {"sha256": "22", "size": 7}}
    with pytest.raises(AnsibleFilterError, match="not under"):
        day2.backup_files([_stat("/elsewhere/x")], "/b/h/t")


def test_backup_damaged_names_a_missing_file_and_a_changed_one() -> None:
    files = {"a": {"sha256": "1"}, "b": {"sha256": "2"}, "c": {"sha256": "3"}}
    results = [_stat("/r/a", "1", item="a"), _stat("/r/b", "X", item="b"), _stat("/r/c", exists=False, item="c")]
    assert day2.backup_damaged(results, files) == ["b", "c"]
    assert day2.backup_damaged(results[:1], files) == []


def test_restore_volumes_uses_this_host_names_and_labels_and_refuses_an_unknown_key() -> None:
    manifest = [{"key": "grafana_data", "component": "grafana", "volume": "old-grafana_data",
                 "archive": "volumes/grafana_data.tar.gz"}]
    assert day2.restore_volumes(manifest, ROWS) == [
        {"key": "grafana_data", "name": "lab-grafana_data", "component": "grafana", "labels": {"stack": "lab"},
         "archive": "volumes/grafana_data.tar.gz"}]
    with pytest.raises(AnsibleFilterError, match="'mimir_data' that no component"):
        day2.restore_volumes([{"key": "mimir_data", "archive": "volumes/mimir_data.tar.gz"}], ROWS)


def test_teardown_unconfirmed_needs_every_purged_host_named() -> None:
    hostvars = {
        "lab01": {"teardown_purge": True, "teardown_purge_confirm": "lab01, lab02"},
        "lab02": {"teardown_purge": "yes", "teardown_purge_confirm": ["lab01"]},
        "lab03": {"teardown_purge": False},
        "lab04": {"teardown_purge": "true"},
        "lab05": {"teardown_purge": True, "teardown_purge_confirm": ["lab05"]},
    }
    assert day2.teardown_unconfirmed(list(hostvars), hostvars) == ["lab02", "lab04"]
    assert day2.teardown_unconfirmed(["lab03"], hostvars) == []


def test_docker_label_args() -> None:
    assert day2.docker_label_args({"a.b": "1", "c": "x=y"}) == ["--label=a.b=1", "--label=c=x=y"]
    assert day2.docker_label_args({}) == []
    with pytest.raises(AnsibleFilterError):
        day2.docker_label_args(["a=1"])
