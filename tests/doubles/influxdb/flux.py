"""A small, honest Flux subset for the InfluxDB 2 TEST DOUBLE, with annotated-CSV output.

Supported: ``from(bucket:|bucketID:)``, ``range(start:, stop:)``, ``filter(fn: (r) => ...)``
(``== != =~ !~ < <= > >=``, ``and``/``or``/``not``/``exists``, ``r.x`` and ``r["x"]``),
``aggregateWindow(every:, fn:, createEmpty:)``, ``mean sum count min max first last``,
``limit(n:, offset:)``, ``yield(name:)``, ``buckets()``, variable assignments, ``now()``.
Everything else fails with a Flux-style error that says the double does not support it.
"""

from __future__ import annotations

import csv
import io
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

UNSUPPORTED = "is not supported by the InfluxDB test double"
_DUR_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9,
              "d": 86400 * 10**9, "w": 7 * 86400 * 10**9, "mo": 30 * 86400 * 10**9, "y": 365 * 86400 * 10**9}
_TOKEN = re.compile(r"""
    (?P<ws>\s+|//[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<time>\d{4}-\d\d-\d\d(?:T\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))?)
  | (?P<duration>(?:\d+(?:mo|ms|us|µs|ns|s|m|h|d|w|y))+)
  | (?P<float>\d+\.\d+)
  | (?P<int>\d+)
  | (?P<regex>/(?:[^/\\\n]|\\.)+/)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\|>|=>|==|!=|=~|!~|<=|>=|<-|[<>=()\[\]{},:.+\-*])
""", re.VERBOSE)


class FluxError(Exception):
    """A query the double refuses or cannot run: ``code`` is the InfluxDB error code."""

    def __init__(self, message: str, code: str = "invalid", status: int = 400) -> None:
        super().__init__(message)
        self.code, self.status = code, status


# --- lexer & parser -------------------------------------------------------------------


@dataclass
class Tok:
    kind: str
    text: str
    line: int
    col: int


def tokenize(src: str) -> list[Tok]:
    tokens, pos = [], 0
    while pos < len(src):
        match = _TOKEN.match(src, pos)
        line = src.count("\n", 0, pos) + 1
        col = pos - (src.rfind("\n", 0, pos) + 1) + 1
        if not match:
            raise FluxError(f"compilation failed: error @{line}:{col}: invalid expression: {src[pos]!r}")
        if match.lastgroup != "ws":
            tokens.append(Tok(match.lastgroup or "", match.group(), line, col))
        pos = match.end()
    tokens.append(Tok("eof", "", src.count("\n") + 1, 1))
    return tokens


@dataclass
class Node:
    kind: str
    value: Any = None
    args: dict[str, Any] = field(default_factory=dict)
    children: list[Any] = field(default_factory=list)
    pos: str = ""


def parse_duration_ns(text: str) -> int:
    return sum(int(n) * _DUR_UNITS[u] for n, u in re.findall(r"(\d+)(mo|ms|us|µs|ns|s|m|h|d|w|y)", text))


def parse_time_ns(text: str) -> int:
    if "T" not in text:
        text += "T00:00:00Z"
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    if not match:
        raise FluxError(f"invalid time literal {text!r}")
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    seconds = int(datetime.fromisoformat(match.group(1) + zone).timestamp())
    return seconds * 10**9 + int((match.group(2) or "0")[:9].ljust(9, "0"))


