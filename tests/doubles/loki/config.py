"""Config loading and start-time validation of the Loki TEST DOUBLE.

Reads the same YAML as ``loki -config.file=...`` and refuses, like Loki 3.x does at
start, the mistakes the collection could make in the settings it uses.
"""

from __future__ import annotations

import copy
import re
from datetime import date
from typing import Any

from common.config import ConfigError, dig, parse_duration

# The Loki version the double mimics; its config keys and flags are in upstream/<UPSTREAM_VERSION>.json.
UPSTREAM_VERSION = "3.7.6"
VERSION = f"{UPSTREAM_VERSION}-double"

DEFAULTS: dict[str, Any] = {
    "target": "all",
    "auth_enabled": True,
    "server": {"http_listen_address": "", "http_listen_port": 3100, "grpc_listen_port": 9095, "log_level": "info"},
    "ingester": {"lifecycler": {"min_ready_duration": "15s"}},
    "limits_config": {
        "retention_period": "0s",
        "reject_old_samples": True,
        "reject_old_samples_max_age": "1w",
        "creation_grace_period": "10m",
        "max_label_names_per_series": 15,
        "max_entries_limit_per_query": 5000,
        "allow_structured_metadata": True,
    },
    "compactor": {"retention_enabled": False, "compaction_interval": "10m", "delete_request_store": ""},
}

_SCHEMA_VERSION = re.compile(r"^v(\d+)$")


def merge(base: Any, override: Any) -> Any:
    """Deep-merge ``override`` into a copy of ``base`` (override wins)."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    out = copy.deepcopy(base)
    for key, value in override.items():
        out[key] = merge(out[key], value) if key in out and value is not None else copy.deepcopy(value)
    return out


def effective(config: dict[str, Any]) -> dict[str, Any]:
    return merge(DEFAULTS, config)


def _validate_period(index: int, period: Any, allow_sm: bool) -> None:
    where = f"schema_config.configs[{index}]"
    if not isinstance(period, dict):
        raise ConfigError(f"invalid schema config: {where} is not a mapping")
    try:
        date.fromisoformat(str(period.get("from", "")))
    except ValueError as exc:
        raise ConfigError(f"invalid schema config: {where}.from must be a date YYYY-MM-DD: {exc}") from exc
    store = period.get("store")
    schema = str(period.get("schema", ""))
    match = _SCHEMA_VERSION.match(schema)
    if store not in ("tsdb", "boltdb-shipper"):
        raise ConfigError(f"invalid schema config: {where}: index type (store) {store!r} is not supported "
                          "(the test double knows tsdb and boltdb-shipper)")
    if not match or not 1 <= int(match.group(1)) <= 13:
        raise ConfigError(f"invalid schema config: {where}: invalid schema version {schema!r}")
    period_len = parse_duration(dig(period, "index.period", "0s"))
    if store == "tsdb" and period_len != 86400:
        raise ConfigError("invalid schema config: tsdb must always have periodic config for index set to 24h")
    if store == "boltdb-shipper" and period_len != 86400:
        raise ConfigError("invalid schema config: boltdb-shipper works best with 24h periodic index config")
    if allow_sm and int(match.group(1)) < 13:
        raise ConfigError(
            f"CONFIG ERROR: schema v13 is required to store Structured Metadata and use native OTLP ingestion, "
            f"your schema version is {schema}. Set `allow_structured_metadata: false` in the `limits_config` "
            "section or set the command line argument `-validation.allow-structured-metadata=false` and restart Loki."
        )
    if allow_sm and store != "tsdb":
        raise ConfigError(
            f"CONFIG ERROR: `tsdb` index type is required to store Structured Metadata and use native OTLP "
            f"ingestion, your index type is `{store}` (defined in the `store` parameter of the schema_config). "
            "Set `allow_structured_metadata: false` in the `limits_config` section."
        )


def validate(config: dict[str, Any]) -> None:
    """Raise ConfigError with a Loki-like message when Loki would refuse to start."""
    eff = effective(config)
    allow_sm = bool(dig(eff, "limits_config.allow_structured_metadata", True))
    periods = dig(config, "schema_config.configs", [])
    if not isinstance(periods, list) or not periods:
        raise ConfigError("invalid schema config: at least one schema_config.configs period is required")
    for index, period in enumerate(periods):
        _validate_period(index, period, allow_sm and index == len(periods) - 1)
    retention = parse_duration(dig(eff, "limits_config.retention_period", "0s"))
    if 0 < retention < 86400:
        shown = dig(eff, "limits_config.retention_period")
        raise ConfigError(f"invalid limits config: retention period must be >= 24h was {shown}")
    if dig(eff, "compactor.retention_enabled", False) and not dig(eff, "compactor.delete_request_store", ""):
        raise ConfigError(
            "invalid compactor config: compactor.delete-request-store should be configured when retention is enabled"
        )
    for key in ("reject_old_samples_max_age", "creation_grace_period"):
        parse_duration(dig(eff, f"limits_config.{key}", "0s"))
    parse_duration(dig(eff, "compactor.compaction_interval", "10m"))
    port = dig(eff, "server.http_listen_port")
    if not isinstance(port, int) or not 0 <= port < 65536:
        raise ConfigError(f"invalid server config: http_listen_port {port!r}")


def storage_dir(config: dict[str, Any]) -> str:
    """Where the double keeps its data: the filesystem chunks directory Loki would use."""
    for key in ("common.storage.filesystem.chunks_directory", "storage_config.filesystem.directory"):
        value = dig(config, key)
        if value:
            return str(value)
    prefix = dig(config, "common.path_prefix")
    if prefix:
        return f"{str(prefix).rstrip('/')}/chunks"
    raise ConfigError("no filesystem storage directory configured: set common.path_prefix or "
                      "common.storage.filesystem.chunks_directory (the Loki test double stores only on the filesystem)")


def compactor_dir(config: dict[str, Any]) -> str | None:
    value = dig(config, "compactor.working_directory")
    if value:
        return str(value)
    prefix = dig(config, "common.path_prefix")
    return f"{str(prefix).rstrip('/')}/compactor" if prefix else None
