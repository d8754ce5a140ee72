"""secret_problems: preflight's one line per secret that its component cannot take, never showing the value."""

from __future__ import annotations

from ansible_collections.data2ai.grafana_stack.plugins.filter.secret_problems import secret_problems

RULES = {"redis_password": {"forbidden": ",", "why": "Grafana's connection string splits on commas", "required": True},
         "other_secret": {}}


def test_a_comma_is_refused_in_one_line_that_names_the_variable_and_not_the_value() -> None:
    problems = secret_problems({"redis_password": "s3cret,with-comma"}, RULES)
    assert problems == ["redis_password: cannot contain ',': Grafana's connection string splits on commas"]
    assert "s3cret" not in problems[0]


def test_every_other_printable_character_is_accepted() -> None:
    printable = "".join(chr(code) for code in range(32, 127) if chr(code) != ",")
    assert secret_problems({"redis_password": printable, "other_secret": printable + ","}, RULES) == []


def test_an_empty_required_secret_and_a_control_character_are_refused() -> None:
    assert secret_problems({"redis_password": ""}, RULES) == ["redis_password: must not be empty"]
    assert secret_problems({"other_secret": "line\nbreak"}, RULES) == [
        "other_secret: only printable characters (no tabs, newlines or control characters)"]


def test_a_secret_the_inventory_does_not_set_is_not_checked() -> None:
    assert secret_problems({}, RULES) == []
    assert secret_problems({"redis_password": None}, RULES) == []
