"""Organisations and their members (pkg/api/org.go, org_users.go)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .accounts import member_dto, remove_org_everywhere, require_user_by_id
from .auth import ORG_ROLES, find_user, new_org_record
from .common import as_int, page
from .state import now_iso
from .web import ApiError, Request, Response, error, message, ok

if TYPE_CHECKING:
    from .app import App


def org_not_found() -> ApiError:
    return error(404, "Organization not found")


def register(app: App) -> None:
    api = OrgApi(app)
    add = app.router.add
    add("GET", "/api/orgs", api.search, "server-admin", "orgs:read")
    add("POST", "/api/orgs", api.create, "server-admin", "orgs:create")
    add("GET", "/api/orgs/name/{org_name}", api.get_by_name, "server-admin", "orgs:read")
    add("GET", "/api/orgs/{org_id}", api.get, "server-admin", "orgs:read")
    add("PUT", "/api/orgs/{org_id}", api.update, "server-admin", "orgs:write")
    add("DELETE", "/api/orgs/{org_id}", api.delete, "server-admin", "orgs:delete")
    add("GET", "/api/orgs/{org_id}/users", api.users, "server-admin", "org.users:read")
    add("POST", "/api/orgs/{org_id}/users", api.add_user, "server-admin", "org.users:add")
    add("PATCH", "/api/orgs/{org_id}/users/{user_id}", api.update_user, "server-admin", "org.users:write")
    add("DELETE", "/api/orgs/{org_id}/users/{user_id}", api.remove_user, "server-admin", "org.users:remove")
    add("GET", "/api/org", api.current, "Viewer", "orgs:read")
    add("PUT", "/api/org", api.update_current, "Admin", "orgs:write")
    add("GET", "/api/org/users", api.current_users, "Admin", "org.users:read")
    add("POST", "/api/org/users", api.add_current_user, "Admin", "org.users:add")
    add("PATCH", "/api/org/users/{user_id}", api.update_current_user, "Admin", "org.users:write")
    add("DELETE", "/api/org/users/{user_id}", api.remove_current_user, "Admin", "org.users:remove")


class OrgApi:
    def __init__(self, app: App) -> None:
        self.app = app
        self.store = app.store

    def require(self, org_id: int) -> dict[str, Any]:
        org = self.store.find("orgs", id=org_id)
        if org is None:
            raise org_not_found()
        return org

    @staticmethod
    def dto(org: dict[str, Any]) -> dict[str, Any]:
        return {"id": org["id"], "name": org["name"], "address": dict(org["address"])}

    def _name_taken(self, name: str, except_id: int = 0) -> bool:
        return any(o["name"].lower() == name.lower() and o["id"] != except_id for o in self.store.items("orgs"))

    # -- orgs --

    def search(self, request: Request) -> Response:
        orgs = sorted(self.store.items("orgs"), key=lambda o: o["name"].lower())
        name = request.arg("name")
        text = (request.arg("query") or "").lower()
        if name:
            orgs = [o for o in orgs if o["name"] == name]
        if text:
            orgs = [o for o in orgs if text in o["name"].lower()]
        chosen = page(orgs, as_int(request.arg("perpage"), 1000), as_int(request.arg("page"), 1))
        return ok([{"id": o["id"], "name": o["name"]} for o in chosen])

    def create(self, request: Request) -> Response:
        body = request.json()
        name = str(body.get("name") or "").strip()
        if not name:
            raise error(400, "bad request data")
        if self._name_taken(name):
            raise error(409, "Organization name taken", traceID="")
        org = new_org_record(self.store, name, now_iso())
        self.store.items("orgs").append(org)
        # The creating user becomes Admin of the new org (CreateWithMember).
        creator = self.store.find("users", id=request.identity.user_id) if request.identity else None
        if creator is not None:
            creator["orgs"][str(org["id"])] = "Admin"
        return message("Organization created", orgId=org["id"])

    def get(self, request: Request) -> Response:
        return ok(self.dto(self.require(as_int(request.params["org_id"], -1))))

    def get_by_name(self, request: Request) -> Response:
        org = self.store.find("orgs", name=request.params["org_name"])
        if org is None:
            raise org_not_found()
        return ok(self.dto(org))

    def update(self, request: Request) -> Response:
        return self._rename(self.require(as_int(request.params["org_id"], -1)), request)

    def update_current(self, request: Request) -> Response:
        return self._rename(self.require(request.org_id), request)

    def _rename(self, org: dict[str, Any], request: Request) -> Response:
        body = request.json()
        name = str(body.get("name") or "").strip()
        if not name:
            raise error(400, "bad request data")
        if self._name_taken(name, except_id=org["id"]):
            raise error(400, "Organization name taken", traceID="")
        org["name"] = name
        org["updated"] = now_iso()
        return message("Organization updated")

    def delete(self, request: Request) -> Response:
        org_id = as_int(request.params["org_id"], -1)
        org = self.store.find("orgs", id=org_id)
        if org is None:
            raise error(404, "Failed to delete organization. ID not found")
        if org_id == request.org_id:
            raise error(400, "Can not delete org for current user")
        remove_org_everywhere(self.store, org_id)
        return message("Organization deleted")

    def current(self, request: Request) -> Response:
        return ok(self.dto(self.require(request.org_id)))

    # -- members --

    def _members(self, org_id: int) -> list[dict[str, Any]]:
        members = [u for u in self.store.items("users") if str(org_id) in u["orgs"] and not u["is_service_account"]]
        return [member_dto(u, org_id) for u in sorted(members, key=lambda u: u["login"])]

    def users(self, request: Request) -> Response:
        org = self.require(as_int(request.params["org_id"], -1))
        return ok(self._members(org["id"]))

    def current_users(self, request: Request) -> Response:
        return ok(self._members(request.org_id))

    def add_user(self, request: Request) -> Response:
        return self._add(self.require(as_int(request.params["org_id"], -1))["id"], request)

    def add_current_user(self, request: Request) -> Response:
        return self._add(request.org_id, request)

    def _add(self, org_id: int, request: Request) -> Response:
        body = request.json()
        role = str(body.get("role") or "")
        if role not in ORG_ROLES:
            raise error(400, "Invalid role specified")
        user = find_user(self.store, str(body.get("loginOrEmail") or ""))
        if user is None or user["is_service_account"]:
            raise error(404, "User not found")
        if str(org_id) in user["orgs"]:
            raise error(409, "User is already member of this organization", userId=user["id"])
        user["orgs"][str(org_id)] = role
        return message("User added to organization", userId=user["id"])

    def update_user(self, request: Request) -> Response:
        org = self.require(as_int(request.params["org_id"], -1))
        return self._change_role(org["id"], request)

    def update_current_user(self, request: Request) -> Response:
        return self._change_role(request.org_id, request)

    def _change_role(self, org_id: int, request: Request) -> Response:
        user = self._member(org_id, request)
        role = str(request.json().get("role") or "")
        if role not in ORG_ROLES:
            raise error(400, "Invalid role specified")
        if user["orgs"][str(org_id)] == "Admin" and role != "Admin" and self._admin_count(org_id) == 1:
            raise error(400, "Cannot change role so that there is no organization admin left")
        user["orgs"][str(org_id)] = role
        return message("Organization user updated")

    def remove_user(self, request: Request) -> Response:
        org = self.require(as_int(request.params["org_id"], -1))
        self._remove(org["id"], request)
        return message("User removed from organization")

    def remove_current_user(self, request: Request) -> Response:
        user = self._remove(request.org_id, request)
        if not user["orgs"]:
            # /api/org/users/:id deletes a user left without any org.
            self.store.remove("users", user)
            return message("User deleted")
        return message("User removed from organization")

    def _remove(self, org_id: int, request: Request) -> dict[str, Any]:
        user = self._member(org_id, request)
        if user["orgs"][str(org_id)] == "Admin" and self._admin_count(org_id) == 1:
            raise error(400, "Cannot remove last organization admin")
        del user["orgs"][str(org_id)]
        if user["org_id"] == org_id:
            user["org_id"] = int(next(iter(user["orgs"]), 0) or 0)
        for team in self.store.where("teams", org_id=org_id):
            if user["id"] in team["members"]:
                team["members"].remove(user["id"])
        return user

    def _member(self, org_id: int, request: Request) -> dict[str, Any]:
        user = require_user_by_id(self.store, request.params["user_id"])
        if str(org_id) not in user["orgs"]:
            raise error(404, "User not found")
        return user

    def _admin_count(self, org_id: int) -> int:
        return sum(
            1
            for u in self.store.items("users")
            if u["orgs"].get(str(org_id)) == "Admin" and not u["is_service_account"]
        )
