"""Regenerate the upstream key and flag lists the strict TEST DOUBLES load (``<double>/upstream/*.json``).

Run by a maintainer, not by the tests: it reads upstream's own sources at the pinned tags from local git mirrors
(bare clones are fine) and writes only names (config keys and flags) and where they came from::

    python3 tests/doubles/tools/upstream_keys.py --tempo <tempo.git> --loki <loki.git> \
        --cadvisor <cadvisor.git> --influxdb <influxdb.git>

Sources (repo, tag, path) are written into each JSON file and listed in tests/doubles/README.md.
Tree format: a mapping of key -> subtree; ``null`` accepts any value; a subtree also applies to each mapping of
a list; ``{"*": subtree}`` is a map with free keys whose values follow ``subtree``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

DOUBLES = Path(__file__).resolve().parents[1]
Tree = dict[str, Any]


def git_show(repo: str, tag: str, path: str) -> str:
    return subprocess.run(["git", "-C", repo, "show", f"{tag}:{path}"], check=True, capture_output=True,
                          text=True).stdout


def write(double: str, name: str, payload: dict[str, Any]) -> None:
    out = DOUBLES / double / "upstream" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out}")


def merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for key, value in b.items():
            out[key] = merge(out[key], value) if key in out else value
        return out
    return a if isinstance(a, dict) else b


def set_path(tree: Tree, dotted: str, subtree: Any = None) -> None:
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = merge(node.get(parts[-1]), subtree) if parts[-1] in node else subtree


# --- Go structs: yaml keys of one struct -------------------------------------------------------

_FIELD = re.compile(r"^\s*(\w+)?\s*([\w.*\[\]]+)?\s*`[^`]*yaml:\"([^\"]*)\"")
_UNTAGGED = re.compile(r"^\s*([A-Z]\w*)\s+[\w.*\[\]]+\s*(//.*)?$")


def struct_keys(source: str, name: str) -> list[str]:
    """yaml keys of ``type <name> struct`` (yaml.v2 rules: an untagged field is its lowercased name;
    ``,inline`` fields are returned as ``"<inline>"`` to be resolved by the caller)."""
    body = re.search(rf"^type {name} struct {{\n(.*?)^}}", source, re.S | re.M)
    if not body:
        raise SystemExit(f"struct {name} not found")
    keys = []
    for line in body.group(1).splitlines():
        match = _FIELD.match(line)
        if match:
            tag = match.group(3).split(",")
            if tag[0] == "-":
                continue
            keys.append("<inline>" if "inline" in tag[1:] else tag[0])
            continue
        untagged = _UNTAGGED.match(line)
        if untagged:
            keys.append(untagged.group(1).lower())
    return keys


def keys_tree(keys: list[str]) -> Tree:
    return {key: None for key in keys if key != "<inline>"}


# --- Tempo: the generated manifest plus fields it leaves out ------------------------------------

def yaml_to_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): yaml_to_tree(v) for k, v in value.items()} if value else None
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out: Tree = {}
        for item in value:
            out = merge(out, yaml_to_tree(item))
        return out
    return None


# Fields the manifest omits because they are empty by default and tagged omitempty; each was read in the struct
# named beside it, at both tags unless said otherwise.
TEMPO_OMITTED = {
    "auth_enabled": "cmd/tempo/app/config.go Config",
    "multitenancy_enabled": "cmd/tempo/app/config.go Config",
    "shutdown_delay": "cmd/tempo/app/config.go Config",
    "stream_over_http_enabled": "cmd/tempo/app/config.go Config",
    "enable_go_runtime_metrics": "cmd/tempo/app/config.go Config",
    "storage.trace.backend": "tempodb/config.go Config",
    "storage.trace.local.path": "tempodb/backend/local/config.go Config",
    "metrics_generator.registry.external_labels": "modules/generator/registry/config.go Config",
    "metrics_generator.storage.remote_write": "modules/generator/storage/config.go Config",
    "overrides.defaults.metrics_generator.processors": "modules/overrides/config.go MetricsGeneratorOverrides",
    "distributor.receivers": "modules/distributor/config.go Config (map checked by the OTel receivers)",
}
TEMPO_OMITTED_BY_TAG = {
    "v3.0.3": {"span_profiling": "cmd/tempo/app/config.go Config",
               "metrics_generator_client": "cmd/tempo/app/config.go Config (map[string]any, deprecated)"},
    "v2.10.8": {"partition_ring_live_store": "cmd/tempo/app/config.go Config"},
}


def tempo(repo: str) -> None:
    for tag in ("v3.0.3", "v2.10.8"):
        manifest = git_show(repo, tag, "docs/sources/tempo/configuration/manifest.md")
        block = manifest.split("```yaml\n", 1)[1].split("\n```", 1)[0]
        tree = yaml_to_tree(yaml.safe_load(block))
        omitted = {**TEMPO_OMITTED, **TEMPO_OMITTED_BY_TAG[tag]}
        for dotted in omitted:
            set_path(tree, dotted)
        write("tempo", tag.lstrip("v"), {
            "component": f"Tempo {tag.lstrip('v')}",
            "sources": [
                f"grafana/tempo {tag} docs/sources/tempo/configuration/manifest.md (generated from the "
                "default config by pkg/docsgen/generate_manifest.go)",
                *(f"grafana/tempo {tag} {where}: {key}" for key, where in sorted(omitted.items())),
            ],
            "keys": tree,
        })


# --- Loki: the generated configuration reference ------------------------------------------------

_ENTRY = re.compile(r"^(\s*)\[(\w+): <([^>]+)>")
_OPENER = re.compile(r"^(\s*)(\w+):\s*$")
_LIST_OF_BLOCK = re.compile(r"^(\s*)-?\s*\[<(\w+)>\]")


def loki_sections(doc: str) -> dict[str, list[str]]:
    """``### name`` section -> the lines of its yaml block; the root is ``loki.yaml``."""
    sections: dict[str, list[str]] = {}
    for part in re.split(r"^### ", doc, flags=re.M)[1:]:
        title, _nl, rest = part.partition("\n")
        name = "loki.yaml" if "loki.yaml" in title else title.strip()
        if "```yaml\n" in rest:
            sections[name] = rest.split("```yaml\n", 1)[1].split("\n```", 1)[0].splitlines()
    return sections


