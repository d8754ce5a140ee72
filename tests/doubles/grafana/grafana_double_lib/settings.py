"""Grafana settings as the real server reads them: grafana.ini, then GF_<SECTION>_<KEY> variables.

Only the keys the double uses are looked at. Like Grafana, values may reference `$__env{VAR}`,
`$__file{path}` or `${VAR}`, and (as the upstream image's run.sh does) `GF_..._FILE`/`__FILE`
variables name a file holding the value.
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit, urlunsplit

DEFAULTS: dict[tuple[str, str], str] = {
    ("server", "http_addr"): "",
    ("server", "http_port"): "3000",
    # pkg/setting/setting.go readServerSettings: protocol http (default), https, h2 or socket; https reads
    # cert_file and cert_key (conf/defaults.ini leaves both empty).
    ("server", "protocol"): "http",
    ("server", "cert_file"): "",
    ("server", "cert_key"): "",
    ("paths", "data"): "/var/lib/grafana",
    ("paths", "provisioning"): "/etc/grafana/provisioning",
    ("security", "admin_user"): "admin",
    ("security", "admin_password"): "admin",
    ("security", "admin_email"): "admin@localhost",
    ("database", "type"): "sqlite3",
    ("database", "host"): "127.0.0.1:3306",
    ("database", "name"): "grafana",
    ("database", "user"): "root",
    ("database", "password"): "",
    ("database", "url"): "",
    ("database", "path"): "grafana.db",
    ("remote_cache", "type"): "database",
    ("remote_cache", "connstr"): "",
    ("auth.anonymous", "enabled"): "false",
    ("auth.anonymous", "hide_version"): "false",
    ("users", "allow_sign_up"): "false",
    ("log", "level"): "info",
    # Session login (conf/defaults.ini [auth] and [security]; read by pkg/setting/setting.go readAuthSettings and
    # readSecuritySettings). grafana_double_lib/sessions.py uses them.
    ("server", "root_url"): "",
    ("auth", "login_cookie_name"): "grafana_session",
    ("auth", "disable_login_form"): "false",
    ("auth", "login_maximum_inactive_lifetime_duration"): "",
    ("auth", "login_maximum_lifetime_duration"): "",
    ("auth", "token_rotation_interval_minutes"): "10",
    ("security", "secret_key"): "SW2YcwTIb9zpOOhoPsMm",
    ("security", "cookie_secure"): "false",
    ("security", "cookie_samesite"): "lax",
    ("security", "csrf_trusted_origins"): "",
    ("security", "csrf_additional_headers"): "",
    ("security", "csrf_always_check"): "false",
}

_ENV_REF = re.compile(r"\$__env\{([^}]+)\}|\$\{([^}]+)\}")
_FILE_REF = re.compile(r"\$__file\{([^}]+)\}")


def env_key(section: str, key: str) -> str:
    """Grafana's pkg/setting EnvKey: GF_<SECTION>_<KEY>, '.' and '-' of the section and '.' of the key as '_'."""
    return "GF_" + re.sub(r"[.\-]", "_", section).upper() + "_" + key.replace(".", "_").upper()


# Grafana's pkg/setting RedactedValue (setting.go): a value whose GF_<SECTION>_<KEY> name matches one of these
# patterns is reported as RedactedPassword by GET /api/admin/settings (pkg/setting/provider.go, OSSImpl.Current).
REDACTED_PASSWORD = "*********"
_REDACTED_KEYS = [re.compile(p) for p in (
    "PASSWORD", "SECRET", "PROVIDER_CONFIG", "PRIVATE_KEY", "SECRET_KEY", "CERTIFICATE", "ACCOUNT_KEY",
    "ENCRYPTION_KEY", "VAULT_TOKEN", "CLIENT_SECRET", "ENTERPRISE_LICENSE", "API_DB_PASS", "^TOKEN$",
    "ID_FORWARDING_TOKEN$", "AUTHENTICATION_TOKEN$", "AUTH_TOKEN$", "RENDERER_TOKEN$", "API_TOKEN$",
    "WEBHOOK_TOKEN$", "INSTALL_TOKEN$")]
_NOT_REDACTED = ("RUDDERSTACK", "APPLICATION_INSIGHTS", "SENTRY")


