# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of one student's lifecycle (playbooks/student.yml, roles/cohort/tasks/student.yml): what a reset or a
remove of one student does, and the credentials handout of the cohort (roles/cohort/tasks/handout.yml).

Documentation: cohort_student_plan.yml and cohort_handout.yml beside this file.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Mapping
from typing import Any

from ansible.errors import AnsibleError
from ansible_collections.data2ai.grafana_stack.plugins.filter.cohort import (
    cohort_grafana_state,
    cohort_record_logins,
    cohort_roster,
)
from ansible_collections.data2ai.grafana_stack.plugins.filter.cohort_prune import _as_bool

ACTIONS = ("reset", "remove")
CONFIRM_VARIABLE = "student_remove_confirm"
RECORD_NAME = ".passwords-from-inventory.txt"
#: what the handout says for a password it cannot know
UNKNOWN_PASSWORD = "(not known: the inventory gave it once and gives none now)"


def _same(a: Any, b: Any) -> bool:
    return str(a).lower() == str(b).lower()


def cohort_recorded_logins(credentials_dir: str) -> list[str]:
    """The students provisioned before, as the cohort role records them under ``credentials_dir`` on the controller
    (where filters run): a ``<login>.txt`` file, or a line of the record of inventory passwords."""
    if not credentials_dir or not os.path.isdir(credentials_dir):
        return []
    files = {name[:-4] for name in os.listdir(credentials_dir) if name.endswith(".txt") and not name.startswith(".")}
    record = os.path.join(credentials_dir, RECORD_NAME)
    text = ""
    if os.path.isfile(record):
        with open(record, encoding="utf-8") as handle:
            text = handle.read()
    return sorted(files | set(cohort_record_logins(text)))


def _what(layout: str) -> str:
    return "user, folder and organization" if layout == "org_per_student" else "user and folder"


def cohort_student_plan(students: Iterable[Mapping[str, Any]], student: Any, action: Any, cohort_name: str,
                        layout: str, org_name: str, recorded: Iterable[str] = (), confirm: Any = None,
                        default_role: str = "Viewer", student_org_role: str = "") -> dict[str, Any]:
    """What ``action`` (reset or remove) does to the student whose login is ``student``.

    Returns ``problem`` (one line when the action, the login or the student is missing or unknown, else empty),
    ``login`` (as the inventory or the record spells it), ``roster`` (the student's roster entry, for a reset),
    ``removed`` (the student's login, folder uid and organization, for a remove), ``confirmed`` (a remove whose
    ``confirm`` names exactly that login, case-insensitively), ``refusal`` (one line for a remove not confirmed),
    and ``message`` (one line for the run's output). It holds no password: the task that sets it prints it with -v.
    """
    students = [s for s in students if isinstance(s, Mapping)]
    login = str(student if student is not None else "").strip()
    action = str(action if action is not None else "").strip()
    plan: dict[str, Any] = {"problem": "", "login": login, "action": action, "roster": [], "removed": [],
                            "confirmed": False, "refusal": "", "message": ""}
    example = "as in -e student=<login> -e action=reset (or action=remove)"
    if not login:
        plan["problem"] = f"student: give the login of one student, {example}"
        return plan
    if action not in ACTIONS:
        given = f"action={action}" if action else "no action"
        plan["problem"] = f"{given} for student {login}: give action=reset or action=remove, {example}"
        return plan
    listed = [s for s in students if _same(s.get("login"), login)]
    known = [str(r) for r in recorded if _same(r, login)]
    if action == "reset":
        if not listed:
            plan["problem"] = (f"student {login} is not in cohort_students of cohort {cohort_name}: a reset needs "
                               "their entry (name, email, role, team); nothing was changed")
            return plan
        roster = cohort_roster(listed, cohort_name, layout, org_name, default_role=default_role,
                               student_org_role=student_org_role)["roster"]
        plan.update(login=roster[0]["login"], roster=roster,
                    message=f"Resetting student {roster[0]['login']}: the starter dashboards in their folder and a "
                            "new initial password.")
        return plan
    if not listed and not known:
        plan["problem"] = (f"student {login} is neither in cohort_students of cohort {cohort_name} nor recorded as "
                           "provisioned under cohort_credentials_dir: nobody to remove; nothing was removed")
        return plan
    login = str(listed[0]["login"]) if listed else known[0]
    others = [s for s in students if not _same(s.get("login"), login)]
    removed = cohort_roster(others, cohort_name, layout, org_name, recorded=[login])["removed"]
    what = _what(layout)
    given = str(confirm if confirm is not None else "").strip()
    plan.update(login=login, removed=removed)
    if _same(given, login):
        still = (f" {login} is still in cohort_students: take the entry out of the inventory, or the next cohort "
                 "run provisions the student again." if listed else "")
        plan.update(confirmed=True, message=f"Removing from Grafana the {what} of student {login}.{still}")
        return plan
    plan["refusal"] = (f"action=remove would remove the {what} of student {login}; {CONFIRM_VARIABLE} must name "
                       f"exactly this login and names {given or 'nothing'}. Confirm with "
                       f"-e {CONFIRM_VARIABLE}={login}. Nothing was removed.")
    plan["message"] = f"A remove would remove the {what} of student {login}."
    return plan


