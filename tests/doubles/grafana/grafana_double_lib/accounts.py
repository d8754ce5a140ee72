"""User records as the API shows them, and clean-up shared by users, orgs and teams."""

from __future__ import annotations

import hashlib
from typing import Any

from .common import as_int
from .state import Store
from .web import error


def avatar_url(email: str) -> str:
    return "/avatar/" + hashlib.md5(email.strip().lower().encode()).hexdigest()


def require_user_by_id(store: Store, raw_id: str) -> dict[str, Any]:
    user = store.find("users", id=as_int(raw_id, -1), is_service_account=False)
    if user is None:
        raise error(404, "user not found")
    return user


def profile_dto(user: dict[str, Any]) -> dict[str, Any]:
    """UserProfileDTO (GET /api/user, /api/users/:id, /api/users/lookup)."""
    return {
        "id": user["id"],
        "uid": user["uid"],
        "email": user["email"],
        "name": user["name"],
        "login": user["login"],
        "theme": user["theme"],
        "orgId": user["org_id"],
        "isGrafanaAdmin": bool(user["is_admin"]),
        "isDisabled": bool(user["is_disabled"]),
        "isExternal": False,
        "isExternallySynced": False,
        "isGrafanaAdminExternallySynced": False,
        "authLabels": [],
        "updatedAt": user["updated"],
        "createdAt": user["created"],
        "avatarUrl": avatar_url(user["email"]),
        "isProvisioned": False,
    }


def search_hit(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": user["id"],
        "uid": user["uid"],
        "name": user["name"],
        "login": user["login"],
        "email": user["email"],
        "avatarUrl": avatar_url(user["email"]),
        "isAdmin": bool(user["is_admin"]),
        "isDisabled": bool(user["is_disabled"]),
        "lastSeenAt": user["last_seen"],
        "lastSeenAtAge": "< 1 minute",
        "authLabels": [],
    }


def member_dto(user: dict[str, Any], org_id: int) -> dict[str, Any]:
    return {
        "orgId": org_id,
        "userId": user["id"],
        "uid": user["uid"],
        "email": user["email"],
        "name": user["name"],
        "avatarUrl": avatar_url(user["email"]),
        "login": user["login"],
        "role": user["orgs"][str(org_id)],
        "lastSeenAt": user["last_seen"],
        "lastSeenAtAge": "< 1 minute",
        "isDisabled": bool(user["is_disabled"]),
        "authLabels": [],
    }


def remove_org_everywhere(store: Store, org_id: int) -> None:
    """Delete an org and everything that belongs to it."""
    store.remove_where("orgs", id=org_id)
    for user in list(store.items("users")):
        if user["is_service_account"] and str(org_id) in user["orgs"]:
            store.remove("users", user)
            store.remove_where("tokens", service_account_id=user["id"])
            continue
        user["orgs"].pop(str(org_id), None)
        if user["org_id"] == org_id:
            user["org_id"] = int(next(iter(user["orgs"]), 0) or 0)
    for collection in (
        "datasources",
        "folders",
        "dashboards",
        "teams",
        "alert_rules",
        "contact_points",
        "mute_timings",
        "templates",
    ):
        store.remove_where(collection, org_id=org_id)
    store.data["policies"].pop(str(org_id), None)
    for key in [k for k in store.data["rule_groups"] if k.startswith(f"{org_id}/")]:
        del store.data["rule_groups"][key]


def remove_user_everywhere(store: Store, user: dict[str, Any]) -> None:
    store.remove("users", user)
    store.remove_where("tokens", service_account_id=user["id"])
    for team in store.items("teams"):
        if user["id"] in team["members"]:
            team["members"].remove(user["id"])
