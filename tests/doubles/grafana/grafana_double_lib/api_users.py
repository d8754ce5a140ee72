"""Users: admin CRUD, lookup and search, and the signed-in user (pkg/api/admin_users.go, user.go)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .accounts import profile_dto, remove_user_everywhere, require_user_by_id, search_hit
from .auth import DEFAULT_ORG_ID, find_user, new_user_record, password_matches, set_password
from .common import as_int, page
from .state import now_iso
from .web import Request, Response, error, message, ok

if TYPE_CHECKING:
    from .app import App

MIN_PASSWORD_LENGTH = 4
AUTO_ASSIGN_ROLE = "Viewer"


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise error(400, "New password is too short", messageId="password-policy-too-short", statusCode=400)


def register(app: App) -> None:
    api = UserApi(app)
    add = app.router.add
    add("POST", "/api/admin/users", api.create, "server-admin", "users:create")
    add("DELETE", "/api/admin/users/{user_id}", api.delete, "server-admin", "users:delete")
    add("PUT", "/api/admin/users/{user_id}/password", api.set_password, "server-admin", "users.password:write")
    add("PUT", "/api/admin/users/{user_id}/permissions", api.set_permissions, "server-admin", "users.permissions:write")
    add("GET", "/api/users", api.list, "server-admin", "users:read")
    add("GET", "/api/users/search", api.search, "server-admin", "users:read")
    add("GET", "/api/users/lookup", api.lookup, "server-admin", "users:read")
    add("GET", "/api/users/{user_id}", api.get, "server-admin", "users:read")
    add("PUT", "/api/users/{user_id}", api.update, "server-admin", "users:write")
    add("GET", "/api/users/{user_id}/orgs", api.orgs, "server-admin", "users:read")
    add("GET", "/api/users/{user_id}/teams", api.teams, "server-admin", "users:read")
    add("GET", "/api/user", api.current, "signed-in")
    add("PUT", "/api/user", api.update_current, "signed-in")
    add("PUT", "/api/user/password", api.change_own_password, "signed-in")
    add("GET", "/api/user/orgs", api.current_orgs, "signed-in")
    add("POST", "/api/user/using/{org_id}", api.switch_org, "signed-in")


class UserApi:
    def __init__(self, app: App) -> None:
        self.app = app
        self.store = app.store

    def _people(self) -> list[dict[str, Any]]:
        return sorted((u for u in self.store.items("users") if not u["is_service_account"]), key=lambda u: u["login"])

    def _taken(self, login: str, email: str, except_id: int = 0) -> bool:
        """sqlStore.LoginConflict (pkg/services/user/userimpl/store.go): another user has this email or this login,
        compared in lower case (a login is not compared with the emails, nor an email with the logins)."""
        for other in self.store.items("users"):
            if other["id"] == except_id:
                continue
            if other["login"].lower() == login.lower() or (other["email"] and other["email"].lower() == email.lower()):
                return True
        return False

    def _stored(self, text: str) -> str:
        """Since Grafana 11 (grafana/grafana#86359, "Auth: Force lowercase login/email for users"), Service.Create
        and sqlStore.Update store logins and emails in lower case; Grafana 10 kept them as given."""
        return text.lower() if self.app.major >= 11 else text

    # -- admin --

    def create(self, request: Request) -> Response:
        body = request.json()
        login = str(body.get("login") or body.get("email") or "")
        email = str(body.get("email") or login)
        if not login:
            raise error(400, "Validation error, need to specify either username or email")
        password = str(body.get("password") or "")
        check_password(password)
        org_id = as_int(body.get("orgId")) or DEFAULT_ORG_ID
        if self.store.find("orgs", id=org_id) is None:
            raise error(400, "organization not found", traceID="")
        if self._taken(login, email):
            raise error(412, f"User with email '{email}' or username '{login}' already exists")
        user = new_user_record(self.store, self._stored(login), self._stored(email), str(body.get("name") or ""),
                               now_iso())
        set_password(user, password)
        user["orgs"] = {str(org_id): AUTO_ASSIGN_ROLE}
        user["org_id"] = org_id
        self.store.items("users").append(user)
        return message("User created", id=user["id"], uid=user["uid"])

    def delete(self, request: Request) -> Response:
        user = require_user_by_id(self.store, request.params["user_id"])
        remove_user_everywhere(self.store, user)
        return message("User deleted")

    def set_password(self, request: Request) -> Response:
        user = require_user_by_id(self.store, request.params["user_id"])
        password = str(request.json().get("password") or "")
        check_password(password)
        set_password(user, password)
        user["updated"] = now_iso()
        return message("User password updated")

    def set_permissions(self, request: Request) -> Response:
        user = require_user_by_id(self.store, request.params["user_id"])
        wanted = bool(request.json().get("isGrafanaAdmin"))
        admins = [u for u in self._people() if u["is_admin"]]
        if not wanted and user["is_admin"] and len(admins) == 1:
            raise error(400, "Failed to update user permissions", error="cannot remove last grafana admin")
        user["is_admin"] = wanted
        return message("User permissions updated")

    # -- read --

    def list(self, request: Request) -> Response:
        people = page(self._people(), as_int(request.arg("perpage"), 1000), as_int(request.arg("page"), 1))
        return ok([search_hit(u) for u in people])

    def search(self, request: Request) -> Response:
        text = (request.arg("query") or "").lower()
        people = [
            u
            for u in self._people()
            if not text or text in u["login"].lower() or text in u["email"].lower() or text in u["name"].lower()
        ]
        per_page = as_int(request.arg("perpage"), 1000)
        page_no = as_int(request.arg("page"), 1)
        return ok(
            {
                "totalCount": len(people),
                "users": [search_hit(u) for u in page(people, per_page, page_no)],
                "page": page_no,
                "perPage": per_page,
            }
        )

    def lookup(self, request: Request) -> Response:
        user = find_user(self.store, request.arg("loginOrEmail") or "")
        if user is None or user["is_service_account"]:
            raise error(404, "user not found")
        return ok(profile_dto(user))

    def get(self, request: Request) -> Response:
        return ok(profile_dto(require_user_by_id(self.store, request.params["user_id"])))

    def update(self, request: Request) -> Response:
        user = require_user_by_id(self.store, request.params["user_id"])
        self._update_profile(user, request.json())
        return message("User updated")

    def _update_profile(self, user: dict[str, Any], body: dict[str, Any]) -> None:
        login = str(body.get("login") or user["login"])
        email = str(body.get("email") or user["email"])
        if self._taken(login, email, except_id=user["id"]):
            raise error(409, "Username or email already in use")
        user.update(
            login=self._stored(login),
            email=self._stored(email),
            name=str(body.get("name") or user["name"]),
            theme=str(body.get("theme") or user["theme"]),
            updated=now_iso(),
        )

    def orgs(self, request: Request) -> Response:
        user = require_user_by_id(self.store, request.params["user_id"])
        return ok(self._org_list(user))

    def _org_list(self, user: dict[str, Any]) -> list[dict[str, Any]]:
        result = []
        for org_id, role in sorted(user["orgs"].items(), key=lambda kv: int(kv[0])):
            org = self.store.find("orgs", id=int(org_id))
            if org is not None:
                result.append({"orgId": org["id"], "name": org["name"], "role": role})
        return result

    def teams(self, request: Request) -> Response:
        user = require_user_by_id(self.store, request.params["user_id"])
        from .api_teams import team_dto  # local import: teams import users' helpers too

        return ok([team_dto(self.store, t) for t in self.store.items("teams") if user["id"] in t["members"]])

    # -- signed-in user --

    def _me(self, request: Request) -> dict[str, Any]:
        assert request.identity is not None
        user = self.store.find("users", id=request.identity.user_id)
        if user is None:
            raise error(404, "user not found")
        return user

    def current(self, request: Request) -> Response:
        body = profile_dto(self._me(request))
        body["orgId"] = request.org_id
        return ok(body)

    def update_current(self, request: Request) -> Response:
        self._update_profile(self._me(request), request.json())
        return message("User updated")

    def change_own_password(self, request: Request) -> Response:
        user = self._me(request)
        if user["is_service_account"]:
            raise error(400, "Password cannot be changed for service accounts")
        body = request.json()
        if not password_matches(user, str(body.get("oldPassword") or "")):
            raise error(401, "Invalid old password")
        new_password = str(body.get("newPassword") or "")
        check_password(new_password)
        set_password(user, new_password)
        user["updated"] = now_iso()
        return message("User password changed")

    def current_orgs(self, request: Request) -> Response:
        return ok(self._org_list(self._me(request)))

    def switch_org(self, request: Request) -> Response:
        assert request.identity is not None
        if request.identity.is_service_account:
            raise error(400, "Service accounts cannot switch organization")
        user = self._me(request)
        raw = request.params["org_id"]
        if not raw.isdigit():
            raise error(400, "id is invalid")
        if raw not in user["orgs"]:
            raise error(401, "Not a valid organization")
        user["org_id"] = int(raw)
        return message("Active organization changed")
