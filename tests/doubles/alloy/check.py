"""What ``alloy validate`` checks, for the Alloy TEST DOUBLE: component names, argument and block names, name
conflicts and references, against the list of Alloy's pinned version in ``upstream/<version>.json``.

Upstream (grafana/alloy docs/sources/reference/cli/validate.md) lists what validation checks: syntax errors,
missing components, component name conflicts, required properties, unknown properties, ``foreach`` and
``declare`` blocks. The double checks syntax, components, name conflicts, unknown arguments and blocks, and
that every reference names a declared component and one of its exports. It does not check required arguments or
value types. The messages follow Alloy's (``syntax/vm/struct_decoder.go``, ``internal/component/registry.go``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alloy.syntax import Attribute, Block, SyntaxProblem, parse, references

# The components the double can run, and what each exports (their reference pages, "Exported fields").
EXPORTS = {
    "discovery.docker": ("targets",),
    "discovery.relabel": ("output", "rules"),
    "local.file_match": ("targets",),
    "loki.source.docker": (),
    "loki.source.file": (),
    "loki.write": ("receiver",),
}
# Functions the double evaluates (docs/sources/reference/stdlib/).
FUNCTIONS = ("sys.env", "env", "constants.hostname")


@dataclass(frozen=True)
class Problem:
    line: int
    col: int
    message: str


@dataclass(frozen=True)
class Reference:
    """The component names and argument lists of one Alloy version."""

    component: str
    components: frozenset[str]
    schemas: dict[str, Any]
    config_blocks: dict[str, Any]

    @classmethod
    def load(cls, package_dir: Path, version: str) -> Reference:
        data = json.loads((package_dir / "upstream" / f"{version}.json").read_text(encoding="utf-8"))
        return cls(data["component"], frozenset(data["components"]), data["schemas"], data["config_blocks"])


def _check_body(block: Block, schema: dict[str, Any], out: list[Problem], prefix: str = "") -> None:
    seen: set[str] = set()
    for stmt in block.body:
        if isinstance(stmt, Attribute):
            if stmt.name not in schema["attributes"]:
                out.append(Problem(stmt.line, stmt.col, f'unrecognized attribute name "{prefix}{stmt.name}"'))
            elif stmt.name in seen:
                out.append(Problem(stmt.line, stmt.col, f'attribute "{prefix}{stmt.name}" may only be provided once'))
            seen.add(stmt.name)
        else:
            sub = schema["blocks"].get(stmt.name)
            if sub is None or stmt.label is not None:
                out.append(Problem(stmt.line, stmt.col, f'unrecognized block name "{prefix}{stmt.name}"'))
                continue
            _check_body(stmt, sub, out, f"{prefix}{stmt.name}.")


def check(statements: list[Attribute | Block], ref: Reference) -> list[Problem]:
    """Every problem ``alloy validate`` would report that the double knows how to find, in file order."""
    out: list[Problem] = []
    declared: dict[str, Block] = {}
    for stmt in statements:
        if isinstance(stmt, Attribute):
            out.append(Problem(stmt.line, stmt.col, f'unrecognized attribute name "{stmt.name}"'))
            continue
        if stmt.name in ref.config_blocks:
            if stmt.label is not None:
                out.append(Problem(stmt.line, stmt.col, f'block "{stmt.name}" does not support specifying labels'))
            _check_body(stmt, ref.config_blocks[stmt.name], out)
            continue
        if stmt.name not in ref.components:
            out.append(Problem(stmt.line, stmt.col, f'cannot find the definition of component name "{stmt.name}"'))
            continue
        if stmt.label is None:
            out.append(Problem(stmt.line, stmt.col, f'component "{stmt.name}" must have a label'))
            continue
        if stmt.name not in ref.schemas or stmt.name not in EXPORTS:
            out.append(Problem(stmt.line, stmt.col, f'component "{stmt.name}" is a real Alloy component, but the '
                                                    "Alloy TEST DOUBLE does not implement it"))
            continue
        if stmt.id in declared:
            first = declared[stmt.id]
            out.append(Problem(stmt.line, stmt.col,
                               f'block {stmt.id} already declared at {first.line}:{first.col}'))
            continue
        declared[stmt.id] = stmt
        _check_body(stmt, ref.schemas[stmt.name], out)
    for block in declared.values():
        for expr_ref in _all_refs(block):
            if expr_ref.dotted in FUNCTIONS:
                continue
            target = next((cid for cid in declared if expr_ref.dotted.startswith(cid + ".")), None)
            if target is None:
                out.append(Problem(expr_ref.line, expr_ref.col,
                                   f'component "{expr_ref.dotted}" does not exist or is out of scope'))
                continue
            export = expr_ref.dotted[len(target) + 1:].split(".")[0]
            if export not in EXPORTS[declared[target].name]:
                out.append(Problem(expr_ref.line, expr_ref.col,
                                   f'field "{export}" does not exist in the exports of {target}'))
    return sorted(out, key=lambda p: (p.line, p.col))


def _all_refs(block: Block) -> list[Any]:
    found = []
    for stmt in block.body:
        if isinstance(stmt, Attribute):
            found += references(stmt.value)
        else:
            found += _all_refs(stmt)
    return found


def load_and_check(path: str, ref: Reference) -> tuple[list[Attribute | Block], list[str]]:
    """Parse and check the file; returns the statements and the diagnostics (``<path>:<line>:<col>: <msg>``)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        return [], [f"{path}: {exc.strerror or exc}"]
    try:
        statements = parse(text)
    except SyntaxProblem as exc:
        return [], [f"{path}:{exc.line}:{exc.col}: {exc.message}"]
    return statements, [f"{path}:{p.line}:{p.col}: {p.message}" for p in check(statements, ref)]
