"""A tokenizer and recursive-descent parser for the Alloy configuration syntax, for the Alloy TEST DOUBLE.

Written from upstream's description of the syntax (grafana/alloy v1.18.1 docs/sources/get-started/syntax.md
and docs/sources/get-started/expressions/*.md); no upstream code is used. It covers what the alloy role renders
and a little more:

- comments ``// ...`` and ``/* ... */``;
- blocks with an optional label, ``loki.write "default" { ... }``, nested blocks, and attributes ``key = expr``;
- expressions: strings with escapes (``\\n \\t \\r \\" \\\\ \\uXXXX \\UXXXXXXXX``), raw strings in backticks,
  numbers, ``true``/``false``/``null``, lists ``[a, b,]``, objects ``{ k = v, "k" = v }``, references such as
  ``loki.write.default.receiver``, indexing ``a[0]``, calls ``f(x, y)``, unary ``-``/``!`` and the binary
  operators ``|| && == != < <= > >= + - * / % ^``.

Errors carry ``line:column`` like Alloy's diagnostics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


class SyntaxProblem(Exception):
    def __init__(self, line: int, col: int, message: str) -> None:
        super().__init__(f"{line}:{col}: {message}")
        self.line, self.col, self.message = line, col, message


@dataclass(frozen=True)
class Token:
    kind: str  # ident, string, number, punct, newline, eof
    value: Any
    line: int
    col: int


_PUNCT = ("||", "&&", "==", "!=", "<=", ">=", "{", "}", "[", "]", "(", ")", "=", ",", ".", "<", ">", "+", "-",
          "*", "/", "%", "^", "!")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, line, col = 0, 1, 1

    def advance(count: int) -> None:
        nonlocal i, line, col
        for ch in text[i:i + count]:
            if ch == "\n":
                line, col = line + 1, 1
            else:
                col += 1
        i += count

    while i < len(text):
        ch = text[i]
        if ch == "\n":
            tokens.append(Token("newline", "\n", line, col))
            advance(1)
        elif ch in " \t\r":
            advance(1)
        elif text.startswith("//", i):
            end = text.find("\n", i)
            advance((len(text) if end < 0 else end) - i)
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise SyntaxProblem(line, col, "block comment not terminated")
            advance(end + 2 - i)
        elif ch == '"':
            start_line, start_col = line, col
            j, out = i + 1, []
            while True:
                if j >= len(text) or text[j] == "\n":
                    raise SyntaxProblem(start_line, start_col, "string literal not terminated")
                c = text[j]
                if c == '"':
                    break
                if c == "\\":
                    nxt = text[j + 1:j + 2]
                    if nxt in _ESCAPES:
                        out.append(_ESCAPES[nxt])
                        j += 2
                        continue
                    width = {"u": 4, "U": 8}.get(nxt)
                    digits = text[j + 2:j + 2 + (width or 0)]
                    if width and re.fullmatch(r"[0-9a-fA-F]+", digits or "x") and len(digits) == width:
                        out.append(chr(int(digits, 16)))
                        j += 2 + width
                        continue
                    raise SyntaxProblem(line, col + (j - i), f"unknown escape sequence \\{nxt}")
                out.append(c)
                j += 1
            tokens.append(Token("string", "".join(out), start_line, start_col))
            advance(j + 1 - i)
        elif ch == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise SyntaxProblem(line, col, "raw string literal not terminated")
            tokens.append(Token("string", text[i + 1:end], line, col))
            advance(end + 1 - i)
        elif ch.isdigit():
            match = _NUMBER.match(text, i)
            assert match is not None
            raw = match.group(0)
            value: float | int = float(raw) if ("." in raw or "e" in raw.lower()) else int(raw)
            tokens.append(Token("number", value, line, col))
            advance(len(raw))
        elif _IDENT.match(text, i):
            match = _IDENT.match(text, i)
            assert match is not None
            tokens.append(Token("ident", match.group(0), line, col))
            advance(len(match.group(0)))
        else:
            for punct in _PUNCT:
                if text.startswith(punct, i):
                    tokens.append(Token("punct", punct, line, col))
                    advance(len(punct))
                    break
            else:
                raise SyntaxProblem(line, col, f"illegal character {ch!r}")
    tokens.append(Token("eof", None, line, col))
    return tokens


# --- AST ---------------------------------------------------------------------------------------------------


@dataclass
class Expr:
    line: int
    col: int


@dataclass
class Literal(Expr):
    value: Any


@dataclass
class ListExpr(Expr):
    items: list[Expr]


@dataclass
class ObjectExpr(Expr):
    fields: list[tuple[str, Expr]]


@dataclass
class Ref(Expr):
    """A dotted name such as ``discovery.docker.linux.targets`` (an identifier followed by ``.field`` accesses)."""

    parts: list[str]

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass
class Index(Expr):
    target: Expr
    index: Expr


@dataclass
class Call(Expr):
    function: Expr
    args: list[Expr]


@dataclass
class Unary(Expr):
    op: str
    operand: Expr


@dataclass
class Binary(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass
class Attribute:
    name: str
    value: Expr
    line: int
    col: int


@dataclass
class Block:
    name: str  # dotted, e.g. "loki.write"
    label: str | None
    body: list[Attribute | Block] = field(default_factory=list)
    line: int = 0
    col: int = 0

    @property
    def id(self) -> str:
        return f"{self.name}.{self.label}" if self.label is not None else self.name

    def attributes(self) -> list[Attribute]:
        return [s for s in self.body if isinstance(s, Attribute)]

    def blocks(self) -> list[Block]:
        return [s for s in self.body if isinstance(s, Block)]


_PRECEDENCE = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3, "+": 4, "-": 4, "*": 5,
               "/": 5, "%": 5, "^": 6}


class Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    # helpers
    def peek(self, skip_newlines: bool = False) -> Token:
        pos = self.pos
        while skip_newlines and self.tokens[pos].kind == "newline":
            pos += 1
        return self.tokens[pos]

    def next(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def skip_newlines(self) -> None:
        while self.peek().kind == "newline":
            self.pos += 1

    def expect(self, kind: str, value: str | None = None) -> Token:
        tok = self.next()
        if tok.kind != kind or (value is not None and tok.value != value):
            want = repr(value) if value is not None else kind
            raise SyntaxProblem(tok.line, tok.col, f"expected {want}, got {describe(tok)}")
        return tok

    def is_punct(self, value: str, skip_newlines: bool = False) -> bool:
        tok = self.peek(skip_newlines)
        return tok.kind == "punct" and tok.value == value

    # statements
    def parse_file(self) -> list[Attribute | Block]:
        body = self.parse_body(top=True)
        self.expect("eof")
        return body

    def parse_body(self, top: bool = False) -> list[Attribute | Block]:
        body: list[Attribute | Block] = []
        while True:
            self.skip_newlines()
            tok = self.peek()
            if tok.kind == "eof" or (not top and tok.kind == "punct" and tok.value == "}"):
                return body
            body.append(self.parse_statement())
            end = self.peek()
            if end.kind not in ("newline", "eof") and not (end.kind == "punct" and end.value == "}"):
                raise SyntaxProblem(end.line, end.col, f"expected newline, got {describe(end)}")

    def parse_statement(self) -> Attribute | Block:
        first = self.expect("ident")
        names = [first.value]
        while self.is_punct("."):
            self.next()
            names.append(self.expect("ident").value)
        tok = self.peek()
        if tok.kind == "punct" and tok.value == "=":
            if len(names) > 1:
                raise SyntaxProblem(first.line, first.col, "attribute names may only consist of a single identifier")
            self.next()
            return Attribute(first.value, self.parse_expr(), first.line, first.col)
        label = None
        if tok.kind == "string":
            label = self.next().value
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", label):
                raise SyntaxProblem(tok.line, tok.col, f"block label {label!r} must be a valid identifier")
            tok = self.peek()
        if not (tok.kind == "punct" and tok.value == "{"):
            raise SyntaxProblem(tok.line, tok.col, f"expected block or attribute, got {describe(tok)}")
        self.next()
        body = self.parse_body()
        self.expect("punct", "}")
        return Block(".".join(names), label, body, first.line, first.col)

    # expressions
    def parse_expr(self, min_prec: int = 1) -> Expr:
        left = self.parse_unary()
        while True:
            tok = self.peek()
            prec = _PRECEDENCE.get(tok.value) if tok.kind == "punct" else None
            if prec is None or prec < min_prec:
                return left
            self.next()
            self.skip_newlines()
            # ^ is right-associative, the others left-associative
            right = self.parse_expr(prec if tok.value == "^" else prec + 1)
            left = Binary(tok.line, tok.col, tok.value, left, right)

    def parse_unary(self) -> Expr:
        tok = self.peek()
        if tok.kind == "punct" and tok.value in ("-", "!"):
            self.next()
            return Unary(tok.line, tok.col, tok.value, self.parse_unary())
        return self.parse_postfix(self.parse_primary())

    def parse_postfix(self, expr: Expr) -> Expr:
        while True:
            tok = self.peek()
            if tok.kind != "punct":
                return expr
            if tok.value == ".":
                self.next()
                name = self.expect("ident").value
                if isinstance(expr, Ref):
                    expr = Ref(expr.line, expr.col, [*expr.parts, name])
                else:
                    expr = Index(tok.line, tok.col, expr, Literal(tok.line, tok.col, name))
            elif tok.value == "[":
                self.next()
                self.skip_newlines()
                index = self.parse_expr()
                self.skip_newlines()
                self.expect("punct", "]")
                expr = Index(tok.line, tok.col, expr, index)
            elif tok.value == "(":
                self.next()
                args = self.parse_sequence(")")
                expr = Call(tok.line, tok.col, expr, args)
            else:
                return expr

    def parse_sequence(self, closing: str) -> list[Expr]:
        items: list[Expr] = []
        while True:
            self.skip_newlines()
            if self.is_punct(closing):
                self.next()
                return items
            items.append(self.parse_expr())
            self.skip_newlines()
            if self.is_punct(","):
                self.next()
                continue
            tok = self.peek()
            if not (tok.kind == "punct" and tok.value == closing):
                raise SyntaxProblem(tok.line, tok.col, f"expected , or {closing}, got {describe(tok)}")

    def parse_primary(self) -> Expr:
        tok = self.next()
        if tok.kind in ("string", "number"):
            return Literal(tok.line, tok.col, tok.value)
        if tok.kind == "ident":
            if tok.value in ("true", "false"):
                return Literal(tok.line, tok.col, tok.value == "true")
            if tok.value == "null":
                return Literal(tok.line, tok.col, None)
            return Ref(tok.line, tok.col, [tok.value])
        if tok.kind == "punct" and tok.value == "[":
            return ListExpr(tok.line, tok.col, self.parse_sequence("]"))
        if tok.kind == "punct" and tok.value == "{":
            return ObjectExpr(tok.line, tok.col, self.parse_object_fields())
        if tok.kind == "punct" and tok.value == "(":
            self.skip_newlines()
            inner = self.parse_expr()
            self.skip_newlines()
            self.expect("punct", ")")
            return inner
        raise SyntaxProblem(tok.line, tok.col, f"expected expression, got {describe(tok)}")

    def parse_object_fields(self) -> list[tuple[str, Expr]]:
        fields: list[tuple[str, Expr]] = []
        while True:
            self.skip_newlines()
            if self.is_punct("}"):
                self.next()
                return fields
            key = self.next()
            if key.kind not in ("ident", "string"):
                raise SyntaxProblem(key.line, key.col, f"expected field name, got {describe(key)}")
            self.expect("punct", "=")
            fields.append((key.value, self.parse_expr()))
            self.skip_newlines()
            if self.is_punct(","):
                self.next()
                continue
            tok = self.peek()
            if not (tok.kind == "punct" and tok.value == "}"):
                raise SyntaxProblem(tok.line, tok.col, f"expected , or }}, got {describe(tok)}")


def describe(tok: Token) -> str:
    if tok.kind == "eof":
        return "EOF"
    if tok.kind == "newline":
        return "newline"
    if tok.kind == "string":
        return f"string {tok.value!r}"
    return str(tok.value)


def parse(text: str) -> list[Attribute | Block]:
    """The statements of an Alloy configuration file; raises SyntaxProblem."""
    return Parser(text).parse_file()


def references(expr: Expr) -> list[Ref]:
    """Every reference inside ``expr``; the function of a call (``sys.env``) is not one."""
    if isinstance(expr, Ref):
        return [expr]
    if isinstance(expr, ListExpr):
        return [r for item in expr.items for r in references(item)]
    if isinstance(expr, ObjectExpr):
        return [r for _k, v in expr.fields for r in references(v)]
    if isinstance(expr, Index):
        return references(expr.target) + references(expr.index)
    if isinstance(expr, Call):
        return [r for a in expr.args for r in references(a)]
    if isinstance(expr, Unary):
        return references(expr.operand)
    if isinstance(expr, Binary):
        return references(expr.left) + references(expr.right)
    return []