def block_name(kind: str, sections: dict[str, list[str]]) -> str | None:
    kind = kind.removeprefix("list of ").strip()
    for candidate in (kind, kind.rstrip("s"), kind.removesuffix("s")):
        if candidate in sections:
            return candidate
    return None


def loki_block(name: str, sections: dict[str, list[str]], seen: tuple[str, ...] = ()) -> Tree:
    tree: Tree = {}
    stack: list[tuple[int, Tree]] = [(-1, tree)]
    for line in sections[name]:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        while stack[-1][0] >= indent:
            stack.pop()
        node = stack[-1][1]
        entry, opener = _ENTRY.match(line), _OPENER.match(line)
        if entry:
            ref = block_name(entry.group(3), sections)
            node[entry.group(2)] = (loki_block(ref, sections, (*seen, name))
                                    if ref and ref not in seen else None)
        elif opener:
            child: Tree = {}
            node[opener.group(2)] = child
            stack.append((indent, child))
    return {k: (v or None) for k, v in tree.items()}


def loki_flags(doc: str) -> list[str]:
    return sorted(set(re.findall(r"# CLI flag: -([\w.\-]+)", doc)))


# Flags of cmd/loki/main.go and pkg/loki/loki.go (Config.RegisterFlags), not under any config key.
LOKI_MAIN_FLAGS = ["config.file", "config.expand-env", "print-config-stderr", "log-config-reverse-order",
                   "verify-config", "version", "health", "list-targets", "log.level", "log.format"]


def loki(repo: str, tag: str = "v3.7.6") -> None:
    doc = git_show(repo, tag, "docs/sources/shared/configuration.md")
    sections = loki_sections(doc)
    write("loki", tag.lstrip("v"), {
        "component": f"Loki {tag.lstrip('v')}",
        "sources": [f"grafana/loki {tag} docs/sources/shared/configuration.md (generated from the config structs "
                    "by tools/doc-generator)", f"grafana/loki {tag} cmd/loki/main.go (flags outside the config)"],
        "keys": loki_block("loki.yaml", sections),
        "flags": sorted(set(loki_flags(doc)) | set(LOKI_MAIN_FLAGS)),
    })


# --- Promtail: its config structs (the docs are hand-written and incomplete) ---------------------

