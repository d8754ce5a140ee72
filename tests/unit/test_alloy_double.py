"""The Alloy TEST DOUBLE (tests/doubles/alloy/): its parser of the Alloy syntax, and ``alloy validate``'s refusals.

The components and arguments it knows come from grafana/alloy's reference docs at the pinned version
(tests/doubles/alloy/upstream/*.json). The alloy role's rendered config.alloy must pass; a config with an unknown
component, attribute, block or reference must not. The end-to-end behaviour (shipping to the Loki double,
/-/reload) is in tests/unit/test_service_doubles.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from role_rendering import render_role_template

DOUBLES_DIR = Path(__file__).resolve().parents[2] / "tests" / "doubles"
sys.path.insert(0, str(DOUBLES_DIR))

from alloy.check import Reference, check  # noqa: E402
from alloy.server import UPSTREAM_VERSION  # noqa: E402
from alloy.syntax import (  # noqa: E402
    Attribute,
    Binary,
    Block,
    Call,
    ListExpr,
    Literal,
    ObjectExpr,
    Ref,
    SyntaxProblem,
    parse,
)

REFERENCE = Reference.load(DOUBLES_DIR / "alloy", UPSTREAM_VERSION)


def alloy(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(DOUBLES_DIR), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "alloy", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=30, check=False)


# --- parser ------------------------------------------------------------------------------------------------


def test_parser_reads_blocks_labels_attributes_and_every_kind_of_value():
    text = r'''
// a line comment
/* a block
   comment */
loki.write "default" {
  endpoint {
    url = "http://loki:3100/loki/api/v1/push" // trailing comment
  }
  external_labels = { cluster = "a", "the-host" = "h\t\"1\"\u00e9", }
}
thing "x" {
  numbers = [1, 2.5, -3, 1e3,]
  flags   = [true, false, null]
  raw     = `C:\no\escape`
  ref     = discovery.docker.linux.targets
  first   = local.file_match.f.targets[0]
  call    = sys.env("HOME")
  sum     = 1 + 2 * 3
  nested  = [{"__path__" = "/var/log/*.log", job = "varlogs"}]
}
logging {
  level = "info"
}
'''
    body = parse(text)
    assert [(b.name, b.label) for b in body if isinstance(b, Block)] == [
        ("loki.write", "default"), ("thing", "x"), ("logging", None)]
    write = body[0]
    assert isinstance(write, Block)
    endpoint = write.blocks()[0]
    assert endpoint.name == "endpoint" and endpoint.label is None
    url = endpoint.attributes()[0]
    assert (url.name, url.value.value, url.line) == ("url", "http://loki:3100/loki/api/v1/push", 7)
    labels = write.attributes()[0].value
    assert isinstance(labels, ObjectExpr)
    assert [(k, v.value) for k, v in labels.fields] == [("cluster", "a"), ("the-host", 'h\t"1"\u00e9')]
    values = {a.name: a.value for a in body[1].attributes()}
    numbers = values["numbers"]
    assert isinstance(numbers, ListExpr) and [getattr(i, "value", None) for i in numbers.items[:2]] == [1, 2.5]
    assert numbers.items[3].value == 1000.0
    assert [i.value for i in values["flags"].items] == [True, False, None]
    assert values["raw"].value == "C:\\no\\escape"
    assert isinstance(values["ref"], Ref) and values["ref"].dotted == "discovery.docker.linux.targets"
    assert isinstance(values["call"], Call) and values["call"].function.dotted == "sys.env"
    assert isinstance(values["sum"], Binary) and values["sum"].op == "+"
    assert isinstance(values["sum"].right, Binary) and values["sum"].right.op == "*"
    nested = values["nested"].items[0]
    assert isinstance(nested, ObjectExpr) and nested.fields[0][0] == "__path__"
    assert isinstance(body[2].attributes()[0], Attribute) and isinstance(body[2].attributes()[0].value, Literal)


@pytest.mark.parametrize(("text", "where", "message"), [
    ('a "x" {\n  url = "never closed\n}\n', (2, 9), "string literal not terminated"),
    ('a "x" {\n  b = 1 c = 2\n}\n', (2, 9), "expected newline"),
    ('a "x" {\n  b = [1, 2\n}\n', (3, 1), "expected , or ]"),
    ('a "x" {\n  b = "\\q"\n}\n', (2, 8), "unknown escape sequence"),
    ('a "x" {\n  b = 1\n', (3, 1), "expected '}'"),
    ('a "not-an-id" {\n}\n', (1, 3), "must be a valid identifier"),
    ("/* open", (1, 1), "block comment not terminated"),
    ('a.b = 1\n', (1, 1), "single identifier"),
])
def test_parser_reports_syntax_errors_with_line_and_column(text, where, message):
    with pytest.raises(SyntaxProblem) as info:
        parse(text)
    assert (info.value.line, info.value.col) == where
    assert message in info.value.message


# --- what alloy validate refuses ----------------------------------------------------------------------------


def test_reference_comes_from_upstream_docs_at_the_pinned_version():
    data = json.loads((DOUBLES_DIR / "alloy" / "upstream" / f"{UPSTREAM_VERSION}.json").read_text())
    assert any("docs/sources/reference/components/loki/loki.write.md" in s for s in data["sources"])
    assert {"loki.write", "loki.source.docker", "discovery.docker", "otelcol.receiver.otlp"} <= REFERENCE.components
    assert "url" in REFERENCE.schemas["loki.write"]["blocks"]["endpoint"]["attributes"]


def messages(text: str) -> list[str]:
    return [p.message for p in check(parse(text), REFERENCE)]


def test_check_refuses_an_unknown_attribute_block_and_component():
    text = '''
loki.write "default" {
  endpoint {
    url      = "http://loki:3100/loki/api/v1/push"
    colour   = "blue"
  }
  queue {
  }
}
loki.writer "other" {
}
'''
    assert messages(text) == ['unrecognized attribute name "endpoint.colour"', 'unrecognized block name "queue"',
                              'cannot find the definition of component name "loki.writer"']


def test_check_refuses_name_conflicts_unlabelled_components_and_dangling_references():
    text = '''
loki.write "a" {
  endpoint { url = "http://x" }
}
loki.write "a" {
  endpoint { url = "http://y" }
}
loki.write {
}
loki.source.file "f" {
  targets    = []
  forward_to = [loki.write.b.receiver, loki.write.a.exports]
}
'''
    assert messages(text) == ["block loki.write.a already declared at 2:1", 'component "loki.write" must have a label',
                              'component "loki.write.b.receiver" does not exist or is out of scope',
                              'field "exports" does not exist in the exports of loki.write.a']


def test_a_real_component_the_double_does_not_run_is_refused_as_such():
    assert messages('otelcol.receiver.otlp "x" {\n}\n') == [
        'component "otelcol.receiver.otlp" is a real Alloy component, but the Alloy TEST DOUBLE does not implement it']


def test_alloy_validate_exits_1_with_alloys_diagnostics_and_0_on_a_good_file(tmp_path: Path):
    bad = tmp_path / "bad.alloy"
    bad.write_text('loki.write "x" {\n  endpoint {\n    url = "http://a"\n    colour = 1\n  }\n}\n')
    result = alloy(["validate", str(bad)], tmp_path)
    assert result.returncode == 1
    assert f'Error: {bad}:4:5: unrecognized attribute name "endpoint.colour"' in result.stderr
    good = tmp_path / "good.alloy"
    good.write_text('loki.write "x" {\n  endpoint {\n    url = "http://a"\n  }\n}\n')
    assert alloy(["validate", str(good)], tmp_path).returncode == 0
    assert alloy(["validate", "--no-such-flag", str(good)], tmp_path).stderr.strip() == \
        "Error: unknown flag: --no-such-flag"


def test_alloy_fmt_checks_the_syntax_only(tmp_path: Path):
    unknown_but_well_formed = tmp_path / "a.alloy"
    unknown_but_well_formed.write_text('no.such.component "x" {\n  whatever = 1\n}\n')
    result = alloy(["fmt", str(unknown_but_well_formed)], tmp_path)
    assert result.returncode == 0 and result.stdout == unknown_but_well_formed.read_text()
    broken = tmp_path / "b.alloy"
    broken.write_text('x "y" {\n  a = [\n')
    assert alloy(["fmt", str(broken)], tmp_path).returncode == 1


def test_the_alloy_roles_rendered_config_is_accepted(tmp_path: Path):
    text = render_role_template("alloy", "config.alloy.j2", tmp_path)
    assert messages(text) == []
    assert alloy(["validate", str(tmp_path / "config.alloy")], tmp_path).returncode == 0


def test_the_alloy_roles_extra_config_is_checked_too(tmp_path: Path):
    extra = 'loki.source.file "more" {\n  targets = []\n  forward_to = [loki.write.loki.receiver]\n  colour = 1\n}'
    render_role_template("alloy", "config.alloy.j2", tmp_path, {"alloy_extra_config": extra})
    result = alloy(["validate", str(tmp_path / "config.alloy")], tmp_path)
    assert result.returncode == 1 and 'unrecognized attribute name "colour"' in result.stderr