def _redacted_url(value: str) -> str | None:
    """Grafana's RedactedURL: each URL of a list (split on commas and spaces) loses the password of its user info
    (Go's url.URL.Redacted writes "xxxxx"); None where Go's url.Parse would fail, and Grafana keeps the value."""
    chunks = re.split(r"[, ]+", value)
    for index, chunk in enumerate(chunks):
        with_scheme = chunk if "://" in chunk else "http://" + chunk
        try:
            parsed = urlsplit(with_scheme)
            if parsed.port is not None and not 0 <= parsed.port <= 65535:
                return None
        except ValueError:
            return None
        if parsed.password is not None:
            netloc = f"{parsed.username or ''}:xxxxx@{parsed.netloc.rsplit('@', 1)[1]}"
            with_scheme = urlunsplit(parsed._replace(netloc=netloc))
            chunk = with_scheme if "://" in chunk else with_scheme[len("http://"):]
        chunks[index] = chunk
    return ",".join(chunks) if "," in value else " ".join(chunks)


def redacted_value(name: str, value: str) -> str:
    """What GET /api/admin/settings shows for a value whose GF_ name is `name` (Grafana's RedactedValue)."""
    if value == "":
        return ""
    upper = name.upper()
    if any(pattern.search(upper) for pattern in _REDACTED_KEYS):
        return REDACTED_PASSWORD
    if any(word in upper for word in _NOT_REDACTED):
        return value
    redacted = _redacted_url(value)
    return value if redacted is None else redacted


class StartupError(Exception):
    """Something that stops Grafana (and the double) from starting."""


class SettingsError(StartupError):
    """A setting Grafana could not resolve at start (e.g. a missing $__file{...})."""


def _read_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from exc


def _expand(value: str, environ: Mapping[str, str]) -> str:
    value = _FILE_REF.sub(lambda m: _read_file(m.group(1)), value)
    return _ENV_REF.sub(lambda m: environ.get(m.group(1) or m.group(2), ""), value)


@dataclass
class Settings:
    """Resolved settings; `get` answers like Grafana's cfg for the keys in DEFAULTS."""

    values: dict[tuple[str, str], str]
    config_file: Path | None

    def get(self, section: str, key: str) -> str:
        return self.values.get((section, key), DEFAULTS.get((section, key), ""))

    def bag(self) -> dict[str, dict[str, str]]:
        """Every section and key the double holds (its DEFAULTS, grafana.ini, GF_ variables), redacted as Grafana's
        GET /api/admin/settings reports them. Unknown sections and keys are kept and reported, never refused:
        Grafana itself starts with them (its ini loader copies every key of grafana.ini over defaults.ini)."""
        bag: dict[str, dict[str, str]] = {}
        for (section, key), value in self.values.items():
            bag.setdefault(section, {})[key] = redacted_value(env_key(section, key), value)
        return bag

    def flag(self, section: str, key: str) -> bool:
        return self.get(section, key).strip().lower() in ("true", "1", "yes", "on")


def database_key(settings: Settings, data_dir: Path | None = None) -> str:
    """Which database these settings point Grafana at; two processes share data only when their keys match.

    SQLite is a file under `[paths] data` (`[database] path`, default grafana.db); the other types are named by
    their url, or by type, host and database name.
    """
    kind = settings.get("database", "type").strip().lower() or "sqlite3"
    if kind == "sqlite3":
        path = Path(settings.get("database", "path") or "grafana.db")
        if not path.is_absolute():
            path = (data_dir or Path(settings.get("paths", "data"))) / path
        return f"sqlite3:{path.resolve()}"
    if settings.get("database", "url"):
        return settings.get("database", "url")
    return f"{kind}://{settings.get('database', 'host')}/{settings.get('database', 'name')}"


def load_settings(config_file: Path | None, environ: Mapping[str, str]) -> Settings:
    values = dict(DEFAULTS)
    used_file = None
    if config_file is not None and config_file.is_file():
        parser = configparser.ConfigParser(
            interpolation=None,
            comment_prefixes=(";", "#"),
            inline_comment_prefixes=None,
            strict=False,
        )
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case, as in go-ini
        parser.read(config_file, encoding="utf-8")
        for section in parser.sections():
            for key, raw in parser.items(section):
                values[(section, key)] = _expand(raw.strip().strip('"'), environ)
        used_file = config_file
    # Grafana applies GF_<SECTION>_<KEY> to every key of defaults.ini and grafana.ini (applyEnvVariableOverrides).
    for section, key in list(values):
        name = env_key(section, key)
        for file_var in (name + "__FILE", name + "_FILE"):
            if environ.get(file_var):
                values[(section, key)] = _read_file(environ[file_var])
        if name in environ:
            values[(section, key)] = _expand(environ[name], environ)
    return Settings(values=values, config_file=used_file)
