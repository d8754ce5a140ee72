# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of the cohort role: its checks against Grafana before any change, its record of the students whose
password comes from the inventory, its roster, the starter-dashboard copies still to make, and the desired state
that one grafana_cohort task applies."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ansible_collections.data2ai.grafana_stack.plugins.filter.cohort_prune import cohort_removed_logins

#: The record's first line; the other lines are logins, sorted.
RECORD_HEADER = ("# Students of this cohort whose password comes from the inventory (kept by the cohort role; "
                 "cohort_prune reads it)")

ADMIN_HINT = ("set cohort_grafana_user and cohort_grafana_password to a Grafana server admin's login "
              "(by default the grafana role's grafana_admin_user and grafana_admin_password)")


def _message(result: Mapping[str, Any]) -> str:
    body = result.get("json")
    if isinstance(body, Mapping) and body.get("message"):
        return " ".join(str(body["message"]).split())
    text = str(result.get("msg") or "").strip()
    # ansible.builtin.uri: "Status code was -1 and not [200]: Request failed: <urlopen error ...>"
    if ": " in text and text.startswith("Status code was"):
        text = text.split(": ", 1)[1]
    return " ".join(text.split())


def _who(index: int, student: Mapping[str, Any]) -> str:
    """A student as validate.yml names them: student #2 (Bob Durand, login 'bob')."""
    login = str(student.get("login") or "")
    parts = [str(student.get("name") or ""), f"login '{login}'" if login else ""]
    return f"student #{index} ({', '.join(p for p in parts if p) or 'no name'})"


LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
COHORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
ROLES = ("Admin", "Editor", "Viewer")


def _iterable(value: Any) -> bool:
    """Jinja's ``iterable`` test."""
    try:
        iter(value)
    except TypeError:
        return False
    return True


def cohort_problems(students: Any, cohort_name: Any, default_role: str = "Viewer",
                    prune_confirm: Any = None) -> list[str]:
    """validate.yml's check of the cohort's name, its students and cohort_prune_confirm: one line per problem, each
    naming the student (see _who); empty when the cohort can be provisioned."""
    problems = []
    if isinstance(prune_confirm, Mapping) or (
            prune_confirm is not None and not isinstance(prune_confirm, str) and not _iterable(prune_confirm)):
        problems.append("cohort_prune_confirm: give the logins to prune, a list or one string of logins separated by "
                        "commas")
    if not isinstance(cohort_name, str) or not COHORT_NAME.match(cohort_name):
        problems.append(f"cohort_name '{cohort_name}': use letters, digits, '-' and '_'")
    if isinstance(students, (str, Mapping)) or not _iterable(students):
        problems.append("cohort_students: give a list of students (name, login, email, role, team)")
        return problems
    logins: dict[str, str] = {}
    emails: dict[str, str] = {}
    for index, student in enumerate(students, start=1):
        if not isinstance(student, Mapping):
            problems.append(f"student #{index} is not a mapping of name, login, email, role and team")
            continue
        who = _who(index, student)
        login = str(student.get("login") or "")
        role = student.get("role") or default_role
        email = str(student.get("email") or "").lower()
        if not login:
            problems.append(f"{who} has no login")
        elif not LOGIN.match(login):
            problems.append(f"{who}: the login may hold only letters, digits, '.', '_', '@' and '-'")
        elif login.lower() in logins:
            problems.append(f"{who}: the login is already used by {logins[login.lower()]}")
        else:
            logins[login.lower()] = who
        if role not in ROLES:
            problems.append(f"{who} has role '{role}': use Admin, Editor or Viewer")
        if email and email in emails:
            problems.append(f"{who}: the email is already used by {emails[email]}")
        elif email:
            emails[email] = who
    return problems


