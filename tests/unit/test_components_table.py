"""The table of components (meta/components.yml) against the roles and the playbooks that read it.

Every role that runs a container has a row and every row is a role; each variable a row names is a default of its
role; the health checks are what plugins/modules/service_health.py takes and match the containers' healthchecks;
site.yml imports the component roles in the table's order; and nothing else in the collection restates what the
table holds (the old playbooks/vars/components.yml and images.yml, health checks written out in a role).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.data2ai.grafana_stack.plugins.lookup import components as lookup
from ansible_collections.data2ai.grafana_stack.plugins.modules.service_health import CHECK_OPTIONS

ROOT = Path(__file__).resolve().parents[2]
ROLES_DIR = ROOT / "roles"
TABLE = yaml.safe_load((ROOT / "meta" / "components.yml").read_text())
ROWS = TABLE["components"]
NAMES = [row["name"] for row in ROWS]
# Roles that are not components: the host (the table's stack entry), the inventory check and the cohort's content.
NOT_COMPONENTS = {"docker_host", "preflight", "cohort"}
SERVICE_ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if (p / "tasks" / "main.yml").exists())


def _defaults(role: str) -> dict[str, Any]:
    return yaml.safe_load((ROLES_DIR / role / "defaults" / "main.yml").read_text()) or {}


def test_the_lookup_reads_this_table_and_these_roles() -> None:
    assert Path(lookup.TABLE_PATH).resolve() == (ROOT / "meta" / "components.yml").resolve()
    assert Path(lookup.ROLES_DIR).resolve() == ROLES_DIR.resolve()
    assert lookup.load_table() == TABLE


def test_every_role_is_a_component_of_the_table_or_named_as_not_one() -> None:
    missing = [role for role in SERVICE_ROLES if role not in NAMES and role not in NOT_COMPONENTS]
    assert missing == [], f"roles without a row in meta/components.yml: {missing}"
    assert sorted(set(NAMES)) == sorted(NAMES), "a component has two rows"
    assert [name for name in NAMES if name not in SERVICE_ROLES] == [], "a row names no role"
    assert TABLE["stack"]["role"] in SERVICE_ROLES


def test_a_component_role_runs_a_container_and_the_others_do_not() -> None:
    for role in SERVICE_ROLES:
        runs_one = f"{role}_container_name" in _defaults(role)
        assert runs_one == (role in NAMES), f"{role}: a container name default ({runs_one}) goes with a row"


@pytest.mark.parametrize("row", ROWS, ids=NAMES)
def test_every_variable_a_row_names_is_a_default_of_its_role(row: dict[str, Any]) -> None:
    defaults = _defaults(row["name"])
    named = lookup.variables_named(TABLE, [row])
    assert [name for name in named if name not in defaults] == [], f"{row['name']}: not in its defaults/main.yml"
    assert row["container"] == f"{row['name']}_container_name"
    assert row["images"][0] == f"{row['name']}_image"
    # Every image variable of the role is in the row, so the image check and the bundle miss none.
    assert sorted(name for name in defaults if name.endswith("_image")) == sorted(row["images"])
    # Every volume of the role is in the row, so teardown, backup and restore miss none.
    volume_variables = sorted(name for name in defaults if re.fullmatch(rf"{row['name']}(_\w+)?_volume", name))
    assert volume_variables == sorted(volume["variable"] for volume in row["volumes"])


def test_the_stack_entry_names_defaults_of_the_host_role_and_of_components() -> None:
    defaults = {**_defaults(TABLE["stack"]["role"])}
    for row in ROWS:
        defaults.update(_defaults(row["name"]))
    named = lookup.variables_named(TABLE, [], stack=True)
    assert [name for name in named if name not in defaults] == []


@pytest.mark.parametrize("row", ROWS, ids=NAMES)
def test_a_row_is_well_formed(row: dict[str, Any]) -> None:
    assert row["layer"] in TABLE["layers"]
    assert row["backup"] in lookup.BACKUP_POLICIES
    assert row["backup"] == "none" or row["volumes"], f"{row['name']}: a backup policy without a volume"
    assert set(row["health"]) <= set(CHECK_OPTIONS) - {"name", "container", "url"}
    assert ("port" in row["health"]) == ("path" in row["health"])
    keys = [volume["key"] for row_ in ROWS for volume in row_["volumes"]]
    assert len(keys) == len(set(keys)), "two volumes share an archive key"


@pytest.mark.parametrize("row", ROWS, ids=NAMES)
def test_a_component_without_a_probe_has_a_docker_healthcheck(row: dict[str, Any]) -> None:
    """health {} means the wait reads Docker's health status: the container must have a healthcheck."""
    if not row["health"]:
        assert f"{row['name']}_healthcheck_interval" in _defaults(row["name"]), row["name"]