class Parser:
    def __init__(self, src: str) -> None:
        self.toks = tokenize(src)
        self.i = 0

    def peek(self, ahead: int = 0) -> Tok:
        return self.toks[min(self.i + ahead, len(self.toks) - 1)]

    def take(self, text: str | None = None, kind: str | None = None) -> Tok:
        tok = self.peek()
        if (text is not None and tok.text != text) or (kind is not None and tok.kind != kind):
            wanted = text or kind
            raise FluxError(f"compilation failed: error @{tok.line}:{tok.col}: expected {wanted}, "
                            f"got {tok.text or 'EOF'}")
        self.i += 1
        return tok

    def program(self) -> list[Node]:
        statements = []
        while self.peek().kind != "eof":
            tok = self.peek()
            if tok.text in ("import", "option", "package"):
                raise FluxError(f"compilation failed: error @{tok.line}:{tok.col}: '{tok.text}' {UNSUPPORTED}")
            if tok.kind == "ident" and self.peek(1).text == "=" and self.peek(2).text != "=":
                name = self.take().text
                self.take("=")
                statements.append(Node("assign", name, children=[self.expression()]))
            else:
                statements.append(Node("expr", children=[self.expression()], pos=f"{tok.line}:{tok.col}"))
        return statements

    def expression(self) -> Node:
        left = self.logical_and()
        while self.peek().text == "or":
            self.take()
            left = Node("binary", "or", children=[left, self.logical_and()])
        return left

    def logical_and(self) -> Node:
        left = self.unary_not()
        while self.peek().text == "and":
            self.take()
            left = Node("binary", "and", children=[left, self.unary_not()])
        return left

    def unary_not(self) -> Node:
        if self.peek().text == "not":
            self.take()
            return Node("not", children=[self.unary_not()])
        if self.peek().text == "exists":
            self.take()
            return Node("exists", children=[self.comparison()])
        return self.comparison()

    def comparison(self) -> Node:
        left = self.pipe()
        if self.peek().text in ("==", "!=", "=~", "!~", "<", "<=", ">", ">="):
            op = self.take().text
            return Node("binary", op, children=[left, self.pipe()])
        return left

    def pipe(self) -> Node:
        left = self.unary()
        while self.peek().text == "|>":
            self.take()
            call = self.postfix()
            if call.kind != "call":
                tok = self.peek()
                raise FluxError(f"compilation failed: error @{tok.line}:{tok.col}: pipe destination must be a call")
            left = Node("pipe", children=[left, call])
        return left

    def unary(self) -> Node:
        if self.peek().text == "-":
            self.take()
            inner = self.postfix()
            return Node("neg", children=[inner])
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            tok = self.peek()
            if tok.text == ".":
                self.take()
                node = Node("member", self.take(kind="ident").text, children=[node])
            elif tok.text == "[" and node.kind in ("ident", "member"):
                self.take()
                key = self.take(kind="string").text
                self.take("]")
                node = Node("member", _unquote(key), children=[node])
            elif tok.text == "(":
                node = self.call(node)
            else:
                return node

    def call(self, callee: Node) -> Node:
        tok = self.take("(")
        if callee.kind != "ident":
            raise FluxError(f"compilation failed: error @{tok.line}:{tok.col}: package functions {UNSUPPORTED}")
        args: dict[str, Node] = {}
        while self.peek().text != ")":
            name = self.take(kind="ident").text
            self.take(":")
            args[name] = self.expression()
            if self.peek().text == ",":
                self.take(",")
        self.take(")")
        return Node("call", callee.value, args=args, pos=f"{tok.line}:{tok.col}")

    def lambda_ahead(self) -> bool:
        j = self.i + 1
        while self.toks[j].kind == "ident" or self.toks[j].text in (",", "=", "<-"):
            j += 1
        return self.toks[j].text == ")" and self.toks[j + 1].text == "=>"

    def primary(self) -> Node:
        tok = self.peek()
        if tok.text == "(":
            if self.lambda_ahead():
                self.take("(")
                params = []
                while self.peek().text != ")":
                    params.append(self.take().text)
                self.take(")")
                self.take("=>")
                return Node("lambda", [p for p in params if p not in (",",)], children=[self.expression()])
            self.take("(")
            inner = self.expression()
            self.take(")")
            return inner
        if tok.text == "[":
            self.take("[")
            items = []
            while self.peek().text != "]":
                items.append(self.expression())
                if self.peek().text == ",":
                    self.take(",")
            self.take("]")
            return Node("array", children=items)
        self.i += 1
        if tok.kind == "string":
            if "${" in tok.text:
                raise FluxError(f"compilation failed: error @{tok.line}:{tok.col}: string interpolation {UNSUPPORTED}")
            return Node("lit", _unquote(tok.text))
        if tok.kind == "int":
            return Node("lit", int(tok.text))
        if tok.kind == "float":
            return Node("lit", float(tok.text))
        if tok.kind == "duration":
            return Node("duration", parse_duration_ns(tok.text))
        if tok.kind == "time":
            return Node("time", parse_time_ns(tok.text))
        if tok.kind == "regex":
            return Node("regex", re.compile(tok.text[1:-1].replace("\\/", "/")))
        if tok.kind == "ident":
            if tok.text in ("true", "false"):
                return Node("lit", tok.text == "true")
            return Node("ident", tok.text, pos=f"{tok.line}:{tok.col}")
        raise FluxError(f"compilation failed: error @{tok.line}:{tok.col}: unexpected {tok.text or 'EOF'}")


