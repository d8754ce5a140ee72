"""Folders (pkg/api/folder.go), nested through parentUid, per request org."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .auth import access_denied, new_uid
from .common import as_int, page, slugify, uid_problem
from .permissions import ACL_ROLES, ADMIN, PERMISSION_NAMES, can, default_acl, folder_acl
from .state import now_iso
from .web import ApiError, Request, Response, error, message, ok

if TYPE_CHECKING:
    from .app import App

MAX_DEPTH = 8


def folder_not_found() -> ApiError:
    return error(404, "folder not found", status="not-found")


def version_mismatch() -> ApiError:
    return error(412, "the folder has been changed by someone else", status="version-mismatch")


def register(app: App) -> None:
    api = FolderApi(app)
    add = app.router.add
    add("GET", "/api/folders", api.list, "Viewer", "folders:read")
    add("POST", "/api/folders", api.create, "Editor", "folders:create")
    add("GET", "/api/folders/id/{id}", api.get_by_id, "Viewer", "folders:read")
    add("GET", "/api/folders/{uid}", api.get, "Viewer", "folders:read")
    add("PUT", "/api/folders/{uid}", api.update, "Editor", "folders:write")
    add("DELETE", "/api/folders/{uid}", api.delete, "Editor", "folders:delete")
    add("POST", "/api/folders/{uid}/move", api.move, "Editor", "folders:write")
    # Legacy ACL API over managed folder permissions: the caller needs Admin on the folder (checked inside).
    add("GET", "/api/folders/{uid}/permissions", api.get_permissions, "Viewer", "folders.permissions:read")
    add("POST", "/api/folders/{uid}/permissions", api.set_permissions, "Viewer", "folders.permissions:write")


class FolderApi:
    def __init__(self, app: App) -> None:
        self.app = app
        self.store = app.store

    def find(self, org_id: int, uid: str) -> dict[str, Any] | None:
        return self.store.find("folders", org_id=org_id, uid=uid)

    def require(self, org_id: int, uid: str) -> dict[str, Any]:
        folder = self.find(org_id, uid)
        if folder is None:
            raise folder_not_found()
        return folder

    def ancestors(self, folder: dict[str, Any]) -> list[dict[str, Any]]:
        """Parents from the root down to the direct parent."""
        chain: list[dict[str, Any]] = []
        parent_uid = folder.get("parent_uid") or ""
        while parent_uid:
            parent = self.find(folder["org_id"], parent_uid)
            if parent is None or parent in chain:
                break
            chain.insert(0, parent)
            parent_uid = parent.get("parent_uid") or ""
        return chain

    def descendants(self, folder: dict[str, Any]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        pending = [folder]
        while pending:
            current = pending.pop()
            for child in self.store.where("folders", org_id=folder["org_id"], parent_uid=current["uid"]):
                found.append(child)
                pending.append(child)
        return found

    def dto(self, folder: dict[str, Any], with_parents: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": folder["id"],
            "uid": folder["uid"],
            "orgId": folder["org_id"],
            "title": folder["title"],
            "url": f"/dashboards/f/{folder['uid']}/{slugify(folder['title'])}",
            "hasAcl": False,
            "canSave": True,
            "canEdit": True,
            "canAdmin": True,
            "canDelete": True,
            "createdBy": folder["created_by"],
            "created": folder["created"],
            "updatedBy": folder["updated_by"],
            "updated": folder["updated"],
            "version": folder["version"],
        }
        if folder.get("description"):
            body["description"] = folder["description"]
        if folder.get("parent_uid"):
            body["parentUid"] = folder["parent_uid"]
            if with_parents:
                body["parents"] = [self.dto(p, with_parents=False) for p in self.ancestors(folder)]
        return body

    # -- handlers --

    def list(self, request: Request) -> Response:
        parent_uid = request.arg("parentUid") or ""
        folders = [
            f for f in self.store.where("folders", org_id=request.org_id) if (f.get("parent_uid") or "") == parent_uid
        ]
        folders.sort(key=lambda f: f["title"].lower())
        chosen = page(folders, as_int(request.arg("limit"), 1000), as_int(request.arg("page"), 1))
        hits = []
        for f in chosen:
            hit = {"id": f["id"], "uid": f["uid"], "title": f["title"]}
            if f.get("parent_uid"):
                hit["parentUid"] = f["parent_uid"]
            hits.append(hit)
        return ok(hits)

    def get(self, request: Request) -> Response:
        return ok(self.dto(self.require(request.org_id, request.params["uid"])))

    def get_by_id(self, request: Request) -> Response:
        folder = self.store.find("folders", org_id=request.org_id, id=as_int(request.params["id"], -1))
        if folder is None:
            raise folder_not_found()
        return ok(self.dto(folder))

    def create(self, request: Request) -> Response:
        body = request.json()
        folder = self.add(
            request.org_id,
            title=str(body.get("title") or ""),
            uid=str(body.get("uid") or ""),
            parent_uid=str(body.get("parentUid") or ""),
            description=str(body.get("description") or ""),
            login=request.login,
        )
        return ok(self.dto(folder))

    def add(self, org_id: int, title: str, uid: str, parent_uid: str, description: str, login: str) -> dict[str, Any]:
        if not title.strip():
            raise error(400, "folder title cannot be empty")
        if uid:
            problem = uid_problem(uid)
            if problem:
                raise error(400, problem)
            if self.find(org_id, uid):
                # Grafana 11.x/12 (kubernetesFolders): AlreadyExists maps to this 412.
                raise version_mismatch()
        else:
            uid = new_uid()
        if parent_uid:
            parent = self.require(org_id, parent_uid)
            if len(self.ancestors(parent)) + 2 > MAX_DEPTH:
                raise error(
                    400, "Maximum nested folder depth reached", messageId="folder.maximum-depth-reached", statusCode=400
                )
        created = now_iso()
        folder = {
            "id": self.store.next_id("dashboard"),  # folders and dashboards share one id space
            "uid": uid,
            "org_id": org_id,
            "title": title,
            "description": description,
            "parent_uid": parent_uid,
            "version": 1,
            "created": created,
            "updated": created,
            "created_by": login or "admin",
            "updated_by": login or "admin",
            "acl": default_acl(parent_uid, created),
        }
        self.store.items("folders").append(folder)
        return folder

    def update(self, request: Request) -> Response:
        folder = self.require(request.org_id, request.params["uid"])
        body = request.json()
        # Legacy path: the version must match unless overwrite is set (412 otherwise).
        if not body.get("overwrite") and as_int(body.get("version")) != folder["version"]:
            raise version_mismatch()
        new_uid_value = str(body.get("uid") or folder["uid"])
        if new_uid_value != folder["uid"]:
            problem = uid_problem(new_uid_value)
            if problem:
                raise error(400, problem)
            if self.find(request.org_id, new_uid_value):
                raise version_mismatch()
            self._rename_uid(folder, new_uid_value)
        if body.get("title") is not None:
            if not str(body["title"]).strip():
                raise error(400, "folder title cannot be empty")
            folder["title"] = str(body["title"])
        if body.get("description") is not None:
            folder["description"] = str(body["description"])
        folder["version"] += 1
        folder["updated"] = now_iso()
        folder["updated_by"] = request.login
        return ok(self.dto(folder))

    def _rename_uid(self, folder: dict[str, Any], new_uid_value: str) -> None:
        old = folder["uid"]
        org_id = folder["org_id"]
        for child in self.store.where("folders", org_id=org_id, parent_uid=old):
            child["parent_uid"] = new_uid_value
        for dash in self.store.where("dashboards", org_id=org_id, folder_uid=old):
            dash["folder_uid"] = new_uid_value
        for rule in self.store.where("alert_rules", org_id=org_id, folder_uid=old):
            rule["folder_uid"] = new_uid_value
        folder["uid"] = new_uid_value

    def move(self, request: Request) -> Response:
        folder = self.require(request.org_id, request.params["uid"])
        body = request.json()
        self.relocate(folder, str(body.get("parentUid") or body.get("newParentUid") or ""))
        return ok(self.dto(folder))

    def relocate(self, folder: dict[str, Any], target: str) -> None:
        """Move a folder under another one ("" for the top level): no cycles, at most MAX_DEPTH levels."""
        if target:
            parent = self.require(folder["org_id"], target)
            if parent is folder or parent in self.descendants(folder):
                raise error(400, "failed to move folder: new parent is a descendant of the folder")
            own_depth = len(self.ancestors(folder))
            height = max((len(self.ancestors(d)) - own_depth for d in self.descendants(folder)), default=0)
            if len(self.ancestors(parent)) + 2 + height > MAX_DEPTH:
                raise error(
                    400, "Maximum nested folder depth reached", messageId="folder.maximum-depth-reached", statusCode=400
                )
        folder["parent_uid"] = target
        folder["version"] += 1
        folder["updated"] = now_iso()

    def delete(self, request: Request) -> Response:
        folder = self.require(request.org_id, request.params["uid"])
        self.remove(folder, (request.arg("forceDeleteRules") or "").lower() == "true")
        return message("Folder deleted")

    def remove(self, folder: dict[str, Any], force_delete_rules: bool) -> None:
        """Delete a folder, its subfolders and their dashboards; alert rules in them only when forced."""
        org_id = folder["org_id"]
        doomed = [folder, *self.descendants(folder)]
        uids = {f["uid"] for f in doomed}
        rules = [r for r in self.store.where("alert_rules", org_id=org_id) if r["folder_uid"] in uids]
        if rules and not force_delete_rules:
            raise error(400, "folder cannot be deleted: folder contains alert rules")
        for rule in rules:
            self.store.remove("alert_rules", rule)
        for f in doomed:
            self.store.remove("folders", f)
        for dash in [d for d in self.store.where("dashboards", org_id=org_id) if d["folder_uid"] in uids]:
            self.store.remove("dashboards", dash)

    # -- permissions (pkg/api/folder_permission.go) --

    def _require_folder_admin(self, request: Request, action: str) -> dict[str, Any]:
        folder = self.require(request.org_id, request.params["uid"])
        if not can(self.store, request.identity, request.org_id, folder["uid"], ADMIN):
            raise access_denied(f"{action}, scope folders:uid:{folder['uid']}")
        return folder

    def get_permissions(self, request: Request) -> Response:
        """The folder's own managed entries (never its parents', never the org Admin role's implicit access)."""
        folder = self._require_folder_admin(request, "folders.permissions:read")
        return ok([dto for dto in (self._acl_dto(folder, entry) for entry in folder_acl(folder)) if dto])

    def _acl_dto(self, folder: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any] | None:
        permission = int(entry["permission"])
        body: dict[str, Any] = {
            "folderId": folder["id"],
            "dashboardId": 0,
            "created": entry.get("created") or folder["created"],
            "updated": entry.get("updated") or folder["updated"],
            "userId": 0,
            "userLogin": "",
            "userEmail": "",
            "userAvatarUrl": "",
            "teamId": 0,
            "teamEmail": "",
            "teamAvatarUrl": "",
            "team": "",
            "permission": permission,
            "permissionName": PERMISSION_NAMES.get(permission, ""),
            "uid": folder["uid"],
            "title": folder["title"],
            "slug": slugify(folder["title"]),
            "isFolder": True,
            "url": f"/dashboards/f/{folder['uid']}/{slugify(folder['title'])}",
            "inherited": False,
        }
        if entry.get("user_id"):
            user = self.store.find("users", id=entry["user_id"])
            if user is None:
                return None  # the user was deleted: Grafana deletes their managed permissions with them
            body.update(userId=user["id"], userLogin=user["login"], userEmail=user["email"])
        elif entry.get("team_id"):
            team = self.store.find("teams", org_id=folder["org_id"], id=entry["team_id"])
            if team is None:
                return None
            body.update(teamId=team["id"], team=team["name"], teamEmail=team["email"])
        else:
            body["role"] = entry["role"]
        return body

    def set_permissions(self, request: Request) -> Response:
        """Replace the folder's whole ACL with the items sent (an empty list removes every entry)."""
        body = request.json()
        if not isinstance(body, dict):
            raise error(400, "bad request data")
        entries = [self._acl_entry(request.org_id, item) for item in body.get("items") or []]
        folder = self._require_folder_admin(request, "folders.permissions:write")
        now = now_iso()
        by_key: dict[tuple[str, Any], dict[str, Any]] = {}
        for entry in entries:
            key = next((k, entry[k]) for k in ("user_id", "team_id", "role") if k in entry)
            by_key[key] = dict(entry, created=now, updated=now)  # the last item for a user/team/role wins
        folder["acl"] = list(by_key.values())
        return message("Folder permissions updated")

    def _acl_entry(self, org_id: int, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise error(400, "bad request data")
        user_id, team_id, role = as_int(item.get("userId")), as_int(item.get("teamId")), item.get("role")
        if user_id > 0 and team_id > 0:
            raise error(400, "Permission cannot have both user and team", traceID="")
        if (user_id > 0 or team_id > 0) and role:
            raise error(400, "Permission cannot have role and user or team", traceID="")
        permission = as_int(item.get("permission"))
        if permission not in PERMISSION_NAMES:
            # Double's own wording: Grafana maps an unknown level to no permission at all.
            raise error(400, f"invalid permission {item.get('permission')!r}: use 1 (View), 2 (Edit) or 4 (Admin)")
        if user_id > 0:
            user = self.store.find("users", id=user_id)
            if user is None or str(org_id) not in user["orgs"]:
                raise error(500, "Failed to create permission", traceID="")
            return {"user_id": user_id, "permission": permission}
        if team_id > 0:
            if self.store.find("teams", org_id=org_id, id=team_id) is None:
                raise error(500, "Failed to create permission", traceID="")
            return {"team_id": team_id, "permission": permission}
        if role in ACL_ROLES:
            return {"role": role, "permission": permission}
        # Double's own wording for an item that names no one.
        raise error(400, "a permission item needs a userId, a teamId or a role")