def email_clashes(students: Iterable[Mapping[str, Any]], users: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per student whose email or login Grafana already gives to another user.

    Grafana refuses a new user whose email another user has (HTTP 412 "User with email ... or username ...
    already exists"), and refuses that email in an update; it gives a user without an email their login as
    email. A student's login that is another user's email would make a lookup by login find that other user.
    Logins and emails are compared without case, as Grafana does.
    """
    others = [(str(u.get("login") or ""), str(u.get("email") or "")) for u in users]
    problems = []
    for index, student in enumerate(students, start=1):
        login = str(student.get("login") or "")
        email = str(student.get("email") or "") or login
        for other_login, other_email in others:
            if not login or other_login.lower() == login.lower():
                continue
            if other_email and other_email.lower() == email.lower():
                what = f"the email {email}" if student.get("email") else f"the login '{login}' (its email in Grafana)"
                problems.append(f"{_who(index, student)}: {what} belongs to the existing Grafana user '{other_login}'")
            elif other_email and other_email.lower() == login.lower():
                problems.append(f"{_who(index, student)}: the login is the email of the existing Grafana user "
                                f"'{other_login}'")
            elif student.get("email") and other_login.lower() == email.lower():
                problems.append(f"{_who(index, student)}: the email {email} is the login of the existing Grafana "
                                f"user '{other_login}'")
    return problems


def cohort_grafana_problems(result: Mapping[str, Any], students: Iterable[Mapping[str, Any]], url: str,
                            user: str) -> list[str]:
    """What stops the cohort before any change, from the registered result of ``GET /api/users`` as the admin."""
    if result.get("skipped"):
        return ["no Grafana admin password: set cohort_grafana_password, or the grafana role's "
                "grafana_admin_password (from vault) that it defaults to"]
    status = int(result.get("status") or -1)
    reason = _message(result)
    if status == 401:
        return [f"Grafana at {url} refused the admin login '{user}' (HTTP 401 {reason}): {ADMIN_HINT}"]
    if status == 403:
        return [f"Grafana at {url}: '{user}' is not a Grafana server admin (HTTP 403 {reason}): {ADMIN_HINT}"]
    if status <= 0:
        return [f"Grafana is not reachable at {url} ({reason}): check cohort_grafana_url (by default the grafana "
                "role's grafana_api_url) and that Grafana runs"]
    if status != 200 or not isinstance(result.get("json"), list):
        return [f"Grafana at {url} answered HTTP {status} to the list of its users: {reason}"]
    clashes = email_clashes(students, result["json"])
    if clashes:
        return [*clashes, "change the student's email in the inventory, or that user's in Grafana; "
                          "no student was created"]
    return []


def cohort_record_logins(text: str) -> list[str]:
    """The logins a record holds (one a line; lines starting with '#' are comments)."""
    lines = (line.strip() for line in str(text or "").splitlines())
    return sorted({line for line in lines if line and not line.startswith("#")})


def cohort_record(text: str, add: Iterable[str] = (), remove: Iterable[str] = ()) -> str:
    """The record ``text`` with the logins of ``add`` and without those of ``remove``."""
    logins = (set(cohort_record_logins(text)) | {str(a) for a in add}) - {str(r) for r in remove}
    return "\n".join([RECORD_HEADER, *sorted(logins)]) + "\n"


def cohort_empty_files(paths: Iterable[str]) -> list[str]:
    """Of ``paths`` (files on the controller, where filters run), the empty ones."""
    return [path for path in paths if os.path.isfile(path) and os.path.getsize(path) == 0]


def copy_uid(cohort_name: str, login: str, src: str) -> str:
    """The uid of a student's copy of a starter dashboard: derived, so a re-run finds it."""
    digest = hashlib.sha1(f"{cohort_name}/{login}/{os.path.basename(src)}".encode()).hexdigest()
    return "cohort-d-" + digest[:31]


def cohort_missing_copies(roster: Iterable[Mapping[str, Any]], starters: Iterable[str], cohort_name: str,
                          hits: Iterable[Mapping[str, Any]] | None = None,
                          org_ids: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The copies of the starter dashboards to make: every student's, less those the search ``hits`` found.

    ``hits`` carry the ``orgId`` they were found in; ``org_ids`` maps the cohort's organization names to ids.
    Without ``hits`` (None), every copy is made (cohort_dashboards_overwrite).
    """
    found = set()
    names = {int(v): str(k) for k, v in (org_ids or {}).items() if v}
    for hit in hits or ():
        if hit.get("orgId") is not None and int(hit["orgId"]) in names:
            found.add((names[int(hit["orgId"])], str(hit.get("uid"))))
    copies = []
    for student in roster:
        for src in starters:
            uid = copy_uid(cohort_name, str(student["login"]), str(src))
            if hits is not None and (student["org_name"], uid) in found:
                continue
            copies.append({"login": student["login"], "org_name": student["org_name"], "src": src,
                           "folder_uid": student["folder_uid"], "uid": uid})
    return copies


#: a uid Grafana takes as it is (folders: at most 40 characters of these)
PLAIN_UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
#: the options of a cohort_datasources entry that grafana_cohort takes (as the grafana_datasource task did)
DATASOURCE_KEYS = ("name", "uid", "type", "data_source_url", "access", "is_default", "basic_auth", "basic_auth_user",
                   "user", "database", "json_data", "secure_json_data")


def _uid(cohort_name: str, what: str, name: str) -> str:
    """A folder uid derived from the cohort and a login (``what`` u) or a team (t); a hash when too long."""
    plain = f"cohort-{cohort_name}-{what}-{name}"
    if PLAIN_UID.match(plain):
        return plain
    return f"cohort-{what}-" + hashlib.sha1(f"{cohort_name}/{name}".encode()).hexdigest()[:31]


def cohort_roster(students: Iterable[Mapping[str, Any]], cohort_name: str, layout: str, org_name: str,
                  default_role: str = "Viewer", student_org_role: str = "", recorded: Iterable[str] = ()
                  ) -> dict[str, list[dict[str, Any]]]:
    """The cohort's ``roster`` (one entry per student) and the students ``removed`` from it.

    Folder uids are derived from the cohort and the login (case-sensitively unique: a recorded "Alice" and a listed
    "alice" each keep the uid of their folder), so a re-run finds the same folders. ``removed`` are the recorded
    logins no student has any more, compared case-insensitively as Grafana compares logins.
    """
    students = list(students)
    recorded = [str(login) for login in recorded]
    listed = [str(s["login"]) for s in students]
    folder_uids = {login: _uid(cohort_name, "u", login) for login in dict.fromkeys(listed + recorded)}
    own_org = layout == "org_per_student"
    team_uids = {}
    if layout == "single_org":
        for student in students:
            if student.get("team"):
                team_uids.setdefault(str(student["team"]), _uid(cohort_name, "t", str(student["team"])))
    roster = []
    for student in students:
        login = str(student["login"])
        role = student.get("role") or default_role
        team = str(student.get("team") or "") if layout == "single_org" else ""
        roster.append({
            "login": login,
            "name": student.get("name") or login,
            "email": student.get("email") or "",
            "role": role,
            "team": team,
            "team_folder_uid": team_uids.get(team, ""),
            "folder_uid": folder_uids[login],
            "org_name": f"{org_name}-{login}" if own_org else org_name,
            "member": {"login": login, "role": (student_org_role or role) if own_org else role},
            "password_given": len(str(student.get("password") or "")) > 0,
        })
    removed = [{"login": login, "folder_uid": folder_uids[login], "org_name": f"{org_name}-{login}"}
               for login in cohort_removed_logins(recorded, listed)]
    return {"roster": roster, "removed": removed}


def _datasource(org_name: str, entry: Mapping[str, Any], secrets_update: str | None) -> dict[str, Any]:
    wanted = {"org_name": org_name, "access": "proxy"}
    wanted.update({key: entry[key] for key in DATASOURCE_KEYS if entry.get(key) is not None})
    if secrets_update:
        # As the grafana role sends them: again in the run where InfluxDB's read-only token was replaced.
        wanted["secure_json_data_update"] = secrets_update
    return wanted


def cohort_grafana_state(roster: Iterable[Mapping[str, Any]], passwords: Mapping[str, str], layout: str,
                         org_name: str, folder_permission: str = "Edit", enforce_members: bool = False,
                         datasources: Iterable[Mapping[str, Any]] = (), secrets_update: str | None = None,
                         copies: Iterable[Mapping[str, Any]] = (), models: Mapping[str, Any] | None = None,
                         overwrite: bool = False, removed: Iterable[Mapping[str, Any]] = (),
                         prune: bool = False) -> dict[str, Any]:
    """The options of the one grafana_cohort task that provisions the cohort (see the role's README).

    ``passwords`` maps logins to passwords (empty: the inventory's password is gone, and the module asks for one
    if the user is new). ``copies`` are the starter-dashboard copies to make (cohort_missing_copies), ``models``
    the starter dashboards' JSON by path. ``removed`` are removed only with ``prune`` (a confirmed prune).
    """
    roster = list(roster)
    own_org = layout == "org_per_student"
    orgs = list(dict.fromkeys(s["org_name"] for s in roster))
    state: dict[str, Any] = {
        "users": [{"login": s["login"], "name": s["name"], "email": s["email"] or None,
                   "password": passwords.get(s["login"]) or None} for s in roster],
        "organizations": ([{"name": s["org_name"], "users": [s["member"]]} for s in roster] if own_org
                          else [{"name": org_name, "users": [s["member"] for s in roster]}] if roster else []),
        "teams": [], "folders": [],
        "datasources": [_datasource(org, entry, secrets_update) for org in orgs for entry in datasources],
    }
    # single_org: a team and a folder per student group; the team's members see their team's folder and, through
    # it, their teammates' folders; Editors and Admins keep their role-based access; other Viewers see nothing.
    for uid in dict.fromkeys(s["team_folder_uid"] for s in roster if s["team_folder_uid"]):
        students = [s for s in roster if s["team_folder_uid"] == uid]
        team = students[0]["team"]
        state["teams"].append({"org_name": org_name, "name": team, "members": sorted(s["login"] for s in students),
                               # Without pruning, a student who moved to another team also stays in the old one.
                               "enforce_members": bool(enforce_members)})
        state["folders"].append({"org_name": org_name, "uid": uid, "title": team, "label": f"{team}: {uid}",
                                 "permissions": [{"team": team, "permission": "View"},
                                                 {"role": "Editor", "permission": "Edit"}]})
    # Each student's own folder: the student's permission lets a Viewer save dashboards in it.
    for s in roster:
        state["folders"].append({
            "org_name": s["org_name"], "uid": s["folder_uid"], "title": f"{s['name']} ({s['login']})",
            "parent_uid": s["team_folder_uid"], "label": f"{s['login']}: {s['folder_uid']} ({folder_permission})",
            "permissions": [{"user": s["login"], "permission": folder_permission},
                            {"role": "Editor", "permission": "Edit"}]})
    copies = list(copies)
    state["dashboards"] = [{"org_name": c["org_name"], "uid": c["uid"], "folder_uid": c["folder_uid"],
                            "model": str(c["src"]), "overwrite": bool(overwrite),
                            "commit_message": f"Starter dashboard copied for {c['login']}",
                            "label": f"{c['login']}: {os.path.basename(str(c['src']))} ({c['uid']})"} for c in copies]
    used = {str(c["src"]) for c in copies}
    state["dashboard_models"] = {src: model for src, model in (models or {}).items() if src in used}
    removed = list(removed) if prune else []
    state["remove_folders"] = [] if own_org else [{"org_name": org_name, "uid": r["folder_uid"]} for r in removed]
    state["remove_organizations"] = [r["org_name"] for r in removed] if own_org else []
    state["remove_users"] = [r["login"] for r in removed]
    return state


class FilterModule:
    def filters(self) -> dict:
        return {
            "cohort_problems": cohort_problems,
            "cohort_grafana_problems": cohort_grafana_problems,
            "cohort_record_logins": cohort_record_logins,
            "cohort_record": cohort_record,
            "cohort_empty_files": cohort_empty_files,
            "cohort_missing_copies": cohort_missing_copies,
            "cohort_roster": cohort_roster,
            "cohort_grafana_state": cohort_grafana_state,
        }
