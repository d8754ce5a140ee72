"""A small, honest LogQL subset for the Loki TEST DOUBLE.

Supported:
  * stream selectors ``{a="v", b!="v", c=~"re", d!~"re"}`` (regexes fully anchored, as in Loki)
  * line filters ``|= "x"``, ``!= "x"``, ``|~ "re"``, ``!~ "re"``
  * range aggregations ``count_over_time``, ``rate``, ``bytes_over_time``, ``bytes_rate`` over ``[duration]``
  * ``sum|count|min|max|avg [by|without (labels)] (...)``, ``vector(n)``, numbers, ``+ - * /``

Anything else (parsers such as ``| json``, ``line_format``, ``offset``, ...) is refused with a
parse error that says the test double does not support it, never silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from common.config import ConfigError, parse_duration


class LogQLError(Exception):
    """A query the double refuses (parse error or unsupported feature): HTTP 400."""


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|`[^`]*`)
  | (?P<duration>\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w|y)(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w|y))*)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<op>\|=|\|~|!=|=~|!~|\||[{}()\[\],=+\-*/])
""", re.VERBOSE)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "'": "'"}


@dataclass
class Token:
    kind: str
    text: str
    pos: int


def tokenize(query: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        if not match:
            raise LogQLError(f"parse error at line 1, col {pos + 1}: syntax error: unexpected {query[pos]!r}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("eof", "", pos))
    return tokens


def unquote(text: str) -> str:
    if text.startswith("`"):
        return text[1:-1]
    out, i, body = [], 0, text[1:-1]
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            out.append(_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


@dataclass
class Matcher:
    name: str
    op: str
    value: str
    regex: re.Pattern[str] | None = None

    def __post_init__(self) -> None:
        if self.op in ("=~", "!~"):
            try:
                self.regex = re.compile(f"(?:{self.value})\\Z", re.DOTALL)
            except re.error as exc:
                raise LogQLError(f"parse error: invalid regex {self.value!r}: {exc}") from exc

    def matches(self, labels: dict[str, str]) -> bool:
        value = labels.get(self.name, "")
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        assert self.regex is not None
        found = self.regex.match(value) is not None
        return found if self.op == "=~" else not found


@dataclass
class LineFilter:
    op: str
    value: str
    regex: re.Pattern[str] | None = None

    def __post_init__(self) -> None:
        if self.op in ("|~", "!~"):
            try:
                self.regex = re.compile(self.value)
            except re.error as exc:
                raise LogQLError(f"parse error: invalid regex {self.value!r}: {exc}") from exc

    def keep(self, line: str) -> bool:
        if self.op == "|=":
            return self.value in line
        if self.op == "!=":
            return self.value not in line
        assert self.regex is not None
        found = self.regex.search(line) is not None
        return found if self.op == "|~" else not found


@dataclass
class LogQuery:
    matchers: list[Matcher]
    filters: list[LineFilter] = field(default_factory=list)

    def keep(self, line: str) -> bool:
        return all(f.keep(line) for f in self.filters)


@dataclass
class RangeAgg:
    func: str
    query: LogQuery
    range_seconds: float


@dataclass
class VectorAgg:
    op: str
    grouping: str | None
    labels: list[str]
    inner: Expr


@dataclass
class Literal:
    value: float
    is_vector: bool = False


@dataclass
class Binary:
    op: str
    left: Expr
    right: Expr


Expr = LogQuery | RangeAgg | VectorAgg | Literal | Binary

RANGE_FUNCS = ("count_over_time", "rate", "bytes_over_time", "bytes_rate")
VECTOR_AGGS = ("sum", "count", "min", "max", "avg")
UNSUPPORTED_HINT = "is not supported by the Loki test double"
INSTANT_LOG_QUERY = (
    "log queries are not supported as an instant query type, please change your query to a range query type"
)


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = tokenize(query)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self, text: str | None = None, kind: str | None = None) -> Token:
        tok = self.peek()
        if (text is not None and tok.text != text) or (kind is not None and tok.kind != kind):
            wanted = text or kind
            got = tok.text or "end of input"
            raise LogQLError(
                f"parse error at line 1, col {tok.pos + 1}: syntax error: unexpected {got}, expecting {wanted}"
            )
        self.i += 1
        return tok

    def parse(self) -> Expr:
        expr = self.additive()
        tok = self.peek()
        if tok.kind != "eof":
            if tok.text == "|":
                stage = self.tokens[self.i + 1].text
                raise LogQLError(f"parse error: pipeline stage '| {stage}' {UNSUPPORTED_HINT}")
            raise LogQLError(f"parse error at line 1, col {tok.pos + 1}: syntax error: unexpected {tok.text}")
        return expr

    def additive(self) -> Expr:
        left = self.multiplicative()
        while self.peek().text in ("+", "-"):
            op = self.take().text
            left = Binary(op, left, self.multiplicative())
        return left

    def multiplicative(self) -> Expr:
        left = self.unary()
        while self.peek().text in ("*", "/"):
            op = self.take().text
            left = Binary(op, left, self.unary())
        return left

    def unary(self) -> Expr:
        tok = self.peek()
        if tok.kind == "number":
            self.take()
            return Literal(float(tok.text))
        if tok.text == "(":
            self.take("(")
            inner = self.additive()
            self.take(")")
            return inner
        if tok.text == "{":
            return self.log_query()
        if tok.kind == "ident":
            if tok.text == "vector":
                self.take()
                self.take("(")
                value = float(self.take(kind="number").text)
                self.take(")")
                return Literal(value, is_vector=True)
            if tok.text in RANGE_FUNCS:
                return self.range_agg()
            if tok.text in VECTOR_AGGS:
                return self.vector_agg()
            raise LogQLError(f"parse error: function or keyword '{tok.text}' {UNSUPPORTED_HINT}")
        got = tok.text or "end of input"
        raise LogQLError(f"parse error at line 1, col {tok.pos + 1}: syntax error: unexpected {got}")

    def log_query(self) -> LogQuery:
        self.take("{")
        matchers: list[Matcher] = []
        while True:
            name = self.take(kind="ident").text
            op = self.take().text
            if op not in ("=", "!=", "=~", "!~"):
                raise LogQLError(f"parse error: unexpected matcher operator {op!r}")
            matchers.append(Matcher(name, op, unquote(self.take(kind="string").text)))
            if self.peek().text == ",":
                self.take(",")
                continue
            self.take("}")
            break
        if not any(not m.matches({}) for m in matchers):
            raise LogQLError(
                "parse error : queries require at least one regexp or equality matcher that does not have an "
                "empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will"
            )
        query = LogQuery(matchers)
        while self.peek().text in ("|=", "|~", "!=", "!~"):
            op = self.take().text
            query.filters.append(LineFilter(op, unquote(self.take(kind="string").text)))
            if self.peek().text == "or":
                raise LogQLError(f"parse error: 'or' in line filters {UNSUPPORTED_HINT}")
        return query

    def range_agg(self) -> RangeAgg:
        func = self.take().text
        self.take("(")
        query = self.log_query()
        if self.peek().text == "|":
            stage = self.tokens[self.i + 1].text
            raise LogQLError(f"parse error: pipeline stage '| {stage}' {UNSUPPORTED_HINT}")
        self.take("[")
        try:
            seconds = parse_duration(self.take(kind="duration").text)
        except ConfigError as exc:
            raise LogQLError(f"parse error: {exc}") from exc
        self.take("]")
        if self.peek().kind == "ident":
            raise LogQLError(f"parse error: '{self.peek().text}' {UNSUPPORTED_HINT}")
        self.take(")")
        return RangeAgg(func, query, seconds)

    def grouping(self) -> tuple[str | None, list[str]]:
        if self.peek().text not in ("by", "without"):
            return None, []
        kind = self.take().text
        self.take("(")
        labels = []
        while self.peek().text != ")":
            labels.append(self.take(kind="ident").text)
            if self.peek().text == ",":
                self.take(",")
        self.take(")")
        return kind, labels

    def vector_agg(self) -> VectorAgg:
        op = self.take().text
        grouping, labels = self.grouping()
        self.take("(")
        inner = self.additive()
        self.take(")")
        if grouping is None:
            grouping, labels = self.grouping()
        if isinstance(inner, LogQuery):
            raise LogQLError("parse error: a log query cannot be aggregated without a range aggregation")
        return VectorAgg(op, grouping, labels, inner)


def parse(query: str) -> Expr:
    if not query or not query.strip():
        raise LogQLError("parse error : syntax error: unexpected end of input")
    return _Parser(query).parse()


# --- evaluation of metric queries -------------------------------------------------

Series = dict[tuple[tuple[str, str], ...], float]
# A source answers: for this log query and window (start_ns, end_ns], give
# [(labels, [(ts_ns, line), ...]), ...].
Source = Callable[[LogQuery, int, int], list[tuple[dict[str, str], list[tuple[int, str]]]]]


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def evaluate(expr: Expr, at_ns: int, source: Source) -> Series | float:
    """Value of a metric expression at one instant: a series map, or a scalar."""
    if isinstance(expr, Literal):
        return {(): expr.value} if expr.is_vector else expr.value
    if isinstance(expr, RangeAgg):
        window = int(expr.range_seconds * 1e9)
        out: Series = {}
        for labels, entries in source(expr.query, at_ns - window, at_ns):
            if not entries:
                continue
            if expr.func.startswith("bytes"):
                value = float(sum(len(line.encode("utf-8")) for _ts, line in entries))
            else:
                value = float(len(entries))
            if expr.func in ("rate", "bytes_rate"):
                value /= expr.range_seconds
            out[_key(labels)] = value
        return out
    if isinstance(expr, VectorAgg):
        inner = evaluate(expr.inner, at_ns, source)
        if not isinstance(inner, dict):
            raise LogQLError("parse error: aggregation over a scalar is not supported")
        return _aggregate(expr, inner)
    if isinstance(expr, Binary):
        return _binary(expr.op, evaluate(expr.left, at_ns, source), evaluate(expr.right, at_ns, source))
    raise LogQLError(INSTANT_LOG_QUERY)


def _aggregate(expr: VectorAgg, inner: Series) -> Series:
    groups: dict[tuple[tuple[str, str], ...], list[float]] = {}
    for key, value in inner.items():
        labels = dict(key)
        if expr.grouping == "by":
            labels = {k: v for k, v in labels.items() if k in expr.labels}
        elif expr.grouping == "without":
            labels = {k: v for k, v in labels.items() if k not in expr.labels}
        else:
            labels = {}
        groups.setdefault(_key(labels), []).append(value)
    funcs: dict[str, Callable[[list[float]], float]] = {
        "sum": sum, "count": lambda v: float(len(v)), "min": min, "max": max, "avg": lambda v: sum(v) / len(v),
    }
    return {key: funcs[expr.op](values) for key, values in groups.items()}


def _apply(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b if b else float("nan")


def _binary(op: str, left: Series | float, right: Series | float) -> Series | float:
    if not isinstance(left, dict) and not isinstance(right, dict):
        return _apply(op, left, right)
    if not isinstance(left, dict):
        assert isinstance(right, dict)
        return {k: _apply(op, left, v) for k, v in right.items()}
    if not isinstance(right, dict):
        return {k: _apply(op, v, right) for k, v in left.items()}
    return {k: _apply(op, v, right[k]) for k, v in left.items() if k in right}
