"""InfluxDB line protocol parser for the InfluxDB 2 TEST DOUBLE.

``measurement[,tag=v...] field=v[,field2=v2...] [timestamp]`` with the documented
escaping rules and field types: float (default), integer ``12i``, unsigned ``12u``,
boolean, and double-quoted string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PRECISION_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_TRUE = {"t", "T", "true", "True", "TRUE"}
_FALSE = {"f", "F", "false", "False", "FALSE"}


class LineProtocolError(Exception):
    def __init__(self, line_no: int, line: str, reason: str) -> None:
        super().__init__(f"unable to parse '{line}': {reason}")
        self.line_no = line_no


@dataclass
class Point:
    measurement: str
    tags: tuple[tuple[str, str], ...]
    fields: dict[str, tuple[str, Any]]
    ts: int


def _scan(text: str, pos: int, stops: str) -> tuple[str, int]:
    """Read until an unescaped stop character; backslash escapes the next char."""
    out = []
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text) and text[pos + 1] in stops + "\\=, ":
            out.append(text[pos + 1])
            pos += 2
            continue
        if char in stops:
            break
        out.append(char)
        pos += 1
    return "".join(out), pos


def _field_value(raw: str) -> tuple[str, Any]:
    if raw.startswith('"'):
        if len(raw) < 2 or not raw.endswith('"'):
            raise ValueError("unterminated string field value")
        return "string", raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if raw in _TRUE:
        return "boolean", True
    if raw in _FALSE:
        return "boolean", False
    if raw.endswith("i"):
        return "integer", int(raw[:-1])
    if raw.endswith("u"):
        value = int(raw[:-1])
        if value < 0:
            raise ValueError("unsigned integer field value is negative")
        return "unsigned", value
    return "float", float(raw)


def _fields(text: str, pos: int) -> tuple[dict[str, tuple[str, Any]], int]:
    fields: dict[str, tuple[str, Any]] = {}
    while pos < len(text) and text[pos] != " ":
        key, pos = _scan(text, pos, "=")
        if pos >= len(text) or not key:
            raise ValueError("missing field key or value")
        pos += 1
        start = pos
        if pos < len(text) and text[pos] == '"':
            pos += 1
            while pos < len(text) and text[pos] != '"':
                pos += 2 if text[pos] == "\\" else 1
            pos += 1
        else:
            while pos < len(text) and text[pos] not in ", ":
                pos += 1
        fields[key] = _field_value(text[start:pos])
        if pos < len(text) and text[pos] == ",":
            pos += 1
    if not fields:
        raise ValueError("missing fields")
    return fields, pos


def parse_line(line: str, precision: str, now_ns: int) -> Point:
    measurement, pos = _scan(line, 0, ", ")
    if not measurement:
        raise ValueError("missing measurement")
    tags: list[tuple[str, str]] = []
    while pos < len(line) and line[pos] == ",":
        key, pos = _scan(line, pos + 1, "=")
        value, pos = _scan(line, pos + 1, ", ")
        if not key or not value:
            raise ValueError("missing tag key or value")
        tags.append((key, value))
    if pos >= len(line) or line[pos] != " ":
        raise ValueError("missing fields")
    fields, pos = _fields(line, pos + 1)
    rest = line[pos:].strip()
    ts = int(rest) * PRECISION_NS[precision] if rest else now_ns
    return Point(measurement, tuple(sorted(tags)), fields, ts)


def parse(body: str, precision: str, now_ns: int) -> list[Point]:
    if precision not in PRECISION_NS:
        raise LineProtocolError(0, "", f"invalid precision {precision!r}")
    points = []
    for number, raw in enumerate(body.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            points.append(parse_line(line, precision, now_ns))
        except ValueError as exc:
            raise LineProtocolError(number, line, str(exc)) from exc
    return points