def promtail(repo: str, tag: str = "v3.6.11") -> None:
    def keys(path: str, struct: str) -> list[str]:
        return struct_keys(git_show(repo, tag, path), struct)

    vendor = "vendor/github.com/prometheus"
    http_client = keys_tree(keys(f"{vendor}/common/config/http_config.go", "HTTPClientConfig")
                            + keys(f"{vendor}/common/config/http_config.go", "ProxyConfig"))
    server = merge(loki_block("server", loki_sections(git_show(repo, tag, "docs/sources/shared/configuration.md"))),
                   keys_tree(keys("clients/pkg/promtail/server/server.go", "Config")))
    client = merge(keys_tree(keys("clients/pkg/promtail/client/config.go", "Config")), http_client)
    client["backoff_config"] = keys_tree(keys("vendor/github.com/grafana/dskit/backoff/backoff.go", "Config"))
    scrape = merge(keys_tree(keys("clients/pkg/promtail/scrapeconfig/scrapeconfig.go", "Config")),
                   keys_tree(keys("clients/pkg/promtail/scrapeconfig/scrapeconfig.go", "ServiceDiscoveryConfig")))
    scrape["relabel_configs"] = keys_tree(keys(f"{vendor}/prometheus/model/relabel/relabel.go", "Config"))
    scrape["docker_sd_configs"] = merge(keys_tree(keys(f"{vendor}/prometheus/discovery/moby/docker.go",
                                                       "DockerSDConfig")), http_client)
    # targetgroup.Group has a custom UnmarshalYAML that reads exactly these two keys.
    scrape["static_configs"] = {"targets": None, "labels": None}
    tree = keys_tree(keys("clients/pkg/promtail/config/config.go", "Config"))
    tree.update({
        "server": server, "clients": client, "client": client,
        "positions": keys_tree(keys("clients/pkg/promtail/positions/positions.go", "Config")),
        "scrape_configs": scrape,
    })
    write("promtail", tag.lstrip("v"), {
        "component": f"Promtail {tag.lstrip('v')}",
        "sources": [
            *(f"grafana/loki {tag} {p}" for p in (
                "clients/pkg/promtail/config/config.go Config", "clients/pkg/promtail/server/server.go Config",
                "docs/sources/shared/configuration.md server block (dskit server.Config, inlined)",
                "clients/pkg/promtail/client/config.go Config", "vendor/github.com/grafana/dskit/backoff/backoff.go",
                "clients/pkg/promtail/positions/positions.go Config",
                "clients/pkg/promtail/scrapeconfig/scrapeconfig.go Config, ServiceDiscoveryConfig",
                f"{vendor}/common/config/http_config.go HTTPClientConfig, ProxyConfig",
                f"{vendor}/prometheus/model/relabel/relabel.go Config",
                f"{vendor}/prometheus/discovery/moby/docker.go DockerSDConfig",
                f"{vendor}/prometheus/discovery/targetgroup/targetgroup.go Group.UnmarshalYAML")),
            "Blocks below the ones named here (pipeline stages, journal, syslog, ...) are not checked.",
        ],
        "keys": tree,
    })


# --- cAdvisor and influxd: flags ---------------------------------------------------------------

_GO_FLAG = re.compile(r"\bflag\.(?:String|Bool|Int|Int64|Uint|Uint64|Float64|Duration)\(\s*\"([\w.\-]+)\"")
_GO_FLAG_VAR = re.compile(r"\bflag\.(?:\w+Var|Var)\([^,]+,\s*\"([\w.\-]+)\"")
# k8s.io/klog/v2 v2.130.1 (cadvisor v0.60.5 cmd/go.mod) klog.go InitFlags.
KLOG_FLAGS = ["log_dir", "log_file", "log_file_max_size", "logtostderr", "alsologtostderr", "v", "add_dir_header",
              "skip_headers", "skip_log_headers", "one_output", "stderrthreshold", "vmodule", "log_backtrace_at"]


def cadvisor(repo: str, tag: str = "v0.60.5") -> None:
    files = subprocess.run(["git", "-C", repo, "ls-tree", "-r", "--name-only", tag], check=True,
                           capture_output=True, text=True).stdout.split()
    go_files = [f for f in files if f.endswith(".go") and not f.endswith("_test.go")
                and not f.startswith(("vendor/", "integration/", "docs/"))]
    flags: set[str] = set()
    for path in go_files:
        text = git_show(repo, tag, path)
        flags.update(_GO_FLAG.findall(text))
        flags.update(_GO_FLAG_VAR.findall(text))
    write("cadvisor", tag.lstrip("v"), {
        "component": f"cAdvisor {tag}",
        "sources": [f"google/cadvisor {tag} every non-test .go file outside vendor/ and integration/ "
                    "(flag.String/Bool/Int/Duration/...Var calls)",
                    "k8s.io/klog/v2 v2.130.1 (google/cadvisor v0.60.5 cmd/go.mod) klog.go InitFlags"],
        "flags": sorted(flags | set(KLOG_FLAGS)),
    })


def influxdb(repo: str, tag: str = "v2.9.1") -> None:
    cmd = git_show(repo, tag, "cmd/influxd/launcher/cmd.go")
    flags = sorted(set(re.findall(r"Flag:\s*\"([\w.\-]+)\"", cmd)))
    write("influxdb", tag.lstrip("v"), {
        "component": f"InfluxDB {tag}",
        "sources": [f"influxdata/influxdb {tag} cmd/influxd/launcher/cmd.go (launcher options)",
                    f"influxdata/influxdb {tag} kit/cli/viper.go (config file read by viper; only these "
                    "options are looked up, other keys are ignored)"],
        "flags": flags,
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("tempo", "loki", "cadvisor", "influxdb"):
        parser.add_argument(f"--{name}", help=f"git directory of upstream {name}")
    args = parser.parse_args()
    if args.tempo:
        tempo(args.tempo)
    if args.loki:
        loki(args.loki)
        promtail(args.loki)
    if args.cadvisor:
        cadvisor(args.cadvisor)
    if args.influxdb:
        influxdb(args.influxdb)


if __name__ == "__main__":
    main()
