"""Folder permissions (the legacy ACL view of Grafana's managed folder permissions) and access checks.

Each folder keeps its own ACL under ``acl``: entries ``{"user_id"|"team_id"|"role", "permission"}`` with
permission 1 (View), 2 (Edit) or 4 (Admin). Like Grafana 10+ with nested folders:

* a new top-level folder gets Editor -> Edit and Viewer -> View; a nested one gets no entry of its own and
  inherits its parents' (Grafana also gives the creating user Admin; the double leaves that entry out);
* what a caller may do in a folder is the highest permission among the entries of the folder and of its
  ancestors that name the caller, one of the caller's teams, or a basic role the caller's org role includes
  (Admin includes Editor includes Viewer);
* an org Admin always has Admin (Grafana's basic Admin role, not a managed entry, so never listed);
* the General (root) folder is role based: Editors edit, Viewers view.
"""

from __future__ import annotations

from typing import Any

from .web import ROLE_RANK, Identity

VIEW = 1
EDIT = 2
ADMIN = 4
PERMISSION_NAMES = {VIEW: "View", EDIT: "Edit", ADMIN: "Admin"}
ACL_ROLES = ("Viewer", "Editor", "Admin")


def default_acl(parent_uid: str, created: str) -> list[dict[str, Any]]:
    """The ACL Grafana gives a new folder: role defaults at the top level, inheritance when nested."""
    if parent_uid:
        return []
    return [
        {"role": "Editor", "permission": EDIT, "created": created, "updated": created},
        {"role": "Viewer", "permission": VIEW, "created": created, "updated": created},
    ]


def folder_acl(folder: dict[str, Any]) -> list[dict[str, Any]]:
    """The folder's own entries; folders stored before the double knew ACLs get the defaults."""
    if "acl" not in folder:
        return default_acl(folder.get("parent_uid") or "", folder.get("created") or "")
    return list(folder["acl"])


def team_ids_of(store: Any, org_id: int, user_id: int) -> set[int]:
    return {t["id"] for t in store.where("teams", org_id=org_id) if user_id in t["members"]}


def _entry_applies(entry: dict[str, Any], identity: Identity, teams: set[int]) -> bool:
    if entry.get("user_id"):
        return entry["user_id"] == identity.user_id
    if entry.get("team_id"):
        return entry["team_id"] in teams
    role = entry.get("role")
    return bool(role) and ROLE_RANK.get(identity.org_role, 0) >= ROLE_RANK.get(role, 99)


def folder_chain(store: Any, org_id: int, folder_uid: str) -> list[dict[str, Any]]:
    """The folder and its ancestors, nearest first; empty for the General folder or an unknown uid."""
    chain: list[dict[str, Any]] = []
    uid = folder_uid
    while uid:
        folder = store.find("folders", org_id=org_id, uid=uid)
        if folder is None or folder in chain:
            break
        chain.append(folder)
        uid = folder.get("parent_uid") or ""
    return chain


def effective_permission(store: Any, identity: Identity, org_id: int, folder_uid: str) -> int:
    """The highest permission the caller holds on a folder (0: none)."""
    rank = ROLE_RANK.get(identity.org_role, 0)
    if rank >= ROLE_RANK["Admin"]:
        return ADMIN
    if not folder_uid:
        return EDIT if rank >= ROLE_RANK["Editor"] else (VIEW if rank >= ROLE_RANK["Viewer"] else 0)
    teams = team_ids_of(store, org_id, identity.user_id)
    best = 0
    for folder in folder_chain(store, org_id, folder_uid):
        for entry in folder_acl(folder):
            if _entry_applies(entry, identity, teams):
                best = max(best, int(entry.get("permission") or 0))
    return best


def can(store: Any, identity: Identity | None, org_id: int, folder_uid: str, needed: int) -> bool:
    if identity is None:
        return True
    return effective_permission(store, identity, org_id, folder_uid) >= needed
