# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The stack's table of components (meta/components.yml), resolved for the current host.

Why a lookup and a data file, rather than a vars file or a vars plugin:
- The table is plain data (variable names and literal values), so a unit test reads it with yaml and checks it against
  the roles (tests/unit/test_components_table.py) without running a playbook.
- The names in it must be the roles' own: the inventory's value of <role>_container_name when it sets one, and
  otherwise the role's default. A vars file can only restate the defaults (the old playbooks/vars/components.yml did,
  for every name); this lookup templates the role's own default from roles/<role>/defaults/main.yml instead, so a
  default is written once, in its role, and a play gets it without importing the roles (teardown, backup, restore and
  bundle import none).
- A vars plugin runs for every host and group of every play, including plays that never need the table, and cannot
  see play or role variables; a lookup runs where it is called, with the task's variables.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: components
author:
  - data2ai training team (@data2ai)
short_description: The stack's components from the collection's one table of them, resolved for the current host
version_added: 1.0.0
description:
  - Reads the table of the stack's components (C(meta/components.yml) in the collection) and returns its rows, with
    every variable a row names resolved for the current host. A variable the inventory (or the play) sets wins; a
    variable it does not set takes its role's default from C(roles/<role>/defaults/main.yml), templated with the
    host's variables. So a play gets the containers', volumes' and images' names without importing the roles.
  - A row is C(name) (the component and its role), C(layer), C(container), C(image) and C(images), C(config_dir)
    (empty when it has none), C(labels), C(volumes) (each C(key), C(name)), C(health_check) (for
    M(data2ai.grafana_stack.service_health)), C(backup) (C(none), C(archive), C(database) or C(snapshot)),
    C(log_collector), C(built) (the images its role builds on the host), C(https) (whether it serves https, by its
    C(https_by) variable) and C(enabled) (false for the log collector
    C(stack_log_collector) does not choose, and for an optional component whose C(enabled_by) variable is false).
