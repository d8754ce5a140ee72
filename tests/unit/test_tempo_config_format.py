"""The tempo role renders Tempo's 2.10 or 3.x configuration format, picked by the filters in
plugins/filter/tempo.py from the image tag or the tempo_config_format override."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from role_rendering import REPO_ROOT, render_role_template


def _load_filters() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tempo_filters", REPO_ROOT / "plugins" / "filter" / "tempo.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


filters = _load_filters()


@pytest.mark.parametrize(("image", "expected"), [
    ("grafana/tempo:3.0.3", 3),
    ("grafana/tempo:2.10.8", 2),
    ("grafana/tempo:v2.10.8", 2),
    ("registry.example.invalid:5000/mirror/tempo:2.10.8", 2),
    ("grafana/tempo:3.1.0-rc.1", 3),
    ("grafana/tempo:4.0.0", 3),
    ("grafana/tempo:latest", 3),
    ("grafana/tempo", 3),
    ("data2ai-test/tempo-double:local", 3),
    ("grafana/tempo@sha256:" + "0" * 64, 3),
])
def test_config_format_follows_the_image_tag(image: str, expected: int):
    assert filters.tempo_config_format(image) == expected


@pytest.mark.parametrize(("override", "expected"), [("2", 2), (2, 2), ("3", 3), ("auto", 3), ("", 3)])
def test_explicit_config_format_wins_over_the_tag(override: Any, expected: int):
    assert filters.tempo_config_format("grafana/tempo:3.0.3" if expected == 2 else "grafana/tempo:latest",
                                       override) == expected


def test_unknown_config_format_is_refused():
    with pytest.raises(AnsibleFilterError, match="must be auto, 2 or 3"):
        filters.tempo_config_format("grafana/tempo:3.0.3", "4")


def test_tempo_1_is_refused():
    with pytest.raises(AnsibleFilterError, match="not supported"):
        filters.tempo_config_format("grafana/tempo:1.5.0")


def test_local_blocks_is_added_for_2_and_removed_for_3():
    chosen = ["service-graphs", "span-metrics", "local-blocks"]
    assert filters.tempo_generator_processors(chosen, 2) == ["service-graphs", "span-metrics", "local-blocks"]
    assert filters.tempo_generator_processors(["span-metrics"], "2") == ["span-metrics", "local-blocks"]
    assert filters.tempo_generator_processors(chosen, 3) == ["service-graphs", "span-metrics"]


# --- the rendered configuration --------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = {}
    for name, settings in {"3": {}, "2": {"tempo_image": "grafana/tempo:2.10.8"}}.items():
        text = render_role_template("tempo", "tempo.yaml.j2", tmp_path_factory.mktemp(f"tempo{name}"), settings)
        out[name] = yaml.safe_load(text)
    return out


def test_default_image_renders_the_3x_format(rendered: dict[str, dict[str, Any]]):
    config = rendered["3"]
    for removed in ("ingester", "ingester_client", "compactor", "metrics_generator_client"):
        assert removed not in config
    assert config["backend_worker"]["compaction"]["block_retention"] == "720h"
    assert "traces_storage" not in config["metrics_generator"]
    assert "local_blocks" not in config["metrics_generator"].get("processor", {})
    assert config["overrides"]["defaults"]["metrics_generator"]["processors"] == ["service-graphs", "span-metrics"]


def test_2_10_image_renders_the_2_10_format_with_local_blocks(rendered: dict[str, dict[str, Any]]):
    config = rendered["2"]
    assert config["compactor"]["compaction"]["block_retention"] == "720h"
    assert "backend_worker" not in config
    assert config["metrics_generator"]["traces_storage"]["path"] == "/var/tempo/generator/traces"
    assert config["overrides"]["defaults"]["metrics_generator"]["processors"] == [
        "service-graphs", "span-metrics", "local-blocks"]


@pytest.mark.parametrize("fmt", ["2", "3"])
def test_every_receiver_binds_all_addresses_and_opencensus_is_absent(rendered: dict[str, dict[str, Any]], fmt: str):
    receivers = rendered[fmt]["distributor"]["receivers"]
    assert "opencensus" not in receivers
    assert receivers["zipkin"]["endpoint"].startswith("0.0.0.0:")
    for receiver in ("otlp", "jaeger"):
        for protocol in receivers[receiver]["protocols"].values():
            assert protocol["endpoint"].startswith("0.0.0.0:")


def test_filter_docs_exist_for_each_filter():
    for name in filters.FilterModule().filters():
        assert (Path(filters.__file__).parent / f"{name}.yml").is_file()
