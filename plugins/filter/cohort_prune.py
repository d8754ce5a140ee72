# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The cohort role's prune: which students left the inventory, and whether removing them is confirmed.

Logins are compared case-insensitively, as Grafana compares them (pkg/services/user/userimpl/store.go lowers a
login before looking it up, and stores logins in lower case since Grafana 11). Documentation: cohort_removed_logins.yml
and cohort_prune_plan.yml beside this file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ansible.errors import AnsibleFilterError

CONFIRM_VARIABLE = "cohort_prune_confirm"


def _key(login: Any) -> str:
    return str(login).lower()


def _logins(value: Any, name: str) -> list[str]:
    """A list of logins, or a string of logins separated by commas (as given with -e)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, Iterable) and not isinstance(value, dict):
        return [str(item).strip() for item in value if str(item).strip()]
    raise AnsibleFilterError(f"{name}: give a list of logins (or one string of logins separated by commas)")


def cohort_removed_logins(recorded: Any, listed: Any) -> list[str]:
    kept = {_key(login) for login in _logins(listed, "listed")}
    return sorted({login for login in _logins(recorded, "recorded") if _key(login) not in kept})


def _what(layout: str) -> str:
    return "users, folders and organizations" if layout == "org_per_student" else "users and folders"


def cohort_prune_plan(removed: Any, prune: Any, confirm: Any, layout: str = "single_org") -> dict[str, Any]:
    """What the prune of the ``removed`` logins does.

    Returns ``logins`` (sorted), ``confirmed`` (remove them: cohort_prune is on and the confirmation names exactly
    these logins, compared case-insensitively), ``refusal`` (one line when cohort_prune is on and not confirmed, else
    empty) and ``message`` (one line for the run's output).
    """
    logins = sorted(set(_logins(removed, "removed")))
    names = ", ".join(logins)
    what = _what(layout)
    if not logins:
        return {"logins": [], "confirmed": False, "refusal": "", "message": "No student left the inventory."}
    hint = f"-e {CONFIRM_VARIABLE}={','.join(logins)}"
    if not _as_bool(prune):
        message = (f"Kept in Grafana, no longer in cohort_students: {names}. To remove their {what}, set "
                   f"cohort_prune=true and {CONFIRM_VARIABLE} to exactly these logins ({hint}).")
        return {"logins": logins, "confirmed": False, "refusal": "", "message": message}
    confirmed = {_key(login) for login in _logins(confirm, CONFIRM_VARIABLE)}
    if confirmed == {_key(login) for login in logins}:
        message = f"Removing from Grafana the {what} of the students no longer in cohort_students: {names}."
        return {"logins": logins, "confirmed": True, "refusal": "", "message": message}
    given = ", ".join(sorted(_logins(confirm, CONFIRM_VARIABLE))) or "nothing"
    refusal = (f"cohort_prune=true would remove the {what} of the students no longer in cohort_students: {names}; "
               f"{CONFIRM_VARIABLE} must name exactly these logins and names {given}. Confirm with {hint}. "
               "Nothing was removed.")
    message = f"A prune would remove the {what} of: {names}."
    return {"logins": logins, "confirmed": False, "refusal": refusal, "message": message}


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y", "t")
    return bool(value)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"cohort_removed_logins": cohort_removed_logins, "cohort_prune_plan": cohort_prune_plan}