def test_the_layers_are_in_order_and_one_component_dumps_the_database() -> None:
    layers = [TABLE["layers"].index(row["layer"]) for row in ROWS]
    assert layers == sorted(layers), "the table lists the components in the order site.yml deploys them"
    assert [row["name"] for row in ROWS if row["backup"] == "database"] == ["grafana"]
    collectors = [row["name"] for row in ROWS if row.get("log_collector")]
    assert TABLE["log_collector_default"] in collectors and len(collectors) == 2


def _deploy_block() -> list[dict]:
    site = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
    return next(task for task in site[0]["tasks"] if task.get("name") == "Deploy the stack")["block"]


def _imports(tasks: list[dict]) -> list[tuple[str, str]]:
    found = []
    for task in tasks:
        if "block" in task:
            found += _imports(task["block"])
        elif "ansible.builtin.import_role" in task:
            found.append((task["ansible.builtin.import_role"]["name"].rsplit(".", 1)[-1],
                          task["ansible.builtin.import_role"].get("tasks_from", "main")))
    return found


def _site_imports() -> list[tuple[str, str]]:
    """The roles site.yml imports, in order, each with the task file it imports (main unless tasks_from)."""
    return _imports(_deploy_block())


def test_the_data_and_collection_containers_are_applied_in_one_step() -> None:
    """Inside the deferred block every role's stack_container task only prepares its container, and the block's last
    task applies them all: it holds the data and collection layers' components (the demo, which needs InfluxDB's
    tokens, and Grafana come after it), and nothing that needs a server up."""
    (layers,) = [task for task in _deploy_block() if "block" in task]
    assert layers["vars"] == {"stack_containers_deferred": True}
    assert "data2ai.grafana_stack.stack_containers" in layers["block"][-1]
    assert layers["block"][-1]["register"] == "stack_containers_applied"
    inside = _imports(layers["block"])
    assert [role for role, _part in inside] == [
        row["name"] for row in ROWS if row["layer"] in ("data", "collection") and row["name"] != "demo"]
    assert all(part in ("main", "container") for _role, part in inside)


def test_site_imports_the_components_in_the_order_of_the_table() -> None:
    """Each component is first imported in the table's order. PostgreSQL and InfluxDB come in two parts, their
    container and then the steps that need them up, and together the parts are the role's main.yml."""
    imported = [(role, part) for role, part in _site_imports() if role in NAMES]
    assert list(dict.fromkeys(role for role, _part in imported)) == NAMES
    for role in {role for role, part in imported if part != "main"}:
        parts = [part for name, part in imported if name == role]
        main = yaml.safe_load((ROLES_DIR / role / "tasks" / "main.yml").read_text())
        assert parts == [task["ansible.builtin.import_tasks"].removesuffix(".yml") for task in main], role
    assert [role for role, part in imported if part != "main"] == ["postgresql", "influxdb"] * 2


def test_site_waits_read_the_table_and_name_no_component() -> None:
    site = (ROOT / "playbooks" / "site.yml").read_text()
    for layer in ("data", "collection"):
        assert f"query('data2ai.grafana_stack.components', layer='{layer}', enabled=true, want='health_check')" in site
    assert "_health_check" not in site and "stack_images" not in site


RESTATED = [
    # a role's default written again with a fallback, as the old playbooks/vars/components.yml did
    re.compile(r"\b(" + "|".join(NAMES) + r")_(container_name|volume|config_dir|config_volume|image)\s*\|\s*default\("),
    # a health check written out (a port, a path) outside the table
    re.compile(r"_health_check:\s*\n\s+name:"),
]


