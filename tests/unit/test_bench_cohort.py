"""bench/bench_cohort.py's pure parts: the state comparison that stops the benchmark, medians, the table, and the
community.grafana playbook's object names, which must be the cohort role's."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from ansible_collections.data2ai.grafana_stack.plugins.filter.cohort import cohort_missing_copies

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_cohort.py"
_spec = importlib.util.spec_from_file_location("bench_cohort", BENCH)
assert _spec and _spec.loader
bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_cohort"] = bench
_spec.loader.exec_module(bench)

STATE = {"orgs": {("bench",)}, "users": {("s01", "Student 01", "s01@example.org")},
         "permission entries": {("bench", "cohort-bench-u-s01", "user s01", 2), ("bench", "cohort-bench-u-s01",
                                                                                 "role Editor", 2)}}


def test_the_same_states_compare_equal_and_a_missing_object_is_one_line_naming_its_kind() -> None:
    assert bench.compare_states(STATE, {k: set(v) for k, v in STATE.items()}) == []
    theirs = dict(STATE, **{"permission entries": {("bench", "cohort-bench-u-s01", "role Editor", 2)}})
    (line,) = bench.compare_states(STATE, theirs)
    assert line.startswith("permission entries: ours 2, community.grafana 1; only ours: ")
    assert "'user s01'" in line and "only community.grafana" not in line
    # The same count with another object (a user's name) differs too.
    (line,) = bench.compare_states(STATE, dict(STATE, users={("s01", "Student 1", "s01@example.org")}))
    assert line.startswith("users: ours 1, community.grafana 1; only ours: [('s01', 'Student 01'")
    # A kind only one side has differs too.
    (line,) = bench.compare_states(STATE, dict(STATE, teams={("bench", "team-1", "")}))
    assert line.startswith("teams: ours 0, community.grafana 1; only community.grafana: ")


def test_counts_name_every_kind() -> None:
    found = bench.counts(STATE)
    assert list(found) == list(bench.KINDS)
    assert found["permission entries"] == 2 and found["dashboards"] == 0


def run(layout: str, phase: str, way: str, seconds: float, requests: int = 100, server: float = 2.0) -> dict:
    return {"layout": layout, "phase": phase, "way": way, "seconds": seconds, "requests": requests,
            "server_seconds": server}


def test_medians_and_the_table_ratio_are_community_over_ours() -> None:
    runs = [run("single_org", "cold", "ours", s) for s in (3.0, 1.0, 2.0)]
    runs += [run("single_org", "cold", "community", s, requests=200) for s in (30.0, 50.0, 40.0)]
    assert bench.medians(runs) == {("single_org", "cold", "ours"): 2.0, ("single_org", "cold", "community"): 40.0}
    header, row = bench.table(runs).splitlines()
    assert header.split()[:5] == ["layout", "phase", "ours", "community", "ratio"]
    assert row.split() == ["single_org", "cold", "2.0s", "40.0s", "20.0x", "100/200", "20.0/10.0"]


def test_the_community_playbook_names_the_objects_as_the_cohort_role_does() -> None:
    cohort = bench.students(7)
    assert [s["team"] for s in cohort] == ["team-1"] * 5 + ["team-2"] * 2
    per_student = bench.community_vars("org_per_student", cohort)
    first = per_student["students"][0]
    assert (first["org_name"], first["org_role"], first["folder_uid"], first["team_folder_uid"]) == (
        "bench-s01", "Admin", "cohort-bench-u-s01", "")
    assert per_student["teams"] == []
    single = bench.community_vars("single_org", cohort)
    assert {s["org_name"] for s in single["students"]} == {"bench"}
    assert single["students"][4]["org_role"] == "Editor"
    assert [t["folder_uid"] for t in single["teams"]] == ["cohort-bench-t-team-1", "cohort-bench-t-team-2"]
    # The dashboard copies' uids are the role's own (plugins/filter/cohort.py).
    roster = [{"login": s["login"], "org_name": s["org_name"], "folder_uid": s["folder_uid"]}
              for s in single["students"]]
    copies = cohort_missing_copies(roster, [str(bench.STARTER)], bench.COHORT)
    assert [c["uid"] for c in copies] == [s["dashboard_uid"] for s in single["students"]]
