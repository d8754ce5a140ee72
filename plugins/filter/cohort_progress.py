# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of the cohort's progress report (playbooks/progress.yml, roles/cohort/tasks/progress.yml)."""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping
from xml.etree import ElementTree

from ansible_collections.data2ai.grafana_stack.plugins.filter.cohort import cohort_roster


def cohort_progress_students(students: Iterable[Mapping[str, Any]], cohort_name: str, layout: str,
                             org_name: str) -> list[dict[str, str]]:
    """The students as grafana_progress takes them: login, and the organization and folder the cohort role made."""
    roster = cohort_roster(students, cohort_name, layout, org_name)["roster"]
    return [{"login": s["login"], "org_name": s["org_name"], "folder_uid": s["folder_uid"]} for s in roster]


def _columns(per_host: Mapping[str, Any], exercises: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    columns = [(str(e["id"]), str(e.get("title") or e["id"])) for e in exercises or ()]
    if columns:
        return columns
    for students in per_host.values():
        for student in students if isinstance(students, list) else ():
            return [(r["id"], r["title"]) for r in student.get("exercises") or ()]
    return []


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _markdown(per_host: Mapping[str, Any], cohort: str, columns: list[tuple[str, str]]) -> str:
    many = len(per_host) > 1
    lines = [f"# Progress of cohort {cohort}" if cohort else "# Progress of the cohort", ""]
    if columns:
        lines += ["| Exercise | What is asked |", "|---|---|"]
        lines += [f"| {_cell(ex_id)} | {_cell(title)} |" for ex_id, title in columns]
        lines.append("")
    ids = [ex_id for ex_id, title in columns]
    head = (["VM"] if many else []) + ["Student", "Done", *ids]
    lines += ["| " + " | ".join(_cell(h) for h in head) + " |", "|" + "---|" * len(head)]
    missing = []
    for host, students in per_host.items():
        if not isinstance(students, list):
            cells = ([host] if many else []) + ["(not checked)", _cell(students)] + [""] * len(columns)
            lines.append("| " + " | ".join(cells) + " |")
            continue
        for student in students:
            marks = {r["id"]: r for r in student.get("exercises") or ()}
            row = ([host] if many else []) + [student["login"], f"{student['done']}/{student['total']}"]
            row += ["yes" if marks.get(ex_id, {}).get("done") else "no" for ex_id in ids]
            lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
            for ex_id in ids:
                result = marks.get(ex_id)
                if result and not result["done"]:
                    where = f"{host}: " if many else ""
                    missing.append(f"- {where}{student['login']}, {ex_id}: {result['detail']}")
    if missing:
        lines += ["", "## Not done yet", "", *missing]
    return "\n".join(lines) + "\n"


def _junit(per_host: Mapping[str, Any], cohort: str, columns: list[tuple[str, str]]) -> str:
    suites = ElementTree.Element("testsuites", name=f"progress of {cohort}" if cohort else "progress")
    total = failed = 0
    for host, students in per_host.items():
        suite = ElementTree.SubElement(suites, "testsuite", name=str(host))
        cases = fails = errors = 0
        if not isinstance(students, list):
            case = ElementTree.SubElement(suite, "testcase", classname=str(host), name="progress check")
            ElementTree.SubElement(case, "error", message=str(students))
            cases, errors = 1, 1
        else:
            for student in students:
                marks = {r["id"]: r for r in student.get("exercises") or ()}
                for ex_id, title in columns:
                    result = marks.get(ex_id, {"done": False, "detail": "not checked"})
                    case = ElementTree.SubElement(suite, "testcase", classname=f"{host}.{student['login']}",
                                                  name=f"{ex_id}: {title}")
                    cases += 1
                    if not result["done"]:
                        ElementTree.SubElement(case, "failure", message=str(result["detail"]))
                        fails += 1
        suite.set("tests", str(cases))
        suite.set("failures", str(fails))
        suite.set("errors", str(errors))
        total += cases
        failed += fails + errors
    suites.set("tests", str(total))
    suites.set("failures", str(failed))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"


def cohort_progress_report(per_host: Mapping[str, Any], kind: str, cohort: str = "",
                           exercises: Iterable[Mapping[str, Any]] | None = None) -> str:
    """The report of the whole cohort in one format (see DOCUMENTATION)."""
    columns = _columns(per_host, exercises or ())
    if kind == "markdown":
        return _markdown(per_host, cohort, columns)
    if kind == "junit":
        return _junit(per_host, cohort, columns)
    if kind == "json":
        hosts = {host: students if isinstance(students, list) else {"error": str(students)}
                 for host, students in per_host.items()}
        document = {"cohort": cohort, "exercises": [{"id": i, "title": t} for i, t in columns], "hosts": hosts}
        return json.dumps(document, indent=2, sort_keys=True) + "\n"
    raise ValueError(f"cohort_progress_report: format must be markdown, json or junit, not {kind!r}")


class FilterModule:
    def filters(self) -> dict:
        return {
            "cohort_progress_students": cohort_progress_students,
            "cohort_progress_report": cohort_progress_report,
        }
