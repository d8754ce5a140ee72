"""Minimal trace search for the Tempo TEST DOUBLE: logfmt ``tags=`` and a tiny TraceQL subset.

TraceQL supported: ``{}`` and ``{ cond && cond ... }`` where ``cond`` is
``<attr> <op> <value>``; attr is ``resource.x``, ``span.x``, ``.x``, ``name``, ``status``,
``kind`` or ``duration``; op is ``= != =~ !~ > >= < <=``. Everything else is refused.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from common.config import ConfigError, parse_duration

from tempo.otlp import SPAN_KINDS, STATUS_CODES, attrs

_COND = re.compile(
    r"""^\s*(?P<attr>(?:resource|span)?\.[\w.\-]+|name|status|kind|duration)\s*
        (?P<op>=~|!~|!=|>=|<=|=|>|<)\s*(?P<val>"(?:[^"\\]|\\.)*"|[\w.\-]+)\s*$""",
    re.VERBOSE,
)


class SearchError(Exception):
    """A search the double cannot run: HTTP 400."""


def parse_traceql(query: str) -> list[tuple[str, str, Any]]:
    text = query.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise SearchError(f"TraceQL {query!r} is not supported by the Tempo test double (only {{ cond && ... }})")
    inner = text[1:-1].strip()
    if not inner:
        return []
    conditions = []
    for part in re.split(r"&&", inner):
        match = _COND.match(part)
        if not match:
            raise SearchError(f"TraceQL condition {part.strip()!r} is not supported by the Tempo test double")
        raw = match.group("val")
        value: Any = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw
        conditions.append((match.group("attr"), match.group("op"), value))
    return conditions


def parse_tags(text: str) -> list[tuple[str, str, Any]]:
    """logfmt ``service.name=api http.status_code=500`` -> equality conditions."""
    conditions = []
    for item in shlex.split(text):
        key, sep, value = item.partition("=")
        if not sep:
            raise SearchError(f"invalid tags parameter {item!r}: want key=value")
        conditions.append((f".{key}" if key not in ("name", "status", "kind") else key, "=", value))
    return conditions


def span_values(attr: str, resource: dict[str, Any], span: dict[str, Any]) -> list[Any]:
    if attr == "name":
        return [span.get("name", "")]
    if attr == "status":
        code = (span.get("status") or {}).get("code", 0)
        name = STATUS_CODES[code] if isinstance(code, int) and code < 3 else str(code)
        return [name.replace("STATUS_CODE_", "").lower()]
    if attr == "kind":
        kind = span.get("kind", 0)
        name = SPAN_KINDS[kind] if isinstance(kind, int) and kind < 6 else str(kind)
        return [name.replace("SPAN_KIND_", "").lower()]
    if attr == "duration":
        return [(int(span.get("endTimeUnixNano", 0)) - int(span.get("startTimeUnixNano", 0))) / 1e9]
    scope, _sep, key = attr.partition(".")
    span_attrs = attrs(span.get("attributes"))
    if scope == "resource":
        return [resource[key]] if key in resource else []
    if scope == "span":
        return [span_attrs[key]] if key in span_attrs else []
    return [d[key] for d in (span_attrs, resource) if key in d]


def _compare(actual: Any, op: str, wanted: Any, attr: str) -> bool:
    if op in ("=~", "!~"):
        found = re.fullmatch(str(wanted), str(actual)) is not None
        return found if op == "=~" else not found
    if op in (">", ">=", "<", "<="):
        try:
            left = float(actual)
            right = parse_duration(wanted) if attr == "duration" else float(wanted)
        except (TypeError, ValueError, ConfigError):
            return False
        return {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[op]
    equal = str(actual).lower() == str(wanted).lower() if isinstance(actual, bool) else str(actual) == str(wanted)
    return equal if op == "=" else not equal


def span_matches(conditions: list[tuple[str, str, Any]], resource: dict[str, Any], span: dict[str, Any]) -> bool:
    for attr, op, wanted in conditions:
        values = span_values(attr, resource, span)
        if not values:
            if op in ("!=", "!~"):
                continue
            return False
        if not any(_compare(v, op, wanted, attr) for v in values):
            return False
    return True
