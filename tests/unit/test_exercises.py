"""Exercise checks (plugins/module_utils/exercises.py): the exercise list's validation and the judgement of one
student's dashboards and alert rules, without Grafana."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.exercises import (
    Datasources,
    judge_student,
    needs_whole_org,
    panels_of,
    validate_exercises,
)

SOURCES = Datasources([
    {"uid": "prom", "name": "Prometheus", "type": "prometheus", "isDefault": True},
    {"uid": "loki", "name": "Loki", "type": "loki"},
])
FOLDER = "cohort-c42-u-alice"


def dashboard(panels: list[dict[str, Any]], title: str = "Mine", variables: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"uid": "d1", "title": title, "panels": panels,
            "templating": {"list": [{"name": name, "type": "query"} for name in variables]}}


def meta(by: str = "alice", folder: str = FOLDER) -> dict[str, Any]:
    return {"createdBy": "admin", "updatedBy": by, "folderUid": folder}


def judge(exercise: dict[str, Any], dashboards=(), rules=(), login: str = "alice") -> dict[str, Any]:
    assert validate_exercises([exercise]) == []
    return judge_student([exercise], login, FOLDER, list(dashboards), list(rules), SOURCES)[0]


RATE = {"id": "rate", "title": "rate(", "dashboard": {"panel_query_contains": "rate("}}


def test_a_panel_whose_query_uses_rate_in_the_students_folder_is_done() -> None:
    panel = {"type": "timeseries", "targets": [{"refId": "A", "expr": "sum(rate(x_total[5m]))"}]}
    result = judge(RATE, [(dashboard([panel]), meta())])
    assert result["done"] is True
    assert "Mine" in result["detail"]


def test_a_dashboard_the_student_never_saved_does_not_count() -> None:
    # A starter copy made by the instructor's run: created and updated by admin.
    panel = {"type": "timeseries", "targets": [{"expr": "rate(x[1m])"}]}
    result = judge(RATE, [(dashboard([panel]), meta(by="admin"))])
    assert result == {"id": "rate", "title": "rate(", "done": False,
                      "detail": "no dashboard created or saved by the student here"}


def test_the_creator_or_last_saver_counts_and_logins_compare_ignoring_case() -> None:
    panel = {"targets": [{"expr": "rate(x[1m])"}]}
    created = {"createdBy": "Alice", "updatedBy": "admin", "folderUid": FOLDER}
    assert judge(RATE, [(dashboard([panel]), created)])["done"] is True


def test_only_the_students_folder_unless_where_org() -> None:
    panel = {"targets": [{"expr": "rate(x[1m])"}]}
    elsewhere = [(dashboard([panel]), meta(folder="other"))]
    assert judge(RATE, elsewhere)["done"] is False
    org_wide = {"id": "rate", "title": "t", "dashboard": {"where": "org", "panel_query_contains": "rate("}}
    assert judge(org_wide, elsewhere)["done"] is True
    assert needs_whole_org([org_wide]) and not needs_whole_org([RATE])


def test_legend_and_bookkeeping_fields_are_not_the_query() -> None:
    panel = {"targets": [{"expr": "up", "legendFormat": "rate({{instance}})"}]}
    assert judge(RATE, [(dashboard([panel]), meta())])["done"] is False


def test_panels_inside_collapsed_rows_are_seen() -> None:
    inner = {"type": "stat", "targets": [{"expr": "rate(y[1m])"}]}
    row = {"type": "row", "collapsed": True, "panels": [inner]}
    assert panels_of(dashboard([row])) == [inner]
    assert judge(RATE, [(dashboard([row]), meta())])["done"] is True


@pytest.mark.parametrize("panel, done", [
    ({"datasource": {"type": "loki", "uid": "loki"}, "targets": [{"expr": "{job=\"x\"}"}]}, True),
    ({"datasource": {"uid": "loki"}, "targets": [{"expr": "{job=\"x\"}"}]}, True),  # type from the uid
    ({"datasource": "Loki", "targets": [{"expr": "{job=\"x\"}"}]}, True),  # legacy: the datasource's name
    ({"datasource": "-- Mixed --", "targets": [{"datasource": {"uid": "loki"}, "expr": "x"}]}, True),
    ({"targets": [{"expr": "up"}]}, False),  # the organization's default: Prometheus
    ({"datasource": {"uid": "gone"}, "targets": [{"expr": "x"}]}, False),
])
def test_a_loki_panel_is_told_by_its_datasource_reference(panel: dict[str, Any], done: bool) -> None:
    loki = {"id": "loki", "title": "A Loki panel", "dashboard": {"panel_datasource_type": "loki"}}
    assert judge(loki, [(dashboard([panel]), meta())])["done"] is done


def test_panel_criteria_must_hold_on_one_and_the_same_panel() -> None:
    both = {"id": "both", "title": "t", "dashboard": {"panel_datasource_type": "loki", "panel_query_contains": "rate("}}
    split = [{"datasource": {"uid": "loki"}, "targets": [{"expr": "{a=\"b\"}"}]},
             {"datasource": {"uid": "prom"}, "targets": [{"expr": "rate(x[1m])"}]}]
    assert judge(both, [(dashboard(split), meta())])["done"] is False
    together = [{"datasource": {"uid": "loki"}, "targets": [{"expr": "sum(rate({a=\"b\"}[1m]))"}]}]
    assert judge(both, [(dashboard(together), meta())])["done"] is True


def test_a_variable_named_instance() -> None:
    wanted = {"id": "var", "title": "t", "dashboard": {"variable_name": "instance"}}
    assert judge(wanted, [(dashboard([], variables=("job",)), meta())])["detail"].endswith(
        "no variable named 'instance'")
    assert judge(wanted, [(dashboard([], variables=("job", "instance")), meta())])["done"] is True


def test_min_panels_title_and_regex() -> None:
    wanted = {"id": "x", "title": "t", "dashboard": {"min_panels": 2, "title_contains": "latency",
                                                     "panel_query_matches": r"histogram_quantile\(0\.9\d"}}
    panels = [{"targets": [{"expr": "histogram_quantile(0.95, sum by (le) (rate(b[5m])))"}]}, {"type": "text"}]
    assert judge(wanted, [(dashboard(panels, title="My Latency"), meta())])["done"] is True
    assert judge(wanted, [(dashboard(panels[:1], title="My Latency"), meta())])["done"] is False
    assert judge(wanted, [(dashboard(panels, title="Other"), meta())])["done"] is False


def test_an_alert_rule_in_the_students_folder() -> None:
    rule = {"uid": "r1", "title": "High error rate", "folderUID": FOLDER,
            "data": [{"refId": "A", "datasourceUid": "prom", "model": {"expr": "rate(errors_total[5m]) > 1"}},
                     {"refId": "B", "datasourceUid": "__expr__", "model": {"type": "threshold", "expression": "A"}}]}
    any_rule = {"id": "alert", "title": "An alert rule", "alert_rule": {}}
    assert judge(any_rule, rules=[rule])["done"] is True
    assert judge(any_rule, rules=[dict(rule, folderUID="other")])["detail"] == "no alert rule here"
    specific = {"id": "alert", "title": "t", "alert_rule": {"query_contains": "errors_total",
                                                            "datasource_type": "prometheus"}}
    assert judge(specific, rules=[rule])["done"] is True
    loki_rule = {"id": "alert", "title": "t", "alert_rule": {"datasource_type": "loki"}}
    assert "no query on a loki datasource" in judge(loki_rule, rules=[rule])["detail"]


@pytest.mark.parametrize("exercises, problem", [
    ("rate", "a list of exercises is expected"),
    ([{"title": "t", "dashboard": {}}], "exercise 1: id is missing"),
    ([RATE, RATE], "exercise 'rate': the id is used twice"),
    ([{"id": "x", "dashboard": {}, "alert_rule": {}}], "exercise 'x': give exactly one of dashboard, alert_rule"),
    ([{"id": "x", "panel": {}}], "exercise 'x': unknown key(s) panel"),
    ([{"id": "x", "dashboard": {"panel_query_contain": "rate("}}], "dashboard has no criterion 'panel_query_contain'"),
    ([{"id": "x", "dashboard": {"min_panels": "two"}}], "dashboard.min_panels must be a whole number"),
    ([{"id": "x", "dashboard": {"where": "everywhere"}}], "dashboard.where must be one of folder, org"),
    ([{"id": "x", "alert_rule": {"query_matches": "rate("}}], "alert_rule.query_matches is not a regular expression"),
    ([{"id": "x", "dashboard": ["rate("]}], "dashboard takes a mapping of criteria"),
])
def test_an_exercise_list_that_cannot_be_checked_is_refused_with_one_line_each(exercises: Any, problem: str) -> None:
    problems = validate_exercises(exercises)
    assert any(problem in line for line in problems), problems
