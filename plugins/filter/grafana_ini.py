# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""grafana.ini from data: the role's own settings merged with grafana_ini_sections and grafana_ini_secrets, and the
one-line problems that stop a run before anything changes."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: grafana_ini_problems
author:
  - data2ai training team (@data2ai)
short_description: One line per setting of grafana_ini_sections or grafana_ini_secrets that the role refuses
version_added: 1.1.0
description:
  - Takes grafana_ini_sections (section, key, value) and returns one line per problem, never a secret's value.
  - Refuses a section or key that Grafana's conf/defaults.ini does not define (the list in the collection's
    module_utils/grafana_ini_keys.py), except in sections whose keys are free-form and for keys named in
    C(extra_keys).
  - Refuses a protected key (C(protected)) unless C(override_protected) names it.
  - Refuses a plain value for a key Grafana treats as a secret (its RedactedValue patterns, plus keys ending in
    token); such values belong in grafana_ini_secrets. A C($__file{}), C($__env{}) or C($__vault{}) reference is
    not a value and is accepted.
  - Refuses a key set in both mappings, a value that is a list or mapping, a line break in a value, and names
    with characters other than letters, digits, C(.), C(_) and C(-).
options:
  _input:
    description: grafana_ini_sections, section to key to value.
    type: dict
    required: true
  secrets:
    description: grafana_ini_secrets, section to key to secret value (only the names are read).
    type: dict
    default: {}
  protected:
    description: The protected keys, as C(section.key).
    type: list
    elements: str
    default: []
  override_protected:
    description: The protected keys the instructor overrides on purpose, as C(section.key).
    type: list
    elements: str
    default: []
  extra_keys:
    description: Keys Grafana has that the list of defaults.ini lacks, named on purpose, as C(section.key).
    type: list
    elements: str
    default: []
  ldap_toml:
    description: grafana_ldap_toml; a bind_password in clear is refused.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Stop on the first problem of the Grafana settings
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('; ') }}"
  vars:
    problems: >-
      {{ grafana_ini_sections | data2ai.grafana_stack.grafana_ini_problems(grafana_ini_secrets,
         grafana_ini_protected_keys, grafana_ini_override_protected, grafana_ini_extra_keys,
         grafana_ldap_toml) }}
"""

RETURN = r"""
_value:
  description: The problems, one line each.
  type: list
  elements: str
