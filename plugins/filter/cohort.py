# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of the cohort role: its checks against Grafana before any change, its record of the students whose
password comes from the inventory, and the starter-dashboard copies still to make."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

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


class FilterModule:
    def filters(self) -> dict:
        return {
            "cohort_grafana_problems": cohort_grafana_problems,
            "cohort_record_logins": cohort_record_logins,
            "cohort_record": cohort_record,
            "cohort_empty_files": cohort_empty_files,
            "cohort_missing_copies": cohort_missing_copies,
        }