def _unquote(text: str) -> str:
    body, out, i = text[1:-1], [], 0
    escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            out.append(escapes.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


# --- data model ----------------------------------------------------------------------

TYPE_NAMES = {"float": "double", "integer": "long", "unsigned": "unsignedLong", "boolean": "boolean",
              "string": "string"}


@dataclass
class Table:
    key: dict[str, Any]
    rows: list[dict[str, Any]]
    value_type: str
    has_time: bool = True


@dataclass
class FromSource:
    bucket: dict[str, Any]


@dataclass
class RawTable:
    columns: list[tuple[str, str, bool]]
    rows: list[list[Any]]


Reader = Callable[[str, int, int], list[tuple[tuple[str, tuple[tuple[str, str], ...], str], list[Any]]]]
BucketLookup = Callable[[str | None, str | None], dict[str, Any]]


@dataclass
class Context:
    find_bucket: BucketLookup
    read: Reader
    list_buckets: Callable[[], list[dict[str, Any]]]
    now_ns: int = field(default_factory=time.time_ns)
    env: dict[str, Any] = field(default_factory=dict)
    results: list[tuple[str, list[Any]]] = field(default_factory=list)


# --- evaluation -------------------------------------------------------------------------

AGGREGATES = ("mean", "sum", "count", "min", "max", "first", "last", "median")


def _aggregate(fn: str, rows: list[dict[str, Any]]) -> Any:
    values = [r["_value"] for r in rows if r.get("_value") is not None]
    if fn == "count":
        return len(values)
    if not values:
        return None
    if fn == "mean":
        return sum(values) / len(values)
    if fn == "sum":
        return sum(values)
    if fn == "median":
        ordered = sorted(values)
        mid = len(ordered) // 2
        return float(ordered[mid]) if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return {"min": min, "max": max, "first": lambda v: v[0], "last": lambda v: v[-1]}[fn](values)


def _result_type(fn: str, value_type: str) -> str:
    if fn == "count":
        return "long"
    if fn in ("mean", "median"):
        return "double"
    return value_type


def _selector_row(fn: str, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    rows = [r for r in rows if r.get("_value") is not None]
    if not rows:
        return None
    if fn == "first":
        return rows[0]
    if fn == "last":
        return rows[-1]
    chooser = min if fn == "min" else max
    return chooser(rows, key=lambda r: r["_value"])


class Evaluator:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def run(self, program: list[Node]) -> list[tuple[str, list[Any]]]:
        for statement in program:
            if statement.kind == "assign":
                self.ctx.env[statement.value] = self.eval(statement.children[0])
                continue
            value = self.eval(statement.children[0])
            if isinstance(value, FromSource):
                raise FluxError(f'cannot submit unbounded read to "{value.bucket["name"]}"; try bounding \'from\' '
                                "with a call to 'range'")
            if isinstance(value, (list, RawTable)) and not getattr(value, "yielded", False):
                if any(name == "_result" for name, _t in self.ctx.results):
                    raise FluxError("found duplicate yield name \"_result\"")
                self.ctx.results.append(("_result", value if isinstance(value, list) else [value]))
        return self.ctx.results

    def eval(self, node: Node) -> Any:
        if node.kind in ("lit", "duration", "time", "regex"):
            return node if node.kind in ("duration", "time", "regex") else node.value
        if node.kind == "ident":
            if node.value in self.ctx.env:
                return self.ctx.env[node.value]
            if node.value in AGGREGATES:
                return Node("builtin", node.value)
            raise FluxError(f"compilation failed: error @{node.pos}: undefined identifier {node.value}")
        if node.kind == "neg":
            inner = self.eval(node.children[0])
            if isinstance(inner, Node) and inner.kind == "duration":
                return Node("duration", -inner.value)
            return -inner
        if node.kind == "call":
            return self.call(node, None)
        if node.kind == "pipe":
            return self.call(node.children[1], self.eval(node.children[0]))
        if node.kind == "array":
            return [self.eval(c) for c in node.children]
        raise FluxError(f"expression of kind {node.kind} {UNSUPPORTED} outside filter functions")

    def time_arg(self, node: Node | None, default: int) -> int:
        if node is None:
            return default
        value = self.eval(node)
        if isinstance(value, Node) and value.kind == "duration":
            return self.ctx.now_ns + value.value
        if isinstance(value, Node) and value.kind == "time":
            return value.value
        if isinstance(value, int):
            return value * 10**9
        if isinstance(value, _Now):
            return self.ctx.now_ns
        raise FluxError("range bounds must be a duration, a time or now()")

    def call(self, node: Node, piped: Any) -> Any:
        name, args = node.value, node.args
        handler = getattr(self, f"fn_{name}", None)
        if handler is None:
            raise FluxError(f"compilation failed: error @{node.pos}: function \"{name}\" {UNSUPPORTED}")
        if name not in ("from", "buckets", "now") and piped is None:
            raise FluxError(f"compilation failed: error @{node.pos}: missing required argument tables")
        if isinstance(piped, FromSource) and name != "range":
            raise FluxError(f'cannot submit unbounded read to "{piped.bucket["name"]}"; try bounding \'from\' with '
                            "a call to 'range' (the test double needs range() right after from())")
        return handler(args, piped)

    # --- functions ---------------------------------------------------------------------

    def fn_now(self, _args: dict[str, Node], _piped: Any) -> Any:
        return _Now()

    def fn_from(self, args: dict[str, Node], _piped: Any) -> FromSource:
        bucket = self.eval(args["bucket"]) if "bucket" in args else None
        bucket_id = self.eval(args["bucketID"]) if "bucketID" in args else None
        if not bucket and not bucket_id:
            raise FluxError("from: must specify one of bucket or bucketID")
        return FromSource(self.ctx.find_bucket(bucket, bucket_id))

    def fn_buckets(self, _args: dict[str, Node], _piped: Any) -> RawTable:
        columns = [("name", "string", False), ("id", "string", False), ("organizationID", "string", False),
                   ("retentionPolicy", "string", False), ("retentionPeriod", "long", False)]
        rows = [[b["name"], b["id"], b["orgID"], "", b["retentionRules"][0]["everySeconds"] * 10**9 if
                 b.get("retentionRules") else 0] for b in self.ctx.list_buckets()]
        return RawTable(columns, rows)

    def fn_range(self, args: dict[str, Node], piped: Any) -> list[Table]:
        start = self.time_arg(args.get("start"), 0)
        stop = self.time_arg(args.get("stop"), self.ctx.now_ns)
        if "start" not in args:
            raise FluxError("range: missing required argument start")
        if not isinstance(piped, FromSource):
            return [Table({**t.key, "_start": start, "_stop": stop},
                          [r for r in t.rows if r.get("_time") is None or start <= r["_time"] < stop],
                          t.value_type, t.has_time) for t in piped]
        tables = []
        for (measurement, tags, field_name), rows in self.ctx.read(piped.bucket["id"], start, stop):
            by_type: dict[str, list[dict[str, Any]]] = {}
            for ts, kind, value in rows:
                by_type.setdefault(TYPE_NAMES[kind], []).append({"_time": ts, "_value": value})
            for value_type, typed_rows in by_type.items():
                key = {"_start": start, "_stop": stop, "_field": field_name, "_measurement": measurement, **dict(tags)}
                tables.append(Table(key, typed_rows, value_type))
        return tables

    def fn_filter(self, args: dict[str, Node], piped: list[Table]) -> list[Table]:
        fn = args.get("fn")
        if fn is None or fn.kind != "lambda" or len(fn.value) != 1:
            raise FluxError("filter: fn must be a function of one parameter, e.g. (r) => ...")
        param, body = fn.value[0], fn.children[0]
        out = []
        for table in piped:
            rows = [row for row in table.rows if _truthy(self.predicate(body, param, {**table.key, **row}))]
            if rows:
                out.append(Table(table.key, rows, table.value_type, table.has_time))
        return out

    def predicate(self, node: Node, param: str, record: dict[str, Any]) -> Any:
        kind = node.kind
        if kind == "member":
            base = node.children[0]
            if base.kind != "ident" or base.value != param:
                raise FluxError(f"member access on {base.value!r} {UNSUPPORTED} (only {param}.column)")
            return record.get(node.value)
        if kind == "binary":
            op = node.value
            if op == "and":
                return _truthy(self.predicate(node.children[0], param, record)) and \
                    _truthy(self.predicate(node.children[1], param, record))
            if op == "or":
                return _truthy(self.predicate(node.children[0], param, record)) or \
                    _truthy(self.predicate(node.children[1], param, record))
            left = self.predicate(node.children[0], param, record)
            right = self.predicate(node.children[1], param, record)
            return _compare(op, left, right)
        if kind == "not":
            return not _truthy(self.predicate(node.children[0], param, record))
        if kind == "exists":
            return self.predicate(node.children[0], param, record) is not None
        if kind in ("lit", "regex"):
            return node.value
        if kind == "time":
            return node.value
        if kind == "neg":
            return -self.predicate(node.children[0], param, record)
        if kind == "ident" and node.value in self.ctx.env and not isinstance(self.ctx.env[node.value], list):
            return self.ctx.env[node.value]
        raise FluxError(f"expression {kind} {node.value or ''} {UNSUPPORTED} inside filter functions")

    def _fn_name(self, args: dict[str, Node]) -> str:
        fn = args.get("fn")
        if fn is None:
            raise FluxError("aggregateWindow: missing required argument fn")
        value = self.eval(fn) if fn.kind == "ident" else fn
        if not isinstance(value, Node) or value.kind != "builtin":
            raise FluxError(f"aggregateWindow: only fn: {'/'.join(AGGREGATES)} are supported by the test double")
        return value.value

    def fn_aggregateWindow(self, args: dict[str, Node], piped: list[Table]) -> list[Table]:
        every_node = self.eval(args["every"]) if "every" in args else None
        if not isinstance(every_node, Node) or every_node.kind != "duration" or every_node.value <= 0:
            raise FluxError("aggregateWindow: every must be a positive duration")
        every, fn = every_node.value, self._fn_name(args)
        create_empty = bool(self.eval(args["createEmpty"])) if "createEmpty" in args else True
        out = []
        for table in piped:
            start, stop = table.key["_start"], table.key["_stop"]
            rows = []
            boundary = start - start % every
            while boundary < stop:
                win_start, win_stop = max(boundary, start), min(boundary + every, stop)
                window = [r for r in table.rows if win_start <= r["_time"] < win_stop]
                if window or create_empty:
                    rows.append({"_time": win_stop, "_value": _aggregate(fn, window)})
                boundary += every
            out.append(Table(table.key, rows, _result_type(fn, table.value_type)))
        return out

    def _reduce(self, fn: str, piped: list[Table]) -> list[Table]:
        out = []
        for table in piped:
            if fn in ("first", "last", "min", "max"):
                row = _selector_row(fn, table.rows)
                out.append(Table(table.key, [row] if row else [], table.value_type, table.has_time))
            else:
                rows = [{"_value": _aggregate(fn, table.rows)}]
                out.append(Table(table.key, rows, _result_type(fn, table.value_type), has_time=False))
        return out

    def fn_mean(self, _a: dict[str, Node], piped: list[Table]) -> list[Table]:
        return self._reduce("mean", piped)

    def fn_sum(self, _a: dict[str, Node], piped: list[Table]) -> list[Table]:
        return self._reduce("sum", piped)

    def fn_count(self, _a: dict[str, Node], piped: list[Table]) -> list[Table]:
        return self._reduce("count", piped)

    def fn_median(self, _a: dict[str, Node], piped: list[Table]) -> list[Table]:
        return self._reduce("median", piped)

    def fn_min(self, _a: dict[str, Node], piped: list[Table]) -> list[Table]:
        return self._reduce("min", piped)

    def fn_max(self, _a: dict[str, Node], piped: list[Table]) -> list[Table]:
        return self._reduce("max", piped)

    def fn_first(self, _a: dict[str, Node], piped: list[Table]) -> list[Table]:
        return self._reduce("first", piped)

    def fn_last(self, _a: dict[str, Node], piped: list[Table]) -> list[Table]:
        return self._reduce("last", piped)

    def fn_limit(self, args: dict[str, Node], piped: list[Table]) -> list[Table]:
        n = int(self.eval(args["n"]))
        offset = int(self.eval(args["offset"])) if "offset" in args else 0
        return [Table(t.key, t.rows[offset:offset + n], t.value_type, t.has_time) for t in piped]

    def fn_yield(self, args: dict[str, Node], piped: Any) -> Any:
        name = str(self.eval(args["name"])) if "name" in args else "_result"
        if any(existing == name for existing, _t in self.ctx.results):
            raise FluxError(f'found duplicate yield name "{name}"')
        tables = piped if isinstance(piped, list) else [piped]
        self.ctx.results.append((name, tables))
        marker = _Yielded(tables)
        return marker


class _Now:
    pass


class _Yielded(list):
    yielded = True


def _truthy(value: Any) -> bool:
    return bool(value) if value is not None else False


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in ("=~", "!~"):
        if not isinstance(right, re.Pattern):
            raise FluxError(f"operator {op} needs a regular expression on the right")
        found = left is not None and right.search(str(left)) is not None
        return found if op == "=~" else not found
    if left is None or right is None:
        return False
    if isinstance(left, bool) != isinstance(right, bool) or isinstance(left, str) != isinstance(right, str):
        return op == "!="
    return {"==": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
            ">": left > right, ">=": left >= right}[op]


def execute(query: str, ctx: Context) -> list[tuple[str, list[Any]]]:
    program = Parser(query).program()
    if not program:
        raise FluxError("compilation failed: no query to run")
    return Evaluator(ctx).run(program)


# --- annotated CSV --------------------------------------------------------------------------


def format_time(ns: int) -> str:
    seconds, frac = divmod(int(ns), 10**9)
    base = datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{frac:09d}".rstrip("0") + "Z" if frac else base + "Z"


def format_value(value: Any, datatype: str) -> str:
    if value is None:
        return ""
    if datatype.startswith("dateTime"):
        return format_time(value)
    if datatype == "boolean":
        return "true" if value else "false"
    if datatype == "double":
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if number in (float("inf"), float("-inf")):
            return "+Inf" if number > 0 else "-Inf"
        text = repr(number)
        text = format(Decimal(text), "f") if "e" in text else text
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def _table_columns(table: Table) -> list[tuple[str, str, bool]]:
    cols = [("_start", "dateTime:RFC3339", True), ("_stop", "dateTime:RFC3339", True)]
    if table.has_time:
        cols.append(("_time", "dateTime:RFC3339", False))
    cols.append(("_value", table.value_type, False))
    cols += [("_field", "string", True), ("_measurement", "string", True)]
    cols += [(k, "string", True) for k in sorted(table.key) if k not in ("_start", "_stop", "_field", "_measurement")]
    return cols


def to_csv(results: list[tuple[str, list[Any]]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    wrote_any = False
    for result_name, tables in results:
        schema = None
        for index, table in enumerate(t for t in tables if (t.rows if isinstance(t, (Table, RawTable)) else False)):
            if isinstance(table, RawTable):
                columns, rows = table.columns, table.rows
            else:
                columns = _table_columns(table)
                rows = [[{**table.key, **row}.get(name) for name, _t, _g in columns] for row in table.rows]
            if columns != schema:
                if wrote_any:
                    out.write("\r\n")
                writer.writerow(["#group", "false", "false"] + ["true" if g else "false" for _n, _t, g in columns])
                writer.writerow(["#datatype", "string", "long"] + [t for _n, t, _g in columns])
                writer.writerow(["#default", result_name, ""] + [""] * len(columns))
                writer.writerow(["", "result", "table"] + [n for n, _t, _g in columns])
                schema = columns
                wrote_any = True
            for row in rows:
                writer.writerow(["", "", str(index)] + [format_value(v, t) for v, (_n, t, _g) in zip(row, columns)])
    out.write("\r\n")
    return out.getvalue()
