"""Prometheus ``relabel_configs`` semantics, as Promtail and Alloy apply them to discovered targets (TEST
DOUBLES)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

_TEMPLATE = re.compile(r"\$(\$|\{(\w+)\}|(\w+))")


def expand(template: str, match: re.Match[str]) -> str:
    """Go ``regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``."""

    def repl(m: re.Match[str]) -> str:
        if m.group(1) == "$":
            return "$"
        ref = m.group(2) or m.group(3)
        try:
            value = match.group(int(ref)) if ref.isdigit() else match.group(ref)
        except (IndexError, re.error):
            return ""
        return value or ""

    return _TEMPLATE.sub(repl, template)


def _compile(rule: dict[str, Any]) -> re.Pattern[str]:
    return re.compile(f"^(?:{rule.get('regex', '(.*)')})$", re.DOTALL)


def apply(labels: dict[str, str], rules: list[dict[str, Any]] | None) -> dict[str, str] | None:
    """Apply rules in order; None means the target was dropped."""
    out = dict(labels)
    for rule in rules or []:
        action = str(rule.get("action", "replace")).lower()
        regex = _compile(rule)
        separator = str(rule.get("separator", ";"))
        value = separator.join(out.get(name, "") for name in rule.get("source_labels", []) or [])
        if action == "replace":
            match = regex.match(value)
            target = rule.get("target_label")
            if match and target:
                result = expand(str(rule.get("replacement", "$1")), match)
                target = expand(str(target), match)
                if result:
                    out[target] = result
                else:
                    out.pop(target, None)
        elif action == "keep":
            if not regex.match(value):
                return None
        elif action == "drop":
            if regex.match(value):
                return None
        elif action == "labelmap":
            for name, val in list(out.items()):
                match = regex.match(name)
                if match:
                    out[expand(str(rule.get("replacement", "$1")), match)] = val
        elif action == "labeldrop":
            out = {k: v for k, v in out.items() if not regex.match(k)}
        elif action == "labelkeep":
            out = {k: v for k, v in out.items() if regex.match(k)}
        elif action in ("lowercase", "uppercase"):
            out[str(rule["target_label"])] = value.lower() if action == "lowercase" else value.upper()
        elif action == "hashmod":
            digest = hashlib.md5(value.encode(), usedforsecurity=False).digest()
            out[str(rule["target_label"])] = str(int.from_bytes(digest[8:], "big") % int(rule["modulus"]))
        else:
            raise ValueError(f"relabel action {action!r} is not supported by the Promtail test double")
    return out


def public(labels: dict[str, str]) -> dict[str, str]:
    """Labels that reach Loki: everything not starting with ``__``."""
    return {k: v for k, v in labels.items() if not k.startswith("__") and v != ""}