def test_nothing_else_restates_the_table() -> None:
    files = [path for pattern in ("playbooks/**/*.yml", "roles/*/vars/*.yml", "roles/*/defaults/*.yml")
             for path in ROOT.glob(pattern)]
    offenders = [f"{path.relative_to(ROOT)}: {match.group(0)!r}"
                 for path in files for pattern in RESTATED for match in pattern.finditer(path.read_text())]
    assert offenders == []
    assert not (ROOT / "playbooks" / "vars" / "components.yml").exists()
    assert not (ROOT / "playbooks" / "vars" / "images.yml").exists()


@pytest.mark.parametrize("role", NAMES)
def test_a_role_health_check_is_its_row(role: str) -> None:
    """<role>_health_check, where a role keeps one, is the lookup of its row (grafana adds TLS to it)."""
    vars_file = ROLES_DIR / role / "vars" / "main.yml"
    data = yaml.safe_load(vars_file.read_text()) if vars_file.exists() else {}
    if f"{role}_health_check" in data:
        expected = f"lookup('data2ai.grafana_stack.components', '{role}', want='health_check')"
        assert expected in data[f"{role}_health_check"]


def _value(values: dict[str, Any]):
    return lambda name: values[name]


def test_a_resolved_row_carries_the_host_names_and_the_chosen_log_collector() -> None:
    values = {"promtail_container_name": "p-promtail", "promtail_image": "grafana/promtail:x",
              "promtail_config_dir": "/srv/promtail", "promtail_labels": {"a": "1"}, "promtail_volume": "p-pos"}
    row = lookup.resolved_row(lookup.table_row(TABLE, "promtail"), _value(values), "alloy")
    assert row == {"name": "promtail", "layer": "collection", "container": "p-promtail", "image": "grafana/promtail:x",
                   "images": ["grafana/promtail:x"], "config_dir": "/srv/promtail", "labels": {"a": "1"},
                   "volumes": [{"key": "promtail_positions", "name": "p-pos"}],
                   "health_check": {"name": "promtail", "container": "p-promtail", "port": 9080, "path": "/ready",
                                    "status": [200]}, "backup": "archive",
                   "log_collector": True, "built": [], "https": False, "enabled": False}


@pytest.mark.parametrize("tls", [True, "false"])
def test_grafana_serves_https_by_grafana_tls(tls: Any) -> None:
    """backup.yml waits for a component that serves https by its Docker healthcheck (plugins/filter/day2.py)."""
    values = {"grafana_container_name": "p-grafana", "grafana_image": "grafana/grafana:x", "grafana_tls": tls,
              "grafana_config_dir": "/srv/grafana", "grafana_labels": {}, "grafana_volume": "p-grafana"}
    row = lookup.resolved_row(lookup.table_row(TABLE, "grafana"), _value(values), "promtail")
    assert row["https"] is (tls is True)


DEMO_VALUES = {"demo_container_name": "p-demo", "demo_image": "data2ai/demo-workload:1", "demo_base_image": "python:x",
               "demo_config_dir": "/srv/demo", "demo_labels": {}}


@pytest.mark.parametrize("switch", [True, "false", False])
def test_an_optional_component_is_enabled_by_its_variable(switch: Any) -> None:
    values = _value({**DEMO_VALUES, "demo_enabled": switch})
    row = lookup.resolved_row(lookup.table_row(TABLE, "demo"), values, "promtail")
    assert row["enabled"] is (switch is True)


def test_a_built_image_is_the_container_image_but_never_one_to_pull() -> None:
    """The demo's image is built on the host: the image check (and pull) takes its base only."""
    values = _value({**DEMO_VALUES, "demo_enabled": True})
    row = lookup.resolved_row(lookup.table_row(TABLE, "demo"), values, "promtail")
    assert row["image"] == "data2ai/demo-workload:1"
    assert row["built"] == ["data2ai/demo-workload:1"]
    assert [image for image in row["images"] if image not in row["built"]] == ["python:x"]
    assert all(name in TABLE_ROW_IMAGES for name in lookup.table_row(TABLE, "demo")["built"])


TABLE_ROW_IMAGES = {name for row in ROWS for name in row["images"]}


