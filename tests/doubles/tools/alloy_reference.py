"""Regenerate the Alloy TEST DOUBLE's list of components and arguments (``alloy/upstream/<version>.json``).

Run by a maintainer, not by the tests. It reads Alloy's own reference documentation at a tag from a local git
mirror of grafana/alloy (a bare clone is fine) and writes names only::

    python3 tests/doubles/tools/alloy_reference.py --alloy <alloy.git> --tag v1.18.1 --version 1.18.1

What it reads (paths in grafana/alloy):

- ``docs/sources/reference/components/<group>/<component>.md``: every component's name (the file name);
- for the components the stack renders (``DETAILED``): the "Arguments" table (argument names), the "Blocks" table
  (block paths such as ``endpoint > basic_auth``) and each block's own table, including the shared tables the page
  pulls in with ``docs/shared lookup="reference/components/<file>.md"`` (``docs/sources/shared/...``);
- ``docs/sources/reference/config-blocks/<block>.md`` for the top-level configuration blocks in ``CONFIG_BLOCKS``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from typing import Any

DOUBLES = Path(__file__).resolve().parents[1]
COMPONENTS_DIR = "docs/sources/reference/components"
CONFIG_BLOCKS_DIR = "docs/sources/reference/config-blocks"
SHARED_DIR = "docs/sources/shared"
# The components the alloy role renders (roles/alloy/templates/config.alloy.j2), checked argument by argument.
DETAILED = ("discovery.docker", "discovery.relabel", "local.file_match", "loki.source.docker", "loki.source.file",
            "loki.write")
CONFIG_BLOCKS = ("logging",)
_SHARED = re.compile(r'docs/shared lookup="([^"]+)"')
_NAME_CELL = re.compile(r"^\|\s*`([a-z_0-9]+)`\s*\|")
_BLOCK_CELL = re.compile(r"^\|\s*((?:`[a-z_0-9]+`\s*>\s*)*)\[?`([a-z_0-9]+)`\]?(?:\[[^\]]*\])?\s*\|")


def git_show(repo: str, tag: str, path: str) -> str:
    return subprocess.run(["git", "-C", repo, "show", f"{tag}:{path}"], check=True, capture_output=True,
                          text=True).stdout


def sections(text: str) -> dict[str, str]:
    """Markdown sections by heading text (``## Arguments``, ``### `endpoint` ``), without the heading line."""
    out: dict[str, str] = {}
    current, lines = "", []
    for line in text.splitlines():
        if line.startswith("#"):
            out[current] = "\n".join(lines)
            current, lines = line.lstrip("#").strip().strip("`"), []
        else:
            lines.append(line)
    out[current] = "\n".join(lines)
    return out


def table_names(body: str, repo: str, tag: str) -> list[str]:
    names = [m.group(1) for line in body.splitlines() if (m := _NAME_CELL.match(line))]
    for shared in _SHARED.findall(body):
        names += table_names(git_show(repo, tag, f"{SHARED_DIR}/{shared}"), repo, tag)
    return sorted(set(names))


def block_paths(body: str) -> list[list[str]]:
    paths = []
    for line in body.splitlines():
        match = _BLOCK_CELL.match(line)
        if match and match.group(2) not in ("Block", "Name"):
            parents = re.findall(r"`([a-z_0-9]+)`", match.group(1))
            paths.append([*parents, match.group(2)])
    return paths


def schema(text: str, repo: str, tag: str, arguments_heading: str = "Arguments") -> dict[str, Any]:
    secs = sections(text)
    root: dict[str, Any] = {"attributes": table_names(secs.get(arguments_heading, ""), repo, tag), "blocks": {}}
    for path in block_paths(secs.get("Blocks", "")):
        node = root
        for name in path:
            node = node["blocks"].setdefault(name, {"attributes": table_names(secs.get(name, ""), repo, tag),
                                                    "blocks": {}})
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alloy", required=True, help="git mirror of grafana/alloy")
    parser.add_argument("--tag", required=True, help="tag whose docs are read, e.g. v1.18.1")
    parser.add_argument("--version", required=True, help="Alloy version the double mimics, e.g. 1.18.1")
    args = parser.parse_args()
    listing = subprocess.run(["git", "-C", args.alloy, "ls-tree", "-r", "--name-only", args.tag, COMPONENTS_DIR],
                             check=True, capture_output=True, text=True).stdout.split()
    names = sorted(Path(p).stem for p in listing if p.endswith(".md") and not p.endswith("_index.md"))
    detailed = {}
    for name in DETAILED:
        path = next(p for p in listing if Path(p).stem == name)
        detailed[name] = schema(git_show(args.alloy, args.tag, path), args.alloy, args.tag)
    blocks = {name: schema(git_show(args.alloy, args.tag, f"{CONFIG_BLOCKS_DIR}/{name}.md"), args.alloy, args.tag)
              for name in CONFIG_BLOCKS}
    payload = {
        "component": f"Alloy {args.version}",
        "sources": [f"grafana/alloy {args.tag} {COMPONENTS_DIR}/*/*.md (component names)",
                    *(f"grafana/alloy {args.tag} {COMPONENTS_DIR}/{n.partition('.')[0]}/{n}.md (arguments and blocks)"
                      for n in DETAILED),
                    *(f"grafana/alloy {args.tag} {CONFIG_BLOCKS_DIR}/{n}.md" for n in CONFIG_BLOCKS),
                    f"grafana/alloy {args.tag} {SHARED_DIR}/reference/components/*.md (shared block tables)"],
        "components": names,
        "schemas": detailed,
        "config_blocks": blocks,
    }
    out = DOUBLES / "alloy" / "upstream" / f"{args.version}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
