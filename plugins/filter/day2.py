# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The day-2 playbooks' decisions (teardown.yml, backup.yml, restore.yml), from the rows of the table of components.

The rows are those of the lookup data2ai.grafana_stack.components (meta/components.yml). Documentation: the .yml file
of each filter beside this one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean


def _confirmed_names(confirm: Any) -> list[str]:
    """teardown_purge_confirm: one host name, names separated by commas (as given with -e), or a list."""
    if confirm is None:
        return []
    if isinstance(confirm, str):
        return [name.strip() for name in confirm.split(",") if name.strip()]
    if isinstance(confirm, Iterable) and not isinstance(confirm, Mapping):
        return [str(name).strip() for name in confirm]
    return [str(confirm)]


def teardown_unconfirmed(hosts: Iterable[str], hostvars: Mapping[str, Any]) -> list[str]:
    """The hosts whose teardown_purge is true and whose teardown_purge_confirm does not name them."""
    unconfirmed = []
    for host in hosts:
        host_vars = hostvars[host]
        purge = boolean(host_vars.get("teardown_purge", False), strict=False)
        if purge and str(host) not in _confirmed_names(host_vars.get("teardown_purge_confirm", "")):
            unconfirmed.append(str(host))
    return unconfirmed


def _archived_volumes(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [dict(volume) for volume in row.get("volumes") or []] if row.get("backup", "none") != "none" else []


def backup_plan(components: Iterable[Mapping[str, Any]], running: Iterable[str],
                snapshot: bool) -> list[dict[str, Any]]:
    """backup.yml's steps, one per component whose volumes it archives: the one whose database is dumped first,
    then the others in the table's order. A component that serves https (``https``: Grafana with grafana_tls) is
    waited for, after its restart, by its container's own Docker healthcheck, which asks https inside the
    container; the table's HTTP probe asks http and does not know the component's CA."""
    running = {str(name) for name in running}
    rows = [row for row in components if _archived_volumes(row)]
    rows.sort(key=lambda row: row["backup"] != "database")
    steps = []
    for row in rows:
        is_running = row["name"] in running
        health_check = ({"name": row["name"], "container": row["container"]} if row.get("https")
                        else dict(row["health_check"]))
        steps.append({
            "name": row["name"],
            "container": row["container"],
            "volumes": _archived_volumes(row),
            "method": "snapshot" if row["backup"] == "snapshot" and bool(snapshot) and is_running else "stop",
            "dump_database": row["backup"] == "database",
            "running": is_running,
            "health_check": health_check,
        })
    return steps


def backup_volumes(components: Iterable[Mapping[str, Any]], archived: Iterable[str]) -> list[dict[str, str]]:
    """manifest.json's volumes: each archived volume's key, component, name on the host and archive."""
    archived = {str(key) for key in archived}
    return [{"key": volume["key"], "component": row["name"], "volume": volume["name"],
             "archive": f"volumes/{volume['key']}.tar.gz"}
            for row in components for volume in row.get("volumes") or [] if volume["key"] in archived]


def _relative(path: str, root: str) -> str:
    root = str(root).rstrip("/") + "/"
    if not str(path).startswith(root):
        raise AnsibleFilterError(f"backup_files: {path} is not under {root}")
    return str(path)[len(root):]


def backup_files(stat_results: Iterable[Mapping[str, Any]], root: str) -> dict[str, dict[str, Any]]:
    """manifest.json's files: each file's path under the backup, with its sha256 and size (from stat results)."""
    return {_relative(result["stat"]["path"], root):
            {"sha256": result["stat"]["checksum"], "size": result["stat"]["size"]}
            for result in stat_results}


def backup_damaged(stat_results: Iterable[Mapping[str, Any]], files: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The files of a backup that are missing or whose sha256 is not the manifest's (stat results, item: the name)."""
    damaged = []
    for result in stat_results:
        name = result["item"]
        stat = result.get("stat") or {}
        if not stat.get("exists") or stat.get("checksum") != (files.get(name) or {}).get("sha256"):
            damaged.append(name)
    return damaged


def restore_volumes(manifest_volumes: Iterable[Mapping[str, Any]],
                    components: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The volumes a backup fills on this host: key, name on the host, the component's labels, archive."""
    by_key = {volume["key"]: (volume, row) for row in components for volume in row.get("volumes") or []}
    plan = []
    for entry in manifest_volumes:
        if entry["key"] not in by_key:
            raise AnsibleFilterError(f"restore_volumes: the backup holds a volume '{entry['key']}' that no component "
                                     f"of the stack has (known: {', '.join(sorted(by_key))})")
        volume, row = by_key[entry["key"]]
        plan.append({"key": entry["key"], "name": volume["name"], "component": row["name"],
                     "labels": dict(row.get("labels") or {}), "archive": entry["archive"]})
    return plan


def docker_label_args(labels: Mapping[str, Any]) -> list[str]:
    """docker run's --label=key=value arguments for labels."""
    if not isinstance(labels, Mapping):
        raise AnsibleFilterError(f"docker_label_args: labels must be a mapping, got {type(labels).__name__}")
    return [f"--label={key}={value}" for key, value in labels.items()]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "teardown_unconfirmed": teardown_unconfirmed,
            "backup_plan": backup_plan,
            "backup_volumes": backup_volumes,
            "backup_files": backup_files,
            "backup_damaged": backup_damaged,
            "restore_volumes": restore_volumes,
            "docker_label_args": docker_label_args,
        }
