"""Dashboards (pkg/api/dashboard.go) and a minimal /api/search, per request org."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .auth import new_uid
from .common import as_int, page, slugify, uid_problem
from .permissions import EDIT, VIEW, can
from .state import now_iso
from .web import ApiError, Request, Response, error, ok

if TYPE_CHECKING:
    from .app import App

MAX_MESSAGE_LENGTH = 500
GENERAL_FOLDER_TITLE = "General"


def dashboard_not_found() -> ApiError:
    return error(404, "Dashboard not found", status="not-found")


def register(app: App) -> None:
    api = DashboardApi(app)
    add = app.router.add
    # Saving and deleting need Edit on the dashboard's folder (a Viewer may hold it through the folder's
    # permissions), reading needs View: checked in the handlers, as Grafana's dashboard guardian does.
    add("POST", "/api/dashboards/db", api.save, "Viewer", "dashboards:write")
    add("GET", "/api/dashboards/uid/{uid}", api.get, "Viewer", "dashboards:read")
    add("DELETE", "/api/dashboards/uid/{uid}", api.delete, "Viewer", "dashboards:delete")
    add("GET", "/api/search", api.search, "Viewer", "dashboards:read")


class DashboardApi:
    def __init__(self, app: App) -> None:
        self.app = app
        self.store = app.store

    def find(self, org_id: int, uid: str) -> dict[str, Any] | None:
        return self.store.find("dashboards", org_id=org_id, uid=uid)

    def _folder(self, org_id: int, uid: str) -> dict[str, Any] | None:
        return self.store.find("folders", org_id=org_id, uid=uid) if uid else None

    # -- save --

    def save(self, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("dashboard"), dict):
            raise error(400, "bad request data")
        folder_uid = self._folder_uid(request.org_id, body)
        self._check_can_save(request, body["dashboard"], folder_uid)
        dash = self.store_dashboard(
            org_id=request.org_id,
            data=body["dashboard"],
            folder_uid=folder_uid,
            overwrite=bool(body.get("overwrite")),
            note=str(body.get("message") or ""),
            login=request.login,
        )
        slug = slugify(dash["title"])
        return ok(
            {
                "id": dash["id"],
                "uid": dash["uid"],
                "url": f"/d/{dash['uid']}/{slug}",
                "status": "success",
                "version": dash["version"],
                "slug": slug,
                "folderUid": dash["folder_uid"],
            }
        )

    def _allowed(self, request: Request, folder_uid: str, needed: int) -> bool:
        return can(self.store, request.identity, request.org_id, folder_uid, needed)

    def _check_can_save(self, request: Request, data: dict[str, Any], folder_uid: str) -> None:
        """Edit on the target folder, and on the current one when an existing dashboard moves."""
        folders = {folder_uid}
        uid = str(data.get("uid") or "")
        existing = self.find(request.org_id, uid) if uid else None
        if existing is not None:
            folders.add(existing["folder_uid"])
        if not all(self._allowed(request, f, EDIT) for f in folders):
            raise error(403, "Access denied to save dashboard")

    def _folder_uid(self, org_id: int, body: dict[str, Any]) -> str:
        folder_uid = str(body.get("folderUid") or "")
        legacy_id = as_int(body.get("folderId"))
        if not folder_uid and legacy_id:
            folder = self.store.find("folders", org_id=org_id, id=legacy_id)
            if folder is None:
                raise error(400, "Folder not found")
            folder_uid = folder["uid"]
        if folder_uid and self._folder(org_id, folder_uid) is None:
            raise error(400, "Folder not found")
        return folder_uid

    def store_dashboard(
        self,
        org_id: int,
        data: dict[str, Any],
        folder_uid: str,
        overwrite: bool,
        note: str,
        login: str,
        provisioned: str | None = None,
    ) -> dict[str, Any]:
        """Create or update like the dashboard service: id/uid/version rules of SEMANTICS.md 6."""
        title = str(data.get("title") or "").strip()
        if not title:
            raise error(400, "Dashboard title cannot be empty", status="empty-name")
        uid = str(data.get("uid") or "")
        if uid:
            problem = uid_problem(uid)
            if problem:
                raise error(400, problem)
        existing = self._existing(org_id, data, uid)
        if len(note) > MAX_MESSAGE_LENGTH:
            raise error(400, "Dashboard message too long, max 500 characters")
        now = now_iso()
        if existing is not None:
            if existing.get("provisioned") and provisioned is None and not existing.get("allow_ui_updates"):
                raise error(400, "Cannot save provisioned dashboard")
            if not overwrite and as_int(data.get("version")) != existing["version"]:
                raise error(412, "The dashboard has been changed by someone else", status="version-mismatch")
            dash = existing
            dash["version"] += 1
        else:
            dash = {
                "id": self.store.next_id("dashboard"),
                "uid": uid or new_uid(),
                "org_id": org_id,
                "version": 1,
                "created": now,
                "created_by": login or "admin",
                "versions": [],
                "provisioned": False,
            }
            self.store.items("dashboards").append(dash)
        stored = copy.deepcopy(data)
        stored.update(id=dash["id"], uid=dash["uid"], version=dash["version"])
        dash.update(
            title=title,
            data=stored,
            folder_uid=folder_uid,
            updated=now,
            updated_by=login or "admin",
            tags=[str(t) for t in data.get("tags") or []],
        )
        if provisioned is not None:
            dash["provisioned"] = True
            dash["provisioned_external_id"] = provisioned
        dash["versions"] = (dash["versions"] + [{"version": dash["version"], "message": note, "created": now}])[-20:]
        return dash

    def _existing(self, org_id: int, data: dict[str, Any], uid: str) -> dict[str, Any] | None:
        by_uid = self.find(org_id, uid) if uid else None
        dash_id = as_int(data.get("id"))
        if not dash_id:
            return by_uid
        by_id = self.store.find("dashboards", org_id=org_id, id=dash_id)
        if by_id is None:
            raise dashboard_not_found()
        if by_uid is not None and by_uid is not by_id:
            raise error(400, "A dashboard with the same uid already exists", status="uid-exists")
        return by_id

    # -- read / delete --

    def get(self, request: Request) -> Response:
        dash = self.find(request.org_id, request.params["uid"])
        if dash is None:
            raise dashboard_not_found()
        if not self._allowed(request, dash["folder_uid"], VIEW):
            raise error(403, "Access denied to this dashboard")
        return ok({"dashboard": copy.deepcopy(dash["data"]), "meta": self.meta(dash)})

    def meta(self, dash: dict[str, Any]) -> dict[str, Any]:
        folder = self._folder(dash["org_id"], dash["folder_uid"])
        slug = slugify(dash["title"])
        can = True
        return {
            "isStarred": False,
            "slug": slug,
            "type": "db",
            "canStar": True,
            "canSave": can,
            "canEdit": can,
            "canAdmin": can,
            "canDelete": can,
            "created": dash["created"],
            "updated": dash["updated"],
            "createdBy": dash["created_by"],
            "updatedBy": dash["updated_by"],
            "version": dash["version"],
            "hasAcl": False,
            "isFolder": False,
            "folderId": folder["id"] if folder else 0,
            "folderUid": dash["folder_uid"],
            "folderTitle": folder["title"] if folder else GENERAL_FOLDER_TITLE,
            "folderUrl": (f"/dashboards/f/{folder['uid']}/{slugify(folder['title'])}" if folder else ""),
            "url": f"/d/{dash['uid']}/{slug}",
            "provisioned": bool(dash.get("provisioned")),
            "provisionedExternalId": dash.get("provisioned_external_id", ""),
            "annotationsPermissions": {
                "dashboard": {"canAdd": True, "canEdit": True, "canDelete": True},
                "organization": {"canAdd": True, "canEdit": True, "canDelete": True},
            },
            "publicDashboardEnabled": False,
        }

    def delete(self, request: Request) -> Response:
        dash = self.find(request.org_id, request.params["uid"])
        if dash is None:
            raise dashboard_not_found()
        if not self._allowed(request, dash["folder_uid"], EDIT):
            raise error(403, "Access denied to delete dashboard")
        if dash.get("provisioned") and not dash.get("allow_ui_deletes"):
            raise error(400, "provisioned dashboard cannot be deleted")
        self.store.remove("dashboards", dash)
        return ok(
            {
                "title": dash["title"],
                "message": f"Dashboard {dash['title']} deleted",
                "uid": dash["uid"],
            }
        )

    # -- search --

    def search(self, request: Request) -> Response:
        kind = request.arg("type") or ""
        text = (request.arg("query") or "").lower()
        folder_uids = set(request.args("folderUIDs"))
        folder_ids = {as_int(v, -1) for v in request.args("folderIds")}
        dash_uids = set(request.args("dashboardUIDs"))
        tags = set(request.args("tag"))
        hits: list[dict[str, Any]] = []
        if kind in ("", "dash-folder") and not dash_uids and not tags:
            hits.extend(self._folder_hits(request.org_id, text, folder_uids, folder_ids))
        if kind in ("", "dash-db"):
            hits.extend(self._dashboard_hits(request.org_id, text, folder_uids, folder_ids, dash_uids, tags))
        # Search only returns what the caller may view.
        hits = [h for h in hits if self._allowed(request, h["uid"] if h["type"] == "dash-folder" else
                                                 h.get("folderUid") or "", VIEW)]
        limit = as_int(request.arg("limit"), 1000)
        return ok(page(hits, limit, as_int(request.arg("page"), 1)))

    def _folder_hits(self, org_id: int, text: str, folder_uids: set[str], folder_ids: set[int]) -> list[dict[str, Any]]:
        hits = []
        for f in sorted(self.store.where("folders", org_id=org_id), key=lambda f: f["title"].lower()):
            if text and text not in f["title"].lower():
                continue
            parent = f.get("parent_uid") or ""
            if folder_uids and parent not in folder_uids and not (parent == "" and "general" in folder_uids):
                continue
            if folder_ids and not (parent == "" and 0 in folder_ids):
                continue
            slug = slugify(f["title"])
            hit = {
                "id": f["id"],
                "uid": f["uid"],
                "title": f["title"],
                "uri": f"db/{slug}",
                "url": f"/dashboards/f/{f['uid']}/{slug}",
                "slug": "",
                "type": "dash-folder",
                "tags": [],
                "isStarred": False,
                "sortMeta": 0,
            }
            if parent:
                parent_folder = self._folder(org_id, parent)
                hit["folderUid"] = parent
                if parent_folder:
                    hit["folderTitle"] = parent_folder["title"]
                    hit["folderId"] = parent_folder["id"]
            hits.append(hit)
        return hits

    def _dashboard_hits(
        self, org_id: int, text: str, folder_uids: set[str], folder_ids: set[int], dash_uids: set[str], tags: set[str]
    ) -> list[dict[str, Any]]:
        hits = []
        dashboards = sorted(self.store.where("dashboards", org_id=org_id), key=lambda d: d["title"].lower())
        for d in dashboards:
            folder = self._folder(org_id, d["folder_uid"])
            if text and text not in d["title"].lower():
                continue
            if dash_uids and d["uid"] not in dash_uids:
                continue
            if tags and not tags.issubset(set(d.get("tags") or [])):
                continue
            if (
                folder_uids
                and d["folder_uid"] not in folder_uids
                and not (d["folder_uid"] == "" and "general" in folder_uids)
            ):
                continue
            if folder_ids and (folder["id"] if folder else 0) not in folder_ids:
                continue
            slug = slugify(d["title"])
            hit = {
                "id": d["id"],
                "uid": d["uid"],
                "title": d["title"],
                "uri": f"db/{slug}",
                "url": f"/d/{d['uid']}/{slug}",
                "slug": "",
                "type": "dash-db",
                "tags": d.get("tags") or [],
                "isStarred": False,
                "sortMeta": 0,
            }
            if folder:
                hit.update(
                    folderId=folder["id"],
                    folderUid=folder["uid"],
                    folderTitle=folder["title"],
                    folderUrl=f"/dashboards/f/{folder['uid']}/{slugify(folder['title'])}",
                )
            hits.append(hit)
        return hits