def cohort_student_wipe(hits: Iterable[Mapping[str, Any]], folder_uid: str, org_name: str,
                        keep: Iterable[str] = ()) -> dict[str, list[dict[str, str]]]:
    """What a reset with a wipe removes from the student's folder: the dashboards in it (search hits of type
    dash-db) that are not the starter copies ``keep``, and its subfolders (hits of type dash-folder), with what
    they hold."""
    kept = set(keep)
    dashboards, folders = [], []
    for hit in hits:
        if str(hit.get("folderUid") or "") != folder_uid or hit.get("uid") in kept or hit.get("uid") == folder_uid:
            continue
        entry = {"org_name": org_name, "uid": str(hit["uid"])}
        (folders if hit.get("type") == "dash-folder" else dashboards).append(entry)
    return {"remove_dashboards": sorted(dashboards, key=lambda e: e["uid"]),
            "remove_folders": sorted(folders, key=lambda e: e["uid"])}


def cohort_student_state(plan: Mapping[str, Any], password: str, layout: str, org_name: str,
                         copies: Iterable[Mapping[str, Any]] = (), models: Mapping[str, Any] | None = None,
                         wipe: Mapping[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    """The options of the grafana_cohort task of a reset (the student's starter state, the new ``password`` set
    again on every run, the copies made equal to the starter dashboards, and what ``wipe`` removes) or of a confirmed
    remove. ``options`` are cohort_grafana_state's (folder_permission, datasources, secrets_update)."""
    if plan.get("action") == "remove":
        return cohort_grafana_state([], {}, layout, org_name, removed=plan.get("removed") or [],
                                    prune=bool(plan.get("confirmed")))
    roster = list(plan.get("roster") or [])
    passwords = {str(s["login"]): password for s in roster}
    state = cohort_grafana_state(roster, passwords, layout, org_name, copies=copies, models=models, overwrite=True,
                                 **options)
    for user in state["users"]:
        user["password_update"] = "always"
    state["remove_dashboards"] = list((wipe or {}).get("remove_dashboards") or [])
    if wipe:
        state["remove_folders"] = list(wipe.get("remove_folders") or [])
    return state


def cohort_known_passwords(students: Iterable[Mapping[str, Any]], credentials_dir: str) -> dict[str, str]:
    """Each student's initial password: the inventory's, else the one the controller keeps in
    ``<credentials_dir>/<login>.txt``, else empty (not known)."""
    known = {}
    for student in students:
        login = str(student.get("login") or "")
        given = str(student.get("password") or "")
        path = os.path.join(str(credentials_dir or ""), f"{login}.txt")
        if not given and credentials_dir and os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                given = handle.read().strip()
        known[login] = given
    return known


def _hostvar(hv: Mapping[str, Any], name: str) -> Any:
    """A host's variable, or None when it is not set or cannot be templated here (a host variable that names a
    role default, which hostvars do not hold): the handout falls back, and never stops the run."""
    try:
        return hv.get(name)
    except AnsibleError:
        return None


def cohort_handout_urls(hosts: Iterable[str], hostvars: Mapping[str, Any]) -> list[str]:
    """The URL students open, per host of the play: ``cohort_handout_url`` of the host, else the grafana role's
    ``grafana_root_url``, else the address the grafana role makes it from (``ansible_host``, ``grafana_host_port``,
    https with ``grafana_tls``)."""
    urls = []
    for host in hosts:
        hv = hostvars[host]
        url = _hostvar(hv, "cohort_handout_url") or _hostvar(hv, "grafana_root_url")
        if not url:
            scheme = "https" if _as_bool(_hostvar(hv, "grafana_tls")) else "http"
            url = f"{scheme}://{_hostvar(hv, 'ansible_host') or host}:{_hostvar(hv, 'grafana_host_port') or 3000}/"
        if str(url) not in urls:
            urls.append(str(url))
    return urls


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{_md_cell(text)}{pad}{fence}"


def cohort_handout(roster: Iterable[Mapping[str, Any]], passwords: Mapping[str, Any], urls: Iterable[str],
                   fmt: str = "markdown", cohort: str = "") -> str:
    """The credentials handout of the cohort, as Markdown (``fmt`` markdown) or CSV (csv): per student, name,
    login, initial password, organization and the Grafana URL(s). The same input gives the same text."""
    urls = [str(u) for u in urls]
    rows = []
    for s in roster:
        password = str(passwords.get(str(s["login"])) or "") or UNKNOWN_PASSWORD
        rows.append((str(s.get("name") or s["login"]), str(s["login"]), password, str(s.get("org_name") or "")))
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["name", "login", "password", "organization", "grafana_url"])
        for row in rows:
            writer.writerow([*row, " ".join(urls)])
        return out.getvalue()
    if fmt != "markdown":
        raise ValueError(f"cohort_handout: format '{fmt}': use markdown or csv")
    lines = [f"# Grafana accounts of cohort {cohort}" if cohort else "# Grafana accounts of the cohort", "",
             "Private: this file holds each student's initial password (keep it mode 0600, never commit it). A "
             "student who changed their password in Grafana signs in with their own.", "",
             "Grafana: " + ", ".join(urls), "",
             "| Student | Login | Initial password | Organization |", "|---|---|---|---|"]
    for name, login, password, org in rows:
        lines.append(f"| {_md_cell(name)} | {_md_cell(login)} | {_md_code(password)} | {_md_cell(org)} |")
    return "\n".join(lines) + "\n"


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "cohort_recorded_logins": cohort_recorded_logins,
            "cohort_student_plan": cohort_student_plan,
            "cohort_student_wipe": cohort_student_wipe,
            "cohort_student_state": cohort_student_state,
            "cohort_known_passwords": cohort_known_passwords,
            "cohort_handout_urls": cohort_handout_urls,
            "cohort_handout": cohort_handout,
        }
