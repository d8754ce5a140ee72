"""Strict config checks for the TEST DOUBLES: unknown YAML keys and unknown flags, refused as upstream does.

Tempo, Loki and Promtail parse their file with yaml.v2 ``UnmarshalStrict``: a key that no config struct declares
stops them at start ("field x not found in type ..."). Go's ``flag`` package stops a program on a flag it does
not define ("flag provided but not defined: -x", exit 2). The allowed keys and flags are data, derived from
upstream's own sources at the pinned tags by ``tools/upstream_keys.py`` and stored in ``<double>/upstream/``.

Key tree: a mapping of key -> subtree; ``None`` accepts any value; a subtree also applies to each mapping in a
list; ``{"*": subtree}`` is a map with free keys whose values follow ``subtree``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from common.config import ConfigError, parse_yaml_config, read_config_text

FLAG_EXIT_CODE = 2  # Go's flag.ExitOnError


@dataclass(frozen=True)
class UnknownKey:
    line: int
    parent: str
    key: str

    def describe(self) -> str:
        where = self.parent or "the top level"
        return f"line {self.line}: field {self.key} not found in {where}"


@dataclass(frozen=True)
class Upstream:
    """What one upstream version accepts, as stored in ``<double>/upstream/<version>.json``."""

    component: str
    sources: list[str]
    keys: dict[str, Any] | None
    flags: frozenset[str]

    @classmethod
    def load(cls, path: Path) -> Upstream:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["component"], data.get("sources", []), data.get("keys"), frozenset(data.get("flags", [])))


def load_upstream(package_dir: Path, version: str) -> Upstream:
    path = package_dir / "upstream" / f"{version}.json"
    if not path.exists():
        known = sorted(p.stem for p in (package_dir / "upstream").glob("*.json"))
        raise ConfigError(f"the test double has no key list for version {version!r} (known: {', '.join(known)})")
    return Upstream.load(path)


def _walk(node: yaml.Node, tree: Any, parent: str, out: list[UnknownKey]) -> None:
    if tree is None:
        return
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _walk(item, tree, parent, out)
        return
    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key == "<<":
            _walk(value_node, tree, parent, out)
            continue
        if "*" in tree:
            subtree, known = tree["*"], True
        else:
            known = key in tree
            subtree = tree.get(key)
        if not known:
            out.append(UnknownKey(key_node.start_mark.line + 1, parent, key))
            continue
        _walk(value_node, subtree, f"{parent}.{key}" if parent else key, out)


def unknown_keys(text: str, tree: dict[str, Any]) -> list[UnknownKey]:
    """Every key of the YAML ``text`` that ``tree`` does not declare, with its line, in file order."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    out: list[UnknownKey] = []
    if root is not None:
        _walk(root, tree, "", out)
    return out


def check_yaml_keys(text: str, upstream: Upstream, path: str) -> None:
    """Raise ConfigError like yaml.v2 UnmarshalStrict when ``text`` has a key ``upstream`` does not know."""
    if upstream.keys is None:
        return
    found = unknown_keys(text, upstream.keys)
    if found:
        details = "; ".join(u.describe() for u in found)
        raise ConfigError(f"failed parsing config: {path}: yaml: unmarshal errors: {details} "
                          f"({upstream.component} refuses unknown keys)")


def unknown_flags(names: Iterable[str], upstream: Upstream) -> list[str]:
    return [name for name in names if name not in upstream.flags and name not in ("h", "help")]


def flag_error(name: str) -> str:
    return f"flag provided but not defined: -{name}"


def load_strict_yaml_config(path: str, expand: bool, upstream: Upstream) -> dict[str, Any]:
    """Read, check every key against ``upstream``, then parse: the order the real components fail in."""
    text = read_config_text(path, expand)
    config = parse_yaml_config(text, path)
    check_yaml_keys(text, upstream, path)
    return config


def refuse_unknown_flags(names: Iterable[str], upstream: Upstream) -> str | None:
    """Go's flag package message for the first flag ``upstream`` does not define, or None."""
    unknown = unknown_flags(names, upstream)
    return flag_error(unknown[0]) if unknown else None
