"""Every integration test helper is defined once: in tests/integration/stack_testlib.py (or, for the grafana/
folder, in its grafana_harness.py), and imported from there by the test modules.

The rule, read from each file's syntax tree (``ast``), top-level definitions only:
- A helper is a top-level ``def`` or ``class`` in any tests/integration/**/*.py, private (``_name``) ones
  included. Not helpers: test functions (``test_*``) and test classes (``Test*``), which pytest collects per
  module; pytest hooks (``pytest_*``); and fixtures (decorated with ``pytest.fixture``), because pytest looks a
  fixture up by name from the requesting module outwards, so a module's own ``workdir`` or ``stack`` fixture is
  pytest's override mechanism, not a copy.
- A helper name defined in more than one file fails: either it is a copy (move it to the shared library), or two
  different things carry one name (name each for what it is).
- Any top-level function or class, fixtures included, whose body (docstring aside) is the same statement for
  statement as one in another file, with at least MIN_STATEMENTS statements, fails as well, whatever its name.
- A module constant (an UPPER_CASE name) assigned the same value expression in two files fails when the names are
  the same or the value is derived from ``__file__`` (the repository root under another name). Not counted: bare
  numbers (a module's own timeout may equal another's) and values built from the module's other constants
  (``NETWORK = f"{PREFIX}net"`` means a different network in each module).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "tests" / "integration"
MIN_STATEMENTS = 3


def _is_fixture(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if ast.unparse(target) in ("pytest.fixture", "fixture"):
            return True
    return False


def _is_helper(node: ast.stmt) -> bool:
    if isinstance(node, ast.ClassDef):
        return not node.name.startswith("Test")
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return not node.name.startswith(("test_", "pytest_")) and not _is_fixture(node)
    return False


def _definitions() -> list[tuple[str, ast.stmt]]:
    found = []
    for path in sorted(INTEGRATION.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        relative = str(path.relative_to(ROOT))
        found += [(relative, node) for node in tree.body
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    return found


def _body_key(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> tuple[int, str]:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return len(body), ast.dump(ast.Module(body=body, type_ignores=[]))


def _constants() -> list[tuple[str, str, ast.expr]]:
    found = []
    for path in sorted(INTEGRATION.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in tree.body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id.isupper()):
                found.append((str(path.relative_to(ROOT)), node.targets[0].id, node.value))
    return found


def _is_shared_constant(value: ast.expr) -> bool:
    if isinstance(value, ast.Constant) and isinstance(value.value, (int, float)):
        return False
    names = {node.id for node in ast.walk(value) if isinstance(node, ast.Name)}
    return not any(name.isupper() for name in names)


def test_the_integration_files_are_found() -> None:
    files = {path for path, _node in _definitions()}
    assert "tests/integration/stack_testlib.py" in files
    assert any(path.startswith("tests/integration/grafana/") for path in files), files


def test_no_helper_name_is_defined_in_two_files() -> None:
    places: dict[str, list[str]] = defaultdict(list)
    for path, node in _definitions():
        if _is_helper(node):
            places[node.name].append(path)
    twice = {name: paths for name, paths in sorted(places.items()) if len(paths) > 1}
    assert not twice, "helpers defined in more than one file (share them through stack_testlib.py):\n" + "\n".join(
        f"  {name}: {', '.join(paths)}" for name, paths in twice.items())


def test_no_function_or_class_body_stands_in_two_files() -> None:
    places: dict[str, list[str]] = defaultdict(list)
    for path, node in _definitions():
        statements, key = _body_key(node)
        if statements >= MIN_STATEMENTS:
            places[key].append(f"{path}::{node.name}")
    copies = [where for where in places.values() if len({place.split("::")[0] for place in where}) > 1]
    assert not copies, "the same body in more than one file:\n" + "\n".join(f"  {' = '.join(w)}" for w in copies)


def test_no_constant_is_defined_in_two_files() -> None:
    by_name: dict[tuple[str, str], list[str]] = defaultdict(list)
    by_file_root: dict[str, list[str]] = defaultdict(list)
    for path, name, value in _constants():
        if not _is_shared_constant(value):
            continue
        by_name[(name, ast.dump(value))].append(path)
        if any(isinstance(node, ast.Name) and node.id == "__file__" for node in ast.walk(value)):
            by_file_root[ast.dump(value)].append(f"{path}::{name}")
    copies = [f"{name}: {', '.join(paths)}" for (name, _value), paths in by_name.items() if len(paths) > 1]
    copies += [" = ".join(places) for places in by_file_root.values() if len({p.split("::")[0] for p in places}) > 1]
    assert not copies, "constants defined in more than one file (share them through stack_testlib.py):\n" + \
        "\n".join(f"  {copy}" for copy in copies)