options:
  _terms:
    description: Components to return, by name, in the order given; none returns every component in the table's order.
    required: false
  layer:
    description: Only the components of this layer of site.yml (C(data), C(collection) or C(presentation)).
    type: str
  enabled:
    description: Only the components the host runs (the log collector C(stack_log_collector) chooses, not the other).
    type: bool
    default: false
  want:
    description:
      - C(row) returns the rows.
      - C(health_check) returns each row's health check, for M(data2ai.grafana_stack.service_health).
      - C(images) returns the images a host must hold before the roles run, each once, in order, those of the rows
        that it pulls (or loads from the bundle). A row's C(built) image is left out and the images it is built FROM
        taken instead, unless the offline bundle carries it (O(bundled)); then the built image is taken, loaded from
        the bundle, and the images it is built from are not needed.
      - C(built) returns, per row whose role builds an image on the host, C(role), C(image) (the built image) and
        C(from) (the row's other images, which the build starts FROM), each image once.
      - C(name) returns the components' names and resolves nothing.
      - C(roles) returns the roles preflight checks the inventory against (the host's role C(docker_host), then every
        component's), and resolves nothing.
      - C(argument_spec) returns, for each term (a role of the table), the options of its C(meta/argument_specs.yml).
      - C(stack) returns the host side the components share, resolved as one dictionary, and ignores the other
        options. Its keys are C(prefix), C(network), C(base_dir), C(labels), C(helpers) and C(helper_image).
        C(helpers) names the one-shot helper containers (C(volume_owner), C(backup) and C(verify_log_writer)).
    type: str
    choices: [row, health_check, images, built, name, roles, argument_spec, stack]
    default: row
  bundled:
    description:
      - The images the offline image bundle carries (the C(ref) of each entry of its C(manifest.json)). With
        O(want=images), a built image named here is needed as it is (the bundle brings it) rather than its base.
      - playbooks/bundle.yml gives every built image (O(want=built)), so that the bundle carries the built images
        and leaves their bases out.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Wait for the data layer
  data2ai.grafana_stack.service_health:
    checks: "{{ query('data2ai.grafana_stack.components', layer='data', enabled=true, want='health_check') }}"

- name: Every container of the stack on this host, whichever log collector it runs
  ansible.builtin.debug:
    msg: "{{ query('data2ai.grafana_stack.components') | map(attribute='container') }}"

- name: The images the host needs
  ansible.builtin.debug:
    msg: "{{ query('data2ai.grafana_stack.components', enabled=true, want='images') }}"

- name: The images the offline bundle carries (the built ones, not their bases)
  ansible.builtin.debug:
    msg: >-
      {{ query('data2ai.grafana_stack.components', enabled=true, want='images',
               bundled=query('data2ai.grafana_stack.components', enabled=true, want='built')
                       | map(attribute='image')) }}
"""

RETURN = r"""
_raw:
  description: The rows (or what C(want) asks for), in the table's order or the order of the terms.
  type: list
"""

import os  # noqa: E402
from collections.abc import Callable, Iterable, Mapping  # noqa: E402
from typing import Any  # noqa: E402

import yaml  # noqa: E402
from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.module_utils.parsing.convert_bool import boolean  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402

# The collection's root: plugins/lookup/ is two levels below it, installed or not.
COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TABLE_PATH = os.path.join(COLLECTION_ROOT, "meta", "components.yml")
ROLES_DIR = os.path.join(COLLECTION_ROOT, "roles")
BACKUP_POLICIES = ("none", "archive", "database", "snapshot")
LOG_COLLECTOR_VARIABLE = "stack_log_collector"


def _load_yaml(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except OSError as exc:
        raise AnsibleLookupError(f"components: cannot read {path}: {exc}") from exc


def load_table(path: str = TABLE_PATH) -> dict[str, Any]:
    """The table as written, plain data."""
    return _load_yaml(path)


def role_defaults(role: str, roles_dir: str = ROLES_DIR) -> dict[str, Any]:
    """A role's defaults/main.yml (empty when the role has none)."""
    path = os.path.join(roles_dir, role, "defaults", "main.yml")
    return (_load_yaml(path) or {}) if os.path.exists(path) else {}


def argument_spec(role: str, roles_dir: str = ROLES_DIR) -> dict[str, Any]:
    """The options of a role's entry point main (meta/argument_specs.yml)."""
    document = _load_yaml(os.path.join(roles_dir, role, "meta", "argument_specs.yml")) or {}
    return document["argument_specs"]["main"].get("options") or {}


def table_roles(table: Mapping[str, Any]) -> list[str]:
    """The host's role, then every component's, as preflight checks them."""
    return [table["stack"]["role"]] + [row["name"] for row in table["components"]]


def select_rows(table: Mapping[str, Any], names: Iterable[str] = (), layer: str | None = None) -> list[dict[str, Any]]:
    """The table's rows for the names (in their order; all when none), of one layer when given."""
    rows = {row["name"]: row for row in table["components"]}
    names = [str(name) for name in names]
    unknown = [name for name in names if name not in rows]
    if unknown:
        raise AnsibleLookupError(f"components: {', '.join(unknown)} not in the table; it has {', '.join(rows)}")
    if layer is not None and layer not in table["layers"]:
        raise AnsibleLookupError(f"components: no layer '{layer}'; the layers are {', '.join(table['layers'])}")
    selected = [rows[name] for name in names] if names else list(table["components"])
    return [row for row in selected if layer is None or row["layer"] == layer]


def variables_named(table: Mapping[str, Any], rows: Iterable[Mapping[str, Any]], stack: bool = False) -> list[str]:
    """Every variable the rows (or the stack entry) name, which the lookup resolves."""
    if stack:
        entry = table["stack"]
        named = [entry["network"], entry["base_dir"], entry["labels"], entry["helper_image"]]
        named += [table_row(table, helper["container_of"])["container"]
                  for helper in entry["helpers"].values() if "container_of" in helper]
        return named
    named = []
    for row in rows:
        named += [row["container"], *row["images"], row["labels"]]
        named += [row["config_dir"]] if row.get("config_dir") else []
        named += [volume["variable"] for volume in row.get("volumes") or []]
        named += [row["enabled_by"]] if row.get("enabled_by") else []
    return named


def table_row(table: Mapping[str, Any], name: str) -> dict[str, Any]:
    return select_rows(table, [name])[0]


def resolved_row(row: Mapping[str, Any], value: Callable[[str], Any], log_collector: str) -> dict[str, Any]:
    """A row with its variables' values (value(name) gives a variable's value)."""
    container = value(row["container"])
    images = [value(name) for name in row["images"]]
    is_collector = bool(row.get("log_collector"))
    switched_on = boolean(value(row["enabled_by"]), strict=False) if row.get("enabled_by") else True
    return {
        "name": row["name"],
        "layer": row["layer"],
        "container": container,
        "image": images[0],
        "images": images,
        "config_dir": value(row["config_dir"]) if row.get("config_dir") else "",
        "labels": value(row["labels"]) or {},
        "volumes": [{"key": volume["key"], "name": value(volume["variable"])} for volume in row.get("volumes") or []],
        "health_check": {"name": row["name"], "container": container, **(row.get("health") or {})},
        "backup": row["backup"],
        "log_collector": is_collector,
        "built": [value(name) for name in row.get("built") or []],
        "https": boolean(value(row["https_by"]), strict=False) if row.get("https_by") else False,
        "enabled": (not is_collector or row["name"] == log_collector) and switched_on,
    }


def resolved_stack(table: Mapping[str, Any], value: Callable[[str], Any], prefix: str) -> dict[str, Any]:
    """The host side the components share, with its variables' values."""
    entry = table["stack"]
    helpers = {}
    for name, helper in entry["helpers"].items():
        if "container_of" in helper:
            helpers[name] = value(table_row(table, helper["container_of"])["container"]) + helper["suffix"]
        else:
            helpers[name] = prefix + helper["prefixed"]
    return {"prefix": prefix, "network": value(entry["network"]), "base_dir": value(entry["base_dir"]),
            "labels": value(entry["labels"]) or {}, "helpers": helpers, "helper_image": value(entry["helper_image"])}


def needed_images(rows: Iterable[Mapping[str, Any]], bundled: Iterable[str] = ()) -> list[str]:
    """The images a host must hold before the roles run (resolved rows), each once, in order. A row whose built
    images the bundle carries needs those, and not the images they are built FROM; another row's built image is
    left out (its role builds it) and its other images are needed to build it."""
    bundled = set(bundled)
    needed: list[str] = []
    for row in rows:
        if row["built"] and all(image in bundled for image in row["built"]):
            needed += row["built"]
        else:
            needed += [image for image in row["images"] if image not in row["built"]]
    return unique(needed)


def built_images(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per image a role builds on the host (resolved rows): its role, the image and the images it is built FROM."""
    return unique({"role": row["name"], "image": image,
                   "from": [other for other in row["images"] if other not in row["built"]]}
                  for row in rows for image in row["built"])


def unique(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for item in values:
        if item not in out:
            out.append(item)
    return out


class LookupModule(LookupBase):
    def _resolver(self, table: Mapping[str, Any], variables: Mapping[str, Any]) -> Callable[[str], Any]:
        """value(name): the host's value of a variable, or its role's default, templated with the host's variables."""
        from ansible.template import trust_as_template  # pylint: disable=import-outside-toplevel

        defaults: dict[str, Any] = {}
        for role in table_roles(table):
            for name, default in role_defaults(role).items():
                defaults.setdefault(name, trust_as_template(default) if isinstance(default, str) else default)
        available = {**defaults, **dict(variables)}
        templar = self._templar.copy_with_new_env(available_variables=available)

        def value(name: str) -> Any:
            if name not in available:
                raise AnsibleLookupError(f"components: {name} is neither set nor a default of a role of the table")
            return templar.template(trust_as_template("{{ " + name + " }}"))

        return value

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        table = load_table()
        want = self.get_option("want")
        if want == "roles":
            return table_roles(table)
        if want == "argument_spec":
            known = table_roles(table)
            unknown = [str(term) for term in terms if term not in known]
            if unknown:
                raise AnsibleLookupError(f"components: {', '.join(unknown)} not a role of the table")
            return [argument_spec(str(term)) for term in terms]
        value = self._resolver(table, variables)
        prefix = self._templar.copy_with_new_env(available_variables=dict(variables)).template(
            self._trusted("{{ stack_prefix | default('') }}"))
        if want == "stack":
            return [resolved_stack(table, value, str(prefix))]
        rows = select_rows(table, terms, self.get_option("layer"))
        if want == "name":
            return [row["name"] for row in rows]
        collector = self._templar.copy_with_new_env(available_variables=dict(variables)).template(
            self._trusted("{{ " + LOG_COLLECTOR_VARIABLE + " | default('" + table["log_collector_default"] + "') }}"))
        resolved = [resolved_row(row, value, str(collector)) for row in rows]
        if self.get_option("enabled"):
            resolved = [row for row in resolved if row["enabled"]]
        if want == "health_check":
            return [row["health_check"] for row in resolved]
        if want == "images":
            return needed_images(resolved, [str(image) for image in self.get_option("bundled") or []])
        if want == "built":
            return built_images(resolved)
        return resolved

    @staticmethod
    def _trusted(template: str) -> str:
        from ansible.template import trust_as_template  # pylint: disable=import-outside-toplevel

        return trust_as_template(template)