def _demo_and_grafana(**values: Any) -> list[dict[str, Any]]:
    grafana = {"grafana_container_name": "p-grafana", "grafana_image": "grafana/grafana:x",
               "grafana_config_dir": "/srv/grafana", "grafana_labels": {}, "grafana_volume": "p-grafana",
               "grafana_tls": False}
    value = _value({**DEMO_VALUES, "demo_enabled": True, **grafana, **values})
    return [lookup.resolved_row(lookup.table_row(TABLE, name), value, "promtail") for name in ("demo", "grafana")]


def test_site_needs_the_base_of_a_built_image_unless_the_bundle_carries_the_built_image() -> None:
    """want=images: what site.yml's image check asks for (bundled: the refs of the bundle's manifest.json)."""
    rows = _demo_and_grafana()
    assert lookup.needed_images(rows) == ["python:x", "grafana/grafana:x"]
    assert lookup.needed_images(rows, ["some/other:1"]) == ["python:x", "grafana/grafana:x"]
    assert lookup.needed_images(rows, ["data2ai/demo-workload:1", "grafana/grafana:x"]) == [
        "data2ai/demo-workload:1", "grafana/grafana:x"]


def test_a_base_another_component_runs_stays_needed_when_the_bundle_carries_the_built_image() -> None:
    rows = _demo_and_grafana(demo_base_image="grafana/grafana:x")
    assert lookup.needed_images(rows, ["data2ai/demo-workload:1"]) == ["data2ai/demo-workload:1", "grafana/grafana:x"]


def test_built_names_each_built_image_with_its_role_and_what_it_is_built_from() -> None:
    """want=built: what playbooks/bundle.yml builds on the bundle machine, and gives back as bundled."""
    rows = _demo_and_grafana()
    assert lookup.built_images(rows) == [{"role": "demo", "image": "data2ai/demo-workload:1", "from": ["python:x"]}]
    assert lookup.built_images(rows[1:]) == []


def test_the_demo_alone_builds_and_bundle_yml_builds_with_its_own_tasks() -> None:
    """bundle.yml builds each `built` image with the demo role's image tasks (include_role tasks_from: image), the
    ones site.yml runs on a host (tasks/prepare.yml includes image.yml), and no other task builds an image."""
    assert [row["name"] for row in ROWS if row.get("built")] == ["demo"]
    bundle = yaml.safe_load((ROOT / "playbooks" / "bundle.yml").read_text())
    includes = [task["ansible.builtin.include_role"] for play in bundle for task in play.get("tasks", [])
                if "ansible.builtin.include_role" in task]
    assert includes == [{"name": "data2ai.grafana_stack.demo", "tasks_from": "image"}]
    present = yaml.safe_load((ROLES_DIR / "demo" / "tasks" / "prepare.yml").read_text())
    assert [task["ansible.builtin.include_tasks"] for task in present if "ansible.builtin.include_tasks" in task] == [
        "image.yml", "influxdb_token.yml"]
    builders = sorted(str(path.relative_to(ROOT)) for path in [*ROOT.glob("roles/*/tasks/*.yml"),
                                                               *ROOT.glob("playbooks/*.yml")]
                      if re.search(r"^\s+source: build$", path.read_text(), re.MULTILINE))
    assert builders == ["roles/demo/tasks/image.yml"]


def test_select_rows_keeps_the_order_asked_and_refuses_an_unknown_name() -> None:
    assert [row["name"] for row in lookup.select_rows(TABLE, ["grafana", "redis"])] == ["grafana", "redis"]
    assert [row["name"] for row in lookup.select_rows(TABLE, layer="data")] == ["postgresql", "redis", "influxdb"]
    with pytest.raises(Exception, match="grafna not in the table"):
        lookup.select_rows(TABLE, ["grafna"])
    with pytest.raises(Exception, match="no layer 'storage'"):
        lookup.select_rows(TABLE, layer="storage")


def test_table_roles_are_the_host_then_the_components() -> None:
    assert lookup.table_roles(TABLE) == ["docker_host", *NAMES]


def test_the_argument_spec_is_the_role_options() -> None:
    assert "redis_password" in lookup.argument_spec("redis")