"""

import re  # noqa: E402
from collections.abc import Mapping  # noqa: E402
from typing import Any  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils import grafana_ini_keys  # noqa: E402

# ldap.toml's bind_password with a value that is not a $__file{}/$__env{} reference (Grafana expands those in
# ldap.toml: pkg/services/ldap/settings.go runs setting.ExpandVar over the whole file before decoding it).
CLEAR_BIND_PASSWORD = re.compile(r"""^\s*bind_password\s*=\s*["']?(?!\$__(file|env|vault)\{)[^\s"']""", re.MULTILINE)
NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
REFERENCE = re.compile(r"^\$__(file|env|vault)\{[^}]+\}$")
# Grafana's pkg/setting RedactedValue patterns (matched against the GF_<SECTION>_<KEY> name), which mark the values
# /api/admin/settings hides; plus any key ending in TOKEN, which Grafana's list names one by one.
SECRET_PATTERNS = [re.compile(pattern) for pattern in (
    "PASSWORD", "SECRET", "PROVIDER_CONFIG", "PRIVATE_KEY", "SECRET_KEY", "CERTIFICATE", "ACCOUNT_KEY",
    "ENCRYPTION_KEY", "VAULT_TOKEN", "CLIENT_SECRET", "ENTERPRISE_LICENSE", "API_DB_PASS", "TOKEN$")]


def env_key(section: str, key: str) -> str:
    """Grafana's setting.EnvKey: GF_<SECTION>_<KEY>, upper case, with . and - as _."""
    return "GF_" + re.sub(r"[.-]", "_", section).upper() + "_" + key.replace(".", "_").upper()


def is_secret_key(section: str, key: str) -> bool:
    name = env_key(section, key)
    return any(pattern.search(name) for pattern in SECRET_PATTERNS)


def known_key(section: str, key: str, extra_keys: list[str]) -> str | None:
    """None when Grafana knows section.key; otherwise what is unknown, for the message."""
    if f"{section}.{key}" in extra_keys:
        return None
    if section in grafana_ini_keys.FREE_FORM_SECTIONS or section.startswith(tuple(grafana_ini_keys.FREE_FORM_PREFIXES)):
        return None
    if section not in grafana_ini_keys.SECTIONS:
        if any(name.startswith(section + ".") for name in extra_keys):
            return None
        return f"unknown section [{section}]"
    if key not in grafana_ini_keys.SECTIONS[section]:
        return f"unknown key '{key}' in [{section}]"
    return None


def ini_value(value: Any) -> str:
    """A value as grafana.ini holds it: booleans in lower case; # or ; (comment characters for Grafana's ini parser)
    inside triple quotes, which Grafana documents for passwords."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = "" if value is None else str(value)
    if ("#" in text or ";" in text) and not REFERENCE.match(text):
        return f'"""{text}"""'
    return text


def _mapping(value: Any, name: str) -> Mapping:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise AnsibleFilterError(f"{name} must be a mapping of section to key to value")
    return value


def grafana_ini_problems(sections: Any, secrets: Any = None, protected: list[str] | None = None,
                         override_protected: list[str] | None = None,
                         extra_keys: list[str] | None = None, ldap_toml: str = "") -> list[str]:
    protected, override_protected = list(protected or []), list(override_protected or [])
    extra_keys = list(extra_keys or [])
    problems: list[str] = []
    entries = []
    for source, mapping in (("grafana_ini_sections", sections), ("grafana_ini_secrets", secrets)):
        for section, keys in _mapping(mapping, source).items():
            section = str(section)
            if not isinstance(keys, Mapping):
                problems.append(f"{source}[{section}]: must be a mapping of key to value")
                continue
            for key, value in keys.items():
                entries.append((source, section, str(key), value))
    seen: dict[tuple[str, str], str] = {}
    for source, section, key, value in entries:
        where = f"{source}: {section}.{key}"
        if not NAME.match(section) or not NAME.match(key):
            problems.append(f"{where}: a section or key name holds only letters, digits, '.', '_' and '-'")
            continue
        if (section, key) in seen:
            problems.append(f"{where}: set in both grafana_ini_sections and grafana_ini_secrets; keep one")
        seen[(section, key)] = source
        unknown = known_key(section, key, extra_keys)
        if unknown:
            problems.append(f"{where}: {unknown} of Grafana's defaults.ini (a typo? a key Grafana has that the "
                            f"list lacks goes in grafana_ini_extra_keys)")
        name = f"{section}.{key}"
        if name in protected and name not in override_protected:
            problems.append(f"{where}: protected, the role sets it for docs/security.md; name it in "
                            f"grafana_ini_override_protected to override it on purpose")
        if isinstance(value, (Mapping, list, tuple, set)):
            problems.append(f"{where}: the value must be a string, number or boolean")
        elif "\n" in ini_value(value) or "\r" in ini_value(value):
            problems.append(f"{where}: the value must be one line")
        elif source == "grafana_ini_sections" and is_secret_key(section, key) and ini_value(value) \
                and not REFERENCE.match(ini_value(value)):
            problems.append(f"{where}: a secret is never written in clear; set it in grafana_ini_secrets "
                            f"(written to a file and read through $__file{{}})")
    if CLEAR_BIND_PASSWORD.search(str(ldap_toml or "")):
        problems.append("grafana_ldap_toml: bind_password is written in clear; write bind_password = "
                        "'$__file{/etc/grafana/secrets/ldap_bind_password}' and set grafana_ldap_bind_password")
    for name in override_protected:
        if name not in protected:
            problems.append(f"grafana_ini_override_protected: {name} is not a protected key")
    return problems


def grafana_ini_secret_files(secrets: Any) -> list[dict[str, str]]:
    """One entry per secret: the file name under Grafana's secrets directory, the section, key and value as it is
    (Grafana's $__file{} reads the file as it is, trimmed, with no ini quoting)."""
    return [{"file": f"ini.{section}.{key}", "section": str(section), "key": str(key),
             "value": ini_value(value) if isinstance(value, bool) else str(value)}
            for section, keys in _mapping(secrets, "grafana_ini_secrets").items()
            for key, value in (keys or {}).items()]


def grafana_ini_merge(role_sections: Any, sections: Any = None, secrets: Any = None,
                      secrets_dir: str = "/etc/grafana/secrets") -> dict[str, dict[str, str]]:
    """The role's own settings, then grafana_ini_sections over them (the instructor's value wins), then each secret
    as a $__file{} reference to its file. Values come out as grafana.ini strings; the DEFAULT section first."""
    merged: dict[str, dict[str, str]] = {}
    for mapping, name in ((role_sections, "the role's settings"), (sections, "grafana_ini_sections")):
        for section, keys in _mapping(mapping, name).items():
            target = merged.setdefault(str(section), {})
            for key, value in (keys or {}).items():
                target[str(key)] = ini_value(value)
    for entry in grafana_ini_secret_files(secrets):
        merged.setdefault(entry["section"], {})[entry["key"]] = f"$__file{{{secrets_dir}/{entry['file']}}}"
    if "DEFAULT" in merged:
        merged = {"DEFAULT": merged.pop("DEFAULT"), **merged}
    return merged


class FilterModule:
    def filters(self) -> dict:
        return {
            "grafana_ini_problems": grafana_ini_problems,
            "grafana_ini_merge": grafana_ini_merge,
            "grafana_ini_secret_files": grafana_ini_secret_files,
        }
