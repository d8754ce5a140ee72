"""Go-style flags, YAML config files, durations and endpoints for the TEST DOUBLES.

The real components are Go programs: they take ``-config.file=/path`` style flags
(one or two dashes, ``=value`` or a separate value) and read YAML. Durations use the
Go/Prometheus syntax (``15s``, ``744h``, ``30d``, ``1h30m``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml


class ConfigError(Exception):
    """A configuration the real component would refuse at start."""


def parse_go_flags(argv: Iterable[str], bool_flags: Iterable[str] = ()) -> dict[str, str]:
    """Parse Go ``flag`` package arguments into a dict. Unknown flags are kept, not refused."""
    bools = set(bool_flags)
    args = list(argv)
    flags: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-") or arg in ("-", "--"):
            continue
        name = arg.lstrip("-")
        if "=" in name:
            key, value = name.split("=", 1)
            flags[key] = value
            continue
        if name in bools or i >= len(args) or args[i].startswith("-"):
            flags[name] = "true"
            continue
        flags[name] = args[i]
        i += 1
    return flags


def flag_true(flags: dict[str, str], name: str, default: bool = False) -> bool:
    if name not in flags:
        return default
    return flags[name].lower() in ("1", "t", "true", "yes")


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(text: str) -> str:
    """Expand ``${VAR}`` and ``${VAR:-default}`` like ``-config.expand-env=true`` does."""
    return _ENV_REF.sub(lambda m: os.environ.get(m.group(1)) or (m.group(2) or ""), text)


def read_config_text(path: str | os.PathLike[str], expand: bool = False) -> str:
    """The text of a config file, with ``${VAR}`` expanded when asked; a missing file is a ConfigError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"failed parsing config: {exc}") from exc
    return expand_env(text) if expand else text


def parse_yaml_config(text: str, path: str | os.PathLike[str]) -> dict[str, Any]:
    """A YAML config document as a dict; malformed YAML or a non-mapping top level is a ConfigError."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"failed parsing config: {path}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"failed parsing config: {path}: top level is not a mapping")
    return data


def load_yaml_config(path: str | os.PathLike[str], expand: bool = False) -> dict[str, Any]:
    """Load a YAML config file; a missing or malformed file is a ConfigError."""
    return parse_yaml_config(read_config_text(path, expand), path)


def dig(config: Any, dotted: str, default: Any = None) -> Any:
    """``dig(cfg, "server.http_listen_port", 3100)``; None values count as missing."""
    node = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or node.get(part) is None:
            return default
        node = node[part]
    return node


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
    "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0,
}


def parse_duration(value: Any) -> float:
    """Go/Prometheus duration to seconds. Plain numbers are seconds; ``0`` is zero."""
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    if text in ("0", ""):
        return 0.0
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ConfigError(f'time: invalid duration "{value}"')
    return sign * total


def format_duration(seconds: float) -> str:
    """Seconds to the Go ``time.Duration`` string form (``15s``, ``744h0m0s``)."""
    seconds = float(seconds)
    if seconds == 0:
        return "0s"
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    frac = seconds - int(seconds)
    sec_text = f"{secs + frac:g}s"
    if hours:
        return f"{hours}h{minutes}m{sec_text}"
    if minutes:
        return f"{minutes}m{sec_text}"
    return sec_text


def split_endpoint(endpoint: str | None, default_host: str, default_port: int) -> tuple[str, int, bool]:
    """``"0.0.0.0:4318"`` -> (host, port, host_was_explicit). ``":4318"`` binds every address."""
    if not endpoint:
        return default_host, default_port, False
    text = str(endpoint)
    host, _sep, port_text = text.rpartition(":")
    if not _sep:
        return text, default_port, True
    host = host.strip("[]")
    port = int(port_text) if port_text else default_port
    if host == "":
        return "0.0.0.0", port, True
    if host == "localhost":
        return "127.0.0.1", port, True
    return host, port, True
