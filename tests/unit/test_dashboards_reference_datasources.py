"""The grafana role's dashboards only point at datasources the role provisions.

Every datasource reference of every dashboard JSON under roles/grafana/files/dashboards/ (panels, the panels nested
in rows, targets, template variables and annotations) must name the uid of a datasource from the role's defaults,
directly or through a ``${var}`` whose datasource variable defaults to such a uid. Grafana silently falls back to
the default datasource when a uid is unknown, so a typo would only show up as an empty panel in class.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

ROLE_DIR = Path(__file__).resolve().parents[2] / "roles" / "grafana"
DASHBOARD_DIR = ROLE_DIR / "files" / "dashboards"
DASHBOARD_FILES = sorted(DASHBOARD_DIR.glob("*.json"))

# Grafana's own pseudo datasources: annotations and alerts, mixed panels, another panel's results.
BUILTIN_UIDS = frozenset({"-- Grafana --", "grafana", "-- Mixed --", "-- Dashboard --"})
# ${name}, ${name:format}, $name and the deprecated [[name]]
VARIABLE_REF = re.compile(r"^(?:\$\{(?P<braced>\w+)(?::\w+)?\}|\$(?P<plain>\w+)|\[\[(?P<legacy>\w+)\]\])$")
UID_SHAPE = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")


# --------------------------------------------------------------------------- the role's provisioned datasources
def _role_defaults() -> dict[str, Any]:
    return yaml.safe_load((ROLE_DIR / "defaults" / "main.yml").read_text())


def _render(value: str, context: dict[str, Any]) -> str:
    """Renders a default that only refers to other defaults (such as a uid from grafana_datasource_uids)."""
    return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(value).render(context)


def provisioned_datasources(defaults: dict[str, Any] | None = None) -> dict[str, str]:
    """uid -> plugin type of every datasource grafana_datasources provisions, with the uids rendered."""
    defaults = defaults if defaults is not None else _role_defaults()
    context = {"grafana_datasource_uids": defaults["grafana_datasource_uids"]}
    return {_render(ds["uid"], context): ds["type"] for ds in defaults["grafana_datasources"]}


def _cross_links(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, uid) for every datasource uid a datasource's jsonData links to (keys ending in Uid)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("Uid") and isinstance(item, str):
                yield f"{path}.{key}", item
            else:
                yield from _cross_links(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _cross_links(item, f"{path}[{index}]")


# --------------------------------------------------------------------------- the checker
def _variable_name(uid: str) -> str | None:
    match = VARIABLE_REF.match(uid)
    if not match:
        return None
    return match.group("braced") or match.group("plain") or match.group("legacy")


def _default_value(variable: dict[str, Any]) -> Any:
    value = (variable.get("current") or {}).get("value")
    if isinstance(value, list):
        return value[0] if len(value) == 1 else value
    return value


class DatasourceChecker:
    """Collects every datasource reference of one dashboard that does not resolve to a provisioned uid."""

    def __init__(self, dashboard: dict[str, Any], provisioned: dict[str, str]) -> None:
        self.provisioned = provisioned
        self.variables = {v.get("name"): v for v in (dashboard.get("templating") or {}).get("list") or []}
        self.problems: list[str] = []

    def resolve(self, where: str, ref: Any) -> str | None:
        """The provisioned uid ``ref`` points at, or None after recording why it points nowhere."""
        if not isinstance(ref, dict) or not isinstance(ref.get("uid"), str) or not ref["uid"]:
            self.problems.append(f"{where}: datasource {ref!r} does not name a uid")
            return None
        uid = ref["uid"]
        if uid in BUILTIN_UIDS:
            return uid
        name = _variable_name(uid)
        if name is not None:
            uid = self._through_variable(where, name)
            if uid is None:
                return None
        if uid not in self.provisioned:
            self.problems.append(f"{where}: datasource uid {uid!r} is not provisioned by the role "
                                 f"(known: {sorted(self.provisioned)})")
            return None
        wanted_type = ref.get("type")
        if wanted_type and wanted_type != self.provisioned[uid]:
            self.problems.append(f"{where}: datasource {uid!r} is a {self.provisioned[uid]}, not a {wanted_type}")
        return uid

    def _through_variable(self, where: str, name: str) -> str | None:
        variable = self.variables.get(name)
        if variable is None:
            self.problems.append(f"{where}: datasource refers to ${{{name}}}, which the dashboard does not define")
            return None
        if variable.get("type") != "datasource":
            self.problems.append(f"{where}: ${{{name}}} is a {variable.get('type')} variable, not a datasource one")
            return None
        value = _default_value(variable)
        if not isinstance(value, str) or not value:
            self.problems.append(f"{where}: datasource variable ${{{name}}} has no single default uid ({value!r})")
            return None
        if _variable_name(value) is not None:
            self.problems.append(f"{where}: datasource variable ${{{name}}} defaults to another variable ({value})")
            return None
        return value

    def check_variable(self, variable: dict[str, Any]) -> None:
        where = f"variable ${variable.get('name')}"
        if variable.get("type") == "datasource":
            uid = self.resolve(where, {"uid": f"${{{variable.get('name')}}}"})
            if uid is not None and variable.get("query") != self.provisioned.get(uid):
                self.problems.append(f"{where}: lists {variable.get('query')} datasources but defaults to "
                                     f"{uid!r}, a {self.provisioned.get(uid)}")
        elif variable.get("type") == "query":
            self.resolve(where, variable.get("datasource"))

    def check_panel(self, panel: dict[str, Any], where: str) -> None:
        where = f"{where} panel {panel.get('title')!r}"
        targets = panel.get("targets") or []
        panel_ref = panel.get("datasource")
        if panel_ref is not None:
            self.resolve(where, panel_ref)
        for index, target in enumerate(targets):
            target_ref = target.get("datasource")
            if target_ref is None and panel_ref is None:
                self.problems.append(f"{where} target {index}: no datasource on the target nor on the panel")
            elif target_ref is not None:
                self.resolve(f"{where} target {target.get('refId', index)}", target_ref)
        for nested in panel.get("panels") or []:  # a row's panels, kept inside it while it is collapsed
            self.check_panel(nested, where)

    def check(self, dashboard: dict[str, Any]) -> list[str]:
        for annotation in (dashboard.get("annotations") or {}).get("list") or []:
            self.resolve(f"annotation {annotation.get('name')!r}", annotation.get("datasource"))
        for variable in self.variables.values():
            self.check_variable(variable)
        for panel in dashboard.get("panels") or []:
            self.check_panel(panel, "")
        return self.problems


def datasource_problems(dashboard: dict[str, Any], provisioned: dict[str, str]) -> list[str]:
    """Every datasource reference of ``dashboard`` that names no uid of ``provisioned`` (uid -> type)."""
    return DatasourceChecker(dashboard, provisioned).check(dashboard)


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _all_panels(panel.get("panels") or [])


# --------------------------------------------------------------------------- the role's datasources
def provisioned_uid(provisioned: dict[str, str], kind: str) -> str:
    (uid,) = [uid for uid, ds_type in provisioned.items() if ds_type == kind]
    return uid


def test_the_role_provisions_the_five_datasources_with_valid_fixed_uids() -> None:
    provisioned = provisioned_datasources()
    assert sorted(provisioned.values()) == ["alertmanager", "influxdb", "loki", "prometheus", "tempo"]
    assert all(UID_SHAPE.match(uid) for uid in provisioned), provisioned


def test_datasource_cross_links_name_provisioned_uids() -> None:
    defaults = _role_defaults()
    provisioned = provisioned_datasources(defaults)
    context = {"grafana_datasource_uids": defaults["grafana_datasource_uids"]}
    links = {ds["type"]: {_render(uid, context) for _path, uid in _cross_links(ds.get("json_data"))}
             for ds in defaults["grafana_datasources"]}
    assert links["prometheus"] == {provisioned_uid(provisioned, "tempo"), provisioned_uid(provisioned, "alertmanager")}
    assert links["loki"] == {provisioned_uid(provisioned, "tempo")}
    assert links["tempo"] == {provisioned_uid(provisioned, "loki"), provisioned_uid(provisioned, "prometheus")}
    for ds in defaults["grafana_datasources"]:
        for path, uid in _cross_links(ds.get("json_data")):
            assert _render(uid, context) in provisioned, f"{ds['name']}{path}: {uid}"


def test_the_role_pushes_every_dashboard_file_into_a_provisioned_folder() -> None:
    defaults = _role_defaults()
    listed = [entry["file"] for entry in defaults["grafana_dashboards"]]
    on_disk = [f"dashboards/{path.name}" for path in DASHBOARD_FILES]
    assert sorted(listed) == sorted(on_disk)
    folders = {folder["uid"] for folder in defaults["grafana_folders"]}
    assert {entry["folder_uid"] for entry in defaults["grafana_dashboards"]} <= folders


# --------------------------------------------------------------------------- the dashboards
def test_there_are_dashboards_to_check() -> None:
    assert len(DASHBOARD_FILES) >= 6


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_is_a_json_object_with_uid_and_title(path: Path) -> None:
    dashboard = _load(path)
    assert isinstance(dashboard, dict)
    assert UID_SHAPE.match(dashboard.get("uid") or ""), dashboard.get("uid")
    assert dashboard.get("title")
    assert "id" not in dashboard or dashboard["id"] is None, "a dashboard file must not pin a database id"


def test_dashboard_uids_are_unique() -> None:
    uids = [_load(path)["uid"] for path in DASHBOARD_FILES]
    assert len(uids) == len(set(uids)), uids


def test_dashboard_titles_are_unique() -> None:
    titles = [_load(path)["title"] for path in DASHBOARD_FILES]
    assert len(titles) == len(set(titles)), titles


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_has_a_template_variable(path: Path) -> None:
    variables = (_load(path).get("templating") or {}).get("list") or []
    assert variables, f"{path.name} has no template variable"


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_panel_ids_are_unique_within_the_dashboard(path: Path) -> None:
    ids = [panel["id"] for panel in _all_panels(_load(path)["panels"])]
    assert len(ids) == len(set(ids)), ids


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_every_datasource_reference_names_a_provisioned_uid(path: Path) -> None:
    assert datasource_problems(_load(path), provisioned_datasources()) == []


# --------------------------------------------------------------------------- the checker can fail
PROVISIONED = {"prometheus": "prometheus", "loki": "loki", "tempo": "tempo"}


def _sample() -> dict[str, Any]:
    """A small dashboard the checker accepts; the tests below break one reference each."""
    return {
        "uid": "sample",
        "title": "Sample",
        "annotations": {"list": [{"name": "Annotations", "datasource": {"type": "grafana", "uid": "-- Grafana --"}}]},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus",
             "current": {"text": "Prometheus", "value": "prometheus"}},
            {"name": "job", "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": "label_values(up, job)"},
        ]},
        "panels": [
            {"id": 1, "type": "timeseries", "title": "Up", "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "targets": [{"refId": "A", "expr": "up"}]},
            {"id": 2, "type": "row", "title": "More", "collapsed": True, "panels": [
                {"id": 3, "type": "nodeGraph", "title": "Map", "datasource": {"type": "tempo", "uid": "tempo"},
                 "targets": [{"refId": "A", "queryType": "serviceMap",
                              "datasource": {"type": "tempo", "uid": "tempo"}}]},
            ]},
            {"id": 4, "type": "text", "title": "Notes"},
        ],
    }


def test_checker_accepts_the_sample() -> None:
    assert datasource_problems(_sample(), PROVISIONED) == []


def test_checker_rejects_a_bogus_panel_uid() -> None:
    dashboard = _sample()
    dashboard["panels"][0]["datasource"] = {"type": "prometheus", "uid": "no-such-datasource"}
    problems = datasource_problems(dashboard, PROVISIONED)
    assert len(problems) == 1 and "'no-such-datasource' is not provisioned" in problems[0]


def test_checker_rejects_a_bogus_uid_in_a_collapsed_rows_nested_target() -> None:
    dashboard = _sample()
    dashboard["panels"][1]["panels"][0]["targets"][0]["datasource"]["uid"] = "tempo-typo"
    problems = datasource_problems(dashboard, PROVISIONED)
    assert len(problems) == 1 and "'Map'" in problems[0] and "tempo-typo" in problems[0]


def test_checker_rejects_a_datasource_variable_defaulting_to_an_unknown_uid() -> None:
    dashboard = _sample()
    dashboard["templating"]["list"][0]["current"] = {"text": "Old", "value": "old-prometheus"}
    problems = datasource_problems(dashboard, PROVISIONED)
    assert problems and all("old-prometheus" in problem for problem in problems)


def test_checker_rejects_a_reference_to_an_undefined_variable() -> None:
    dashboard = _sample()
    dashboard["templating"]["list"][1]["datasource"]["uid"] = "${ds}"
    assert any("${ds}" in problem for problem in datasource_problems(dashboard, PROVISIONED))


def test_checker_rejects_a_datasource_given_by_name() -> None:
    dashboard = _sample()
    dashboard["panels"][0]["datasource"] = "Prometheus"
    assert any("does not name a uid" in problem for problem in datasource_problems(dashboard, PROVISIONED))


def test_checker_rejects_a_target_without_any_datasource() -> None:
    dashboard = _sample()
    del dashboard["panels"][0]["datasource"]
    assert any("no datasource" in problem for problem in datasource_problems(dashboard, PROVISIONED))


def test_checker_rejects_a_uid_of_the_wrong_type() -> None:
    dashboard = _sample()
    dashboard["panels"][0]["datasource"] = {"type": "prometheus", "uid": "loki"}
    assert any("is a loki, not a prometheus" in problem for problem in datasource_problems(dashboard, PROVISIONED))


def test_checker_rejects_a_bogus_uid_in_a_shipped_dashboard() -> None:
    dashboard = copy.deepcopy(_load(DASHBOARD_DIR / "host.json"))
    dashboard["templating"]["list"][0]["current"]["value"] = "bogus"
    assert datasource_problems(dashboard, provisioned_datasources())
