"""Teams and team members (pkg/services/team/teamapi), per request org."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .accounts import avatar_url
from .auth import new_uid
from .common import as_int, page
from .state import Store, now_iso
from .web import Request, Response, error, message, ok

if TYPE_CHECKING:
    from .app import App

#: a team member's permission when the member administers the team (dashboardaccess.PERMISSION_ADMIN)
TEAM_ADMIN_PERMISSION = 4


def team_dto(store: Store, team: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": team["id"],
        "uid": team["uid"],
        "orgId": team["org_id"],
        "name": team["name"],
        "email": team["email"],
        "avatarUrl": avatar_url(team["email"] or team["name"]),
        "memberCount": len(team["members"]),
        "permission": 0,
    }


def register(app: App) -> None:
    api = TeamApi(app)
    add = app.router.add
    add("POST", "/api/teams", api.create, "Admin", "teams:create")
    add("GET", "/api/teams/search", api.search, "Admin", "teams:read")
    add("GET", "/api/teams/{team_id}", api.get, "Admin", "teams:read")
    add("PUT", "/api/teams/{team_id}", api.update, "Admin", "teams:write")
    add("DELETE", "/api/teams/{team_id}", api.delete, "Admin", "teams:delete")
    add("GET", "/api/teams/{team_id}/members", api.members, "Admin", "teams:read")
    add("POST", "/api/teams/{team_id}/members", api.add_member, "Admin", "teams.permissions:write")
    add("DELETE", "/api/teams/{team_id}/members/{user_id}", api.remove_member, "Admin", "teams.permissions:write")


class TeamApi:
    def __init__(self, app: App) -> None:
        self.app = app
        self.store = app.store

    def _require(self, request: Request) -> dict[str, Any]:
        team = self.store.find("teams", org_id=request.org_id, id=as_int(request.params["team_id"], -1))
        if team is None:
            raise error(404, "Team not found")
        return team

    def _name_taken(self, org_id: int, name: str, except_id: int = 0) -> bool:
        return any(
            t["name"].lower() == name.lower() and t["id"] != except_id for t in self.store.where("teams", org_id=org_id)
        )

    def create(self, request: Request) -> Response:
        body = request.json()
        name = str(body.get("name") or "").strip()
        if not name:
            raise error(400, "bad request data")
        if self._name_taken(request.org_id, name):
            raise error(409, "Team name taken", traceID="")
        now = now_iso()
        team = {
            "id": self.store.next_id("team"),
            "uid": new_uid(),
            "org_id": request.org_id,
            "name": name,
            "email": str(body.get("email") or ""),
            "members": [],
            "created": now,
            "updated": now,
        }
        # A user (basic auth or a session, not a service account) who creates a team becomes its member with the
        # Admin permission (pkg/services/team/teamapi/team.go createTeam: IsIdentityType(claims.TypeUser), then
        # addOrUpdateTeamMember with dashboardaccess.PERMISSION_ADMIN; the teams' permission hook adds the
        # team_member row), so the team's member list holds the creator.
        creator = request.identity
        if creator is not None and not creator.is_service_account and creator.user_id > 0:
            team["members"].append(creator.user_id)
            team["admins"] = [creator.user_id]
        self.store.items("teams").append(team)
        return message("Team created", teamId=team["id"], uid=team["uid"])

    def search(self, request: Request) -> Response:
        teams = sorted(self.store.where("teams", org_id=request.org_id), key=lambda t: t["name"].lower())
        name = request.arg("name")
        text = (request.arg("query") or "").lower()
        if name:
            teams = [t for t in teams if t["name"] == name]
        if text:
            teams = [t for t in teams if text in t["name"].lower()]
        per_page = as_int(request.arg("perpage"), 1000)
        page_no = as_int(request.arg("page"), 1)
        return ok(
            {
                "totalCount": len(teams),
                "teams": [team_dto(self.store, t) for t in page(teams, per_page, page_no)],
                "page": page_no,
                "perPage": per_page,
            }
        )

    def get(self, request: Request) -> Response:
        return ok(team_dto(self.store, self._require(request)))

    def update(self, request: Request) -> Response:
        team = self._require(request)
        body = request.json()
        name = str(body.get("name") or body.get("Name") or team["name"]).strip()
        if self._name_taken(request.org_id, name, except_id=team["id"]):
            raise error(400, "Team name taken")
        email = body.get("email", body.get("Email"))
        team["name"] = name
        if email is not None:
            team["email"] = str(email)
        team["updated"] = now_iso()
        return message("Team updated")

    def delete(self, request: Request) -> Response:
        team = self.store.find("teams", org_id=request.org_id, id=as_int(request.params["team_id"], -1))
        if team is None:
            raise error(404, "Failed to delete Team. ID not found")
        self.store.remove("teams", team)
        return message("Team deleted")

    def members(self, request: Request) -> Response:
        team = self._require(request)
        result = []
        for user_id in team["members"]:
            user = self.store.find("users", id=user_id)
            if user is None:
                continue
            result.append(
                {
                    "orgId": team["org_id"],
                    "teamId": team["id"],
                    "teamUID": team["uid"],
                    "userId": user["id"],
                    "userUID": user["uid"],
                    "auth_module": "",
                    "email": user["email"],
                    "name": user["name"],
                    "login": user["login"],
                    "avatarUrl": avatar_url(user["email"]),
                    "labels": [],
                    "permission": TEAM_ADMIN_PERMISSION if user_id in team.get("admins", []) else 0,
                }
            )
        return ok(result)

    def add_member(self, request: Request) -> Response:
        team = self._require(request)
        user_id = as_int(request.json().get("userId"), -1)
        user = self.store.find("users", id=user_id)
        if user is None:
            raise error(404, "User not found")
        if user_id in team["members"]:
            raise error(400, "User is already added to this team")
        team["members"].append(user_id)
        return message("Member added to Team")

    def remove_member(self, request: Request) -> Response:
        team = self._require(request)
        user_id = as_int(request.params["user_id"], -1)
        if user_id not in team["members"]:
            raise error(404, "Team member not found")
        team["members"].remove(user_id)
        if user_id in team.get("admins", []):
            team["admins"].remove(user_id)
        return message("Team member removed")
