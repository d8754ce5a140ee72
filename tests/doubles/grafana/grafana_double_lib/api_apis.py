"""Grafana 13's app-platform APIs for dashboards and folders (served only when the double runs as 13.x).

`/apis/dashboard.grafana.app/v1/namespaces/{ns}/dashboards[/{name}]` and
`/apis/folder.grafana.app/v1/namespaces/{ns}/folders[/{name}]`, after grafana/grafana docs/sources/
developer-resources/api-reference/http-api/{apis,dashboard,folder}.md. They act on the same state as the legacy
`/api/dashboards` and `/api/folders` routes (still served in 13, deprecated), with the same folder permissions.

* Namespace = org: `default` is org 1, `org-<id>` any other org; `org-1` is refused, as Grafana's
  ParseNamespace does ("use default rather than org-1", grafana/authlib types/namespace.go).
* Kubernetes semantics: create answers 201 and 409 AlreadyExists for a taken name; an update whose
  `metadata.resourceVersion` is not the stored one answers 409 Conflict, one without resourceVersion is
  unconditional; a missing object is 404 NotFound; every failure is a `Status` body.
* `metadata.resourceVersion` and `metadata.generation` are the double's per-object version (Grafana's
  resourceVersion is a larger opaque number: clients must only compare it).
"""

from __future__ import annotations

import base64
import copy
import re
import uuid
from typing import TYPE_CHECKING, Any, Callable

from . import apis_contract as contract
from .api_dashboards import DashboardApi
from .api_folders import FolderApi
from .auth import new_uid
from .common import as_int
from .permissions import EDIT, VIEW, can
from .web import ApiError, Request, Response

if TYPE_CHECKING:
    from .app import App

FOLDER_ANNOTATION = "grafana.app/folder"
MESSAGE_ANNOTATION = "grafana.app/message"
NAMESPACE_RE = re.compile(r"^(?:default|org-(\d+))$")
DASHBOARDS = f"/apis/{contract.DASHBOARD_GROUP}/{contract.API_VERSION}/namespaces/{{namespace}}/dashboards"
FOLDERS = f"/apis/{contract.FOLDER_GROUP}/{contract.API_VERSION}/namespaces/{{namespace}}/folders"
REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
           412: "Conflict", 500: "InternalError"}


def namespace_org(namespace: str) -> int | None:
    """The org of a namespace (`default` = 1, `org-<id>` with id > 1), None for anything else."""
    found = NAMESPACE_RE.match(namespace)
    if not found:
        return None
    org_id = int(found.group(1) or 1)
    return None if found.group(1) and org_id <= 1 else org_id


def namespace_of(org_id: int) -> str:
    return "default" if org_id == 1 else f"org-{org_id}"


def status(code: int, message: str, reason: str = "", **details: str) -> ApiError:
    """A Kubernetes Status failure body."""
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": message, "reason": reason or REASONS.get(code, "Unknown"), "code": code}
    if details:
        body["details"] = details
    return ApiError(code, body)


class Resource:
    """Names one kind of object in Status messages: `dashboards.dashboard.grafana.app "x"`."""

    def __init__(self, plural: str, group: str) -> None:
        self.plural, self.group = plural, group

    def ref(self, name: str) -> str:
        return f'{self.plural}.{self.group} "{name}"'

    def not_found(self, name: str) -> ApiError:
        return status(404, f"{self.ref(name)} not found", name=name, group=self.group, kind=self.plural)

    def exists(self, name: str) -> ApiError:
        return status(409, f"{self.ref(name)} already exists", "AlreadyExists", name=name, group=self.group,
                      kind=self.plural)

    def conflict(self, name: str) -> ApiError:
        return status(409, f"Operation cannot be fulfilled on {self.ref(name)}: the object has been modified; "
                      "please apply your changes to the latest version and try again", name=name, group=self.group,
                      kind=self.plural)

    def deleted(self, name: str, uid: str) -> Response:
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "group": self.group, "kind": self.plural, "uid": uid}}
        return Response(200, body)


DASHBOARD = Resource("dashboards", contract.DASHBOARD_GROUP)
FOLDER = Resource("folders", contract.FOLDER_GROUP)


def register(app: App) -> None:
    if app.major < 13:
        return
    dashboards, folders = DashboardObjects(app), FolderObjects(app)

    def add(method: str, pattern: str, handler: Callable[[Request], Response], access: str, action: str,
            rules: contract.Contract) -> None:
        app.router.add(method, pattern, as_status(handler), access, action, spec_checked=False, contract=rules)

    add("GET", DASHBOARDS, dashboards.list, "Viewer", "dashboards:read", contract.LIST_DASHBOARDS)
    add("POST", DASHBOARDS, dashboards.create, "Viewer", "dashboards:create", contract.CREATE_DASHBOARD)
    add("GET", DASHBOARDS + "/{name}", dashboards.get, "Viewer", "dashboards:read", contract.GET_DASHBOARD)
    add("PUT", DASHBOARDS + "/{name}", dashboards.update, "Viewer", "dashboards:write", contract.UPDATE_DASHBOARD)
    add("DELETE", DASHBOARDS + "/{name}", dashboards.delete, "Viewer", "dashboards:delete", contract.DELETE_OBJECT)
    add("GET", FOLDERS, folders.list, "Viewer", "folders:read", contract.LIST_FOLDERS)
    add("POST", FOLDERS, folders.create, "Editor", "folders:create", contract.CREATE_FOLDER)
    add("GET", FOLDERS + "/{name}", folders.get, "Viewer", "folders:read", contract.GET_FOLDER)
    add("PUT", FOLDERS + "/{name}", folders.update, "Editor", "folders:write", contract.UPDATE_FOLDER)
    add("DELETE", FOLDERS + "/{name}", folders.delete, "Editor", "folders:delete", contract.DELETE_OBJECT)


def as_status(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """Errors of the shared legacy logic (`{"message": ...}`) answered as Kubernetes Status bodies."""

    def run(request: Request) -> Response:
        try:
            return handler(request)
        except ApiError as exc:
            if isinstance(exc.body, dict) and exc.body.get("kind") == "Status":
                raise
            text = exc.body.get("message", "") if isinstance(exc.body, dict) else str(exc.body)
            raise status(exc.status, str(text)) from None

    return run


def _metadata(item: dict[str, Any], namespace: str, annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "name": item["uid"],
        "namespace": namespace,
        "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/{item['id']}/{item['created']}")),
        "resourceVersion": str(item["version"]),
        "generation": item["version"],
        "creationTimestamp": item["created"],
        "labels": {"grafana.app/deprecatedInternalID": str(item["id"])},
        "annotations": {
            "grafana.app/createdBy": f"user:{item['created_by']}",
            "grafana.app/updatedBy": f"user:{item['updated_by']}",
            "grafana.app/updatedTimestamp": item["updated"],
            **annotations,
        },
    }


def _body(request: Request) -> tuple[dict[str, Any], dict[str, str]]:
    """The object sent, and its annotations."""
    body = request.json()
    return body, dict(body["metadata"].get("annotations") or {})


def _name(request: Request, body: dict[str, Any]) -> str:
    metadata = body["metadata"]
    if metadata.get("name"):
        return str(metadata["name"])
    if metadata.get("generateName"):
        return str(metadata["generateName"]) + new_uid(8).lower()
    raise status(400, "name or generateName is required", "Invalid")


def _same_name(request: Request, body: dict[str, Any]) -> str:
    name = request.params["name"]
    sent = body["metadata"].get("name") or name
    if sent != name:
        raise status(400, f"the name of the object ({sent}) does not match the name on the URL ({name})")
    return name


def _check_version(resource: Resource, name: str, body: dict[str, Any], stored: int) -> None:
    sent = body["metadata"].get("resourceVersion")
    if sent and sent != str(stored):
        raise resource.conflict(name)


def _page(request: Request, items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """`limit`/`continue` paging; the continue token is opaque to clients (here: the next offset)."""
    token = request.arg("continue") or ""
    try:
        start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except ValueError:
        raise status(400, "invalid continue token") from None
    limit = as_int(request.arg("limit"), 0)
    end = start + limit if limit > 0 else len(items)
    meta: dict[str, str] = {"resourceVersion": str(sum(i["version"] for i in items))}
    if end < len(items):
        meta["continue"] = base64.urlsafe_b64encode(str(end).encode()).decode()
    return items[start:end], meta


class DashboardObjects:
    def __init__(self, app: App) -> None:
        self.store = app.store
        self.legacy = DashboardApi(app)

    def to_object(self, dash: dict[str, Any]) -> dict[str, Any]:
        spec = copy.deepcopy(dash["data"])
        for key in ("id", "uid", "version"):
            spec.pop(key, None)
        annotations = {FOLDER_ANNOTATION: dash["folder_uid"]} if dash["folder_uid"] else {}
        return {"kind": "Dashboard", "apiVersion": f"{contract.DASHBOARD_GROUP}/{contract.API_VERSION}",
                "metadata": _metadata(dash, namespace_of(dash["org_id"]), annotations), "spec": spec, "status": {}}

    def _require(self, request: Request, needed: int) -> dict[str, Any]:
        name = request.params["name"]
        dash = self.legacy.find(request.org_id, name)
        if dash is None:
            raise DASHBOARD.not_found(name)
        if not can(self.store, request.identity, request.org_id, dash["folder_uid"], needed):
            raise status(403, f"{DASHBOARD.ref(name)} is forbidden", name=name, group=DASHBOARD.group,
                         kind=DASHBOARD.plural)
        return dash

    def _save(self, request: Request, name: str, body: dict[str, Any], annotations: dict[str, str],
              version: int | None) -> dict[str, Any]:
        folder_uid = annotations.get(FOLDER_ANNOTATION, "")
        if folder_uid and self.legacy._folder(request.org_id, folder_uid) is None:
            raise status(400, f"folder {folder_uid!r} not found")
        data = dict(body["spec"], uid=name)
        if version is not None:
            data["version"] = version
        self.legacy._check_can_save(request, data, folder_uid)
        return self.legacy.store_dashboard(request.org_id, data, folder_uid, overwrite=version is None,
                                           note=annotations.get(MESSAGE_ANNOTATION, ""), login=request.login)

    def create(self, request: Request) -> Response:
        body, annotations = _body(request)
        name = _name(request, body)
        if self.legacy.find(request.org_id, name) is not None:
            raise DASHBOARD.exists(name)
        return Response(201, self.to_object(self._save(request, name, body, annotations, None)))

    def update(self, request: Request) -> Response:
        body, annotations = _body(request)
        name = _same_name(request, body)
        dash = self.legacy.find(request.org_id, name)
        if dash is None:
            raise DASHBOARD.not_found(name)
        _check_version(DASHBOARD, name, body, dash["version"])
        return Response(200, self.to_object(self._save(request, name, body, annotations, dash["version"])))

    def get(self, request: Request) -> Response:
        return Response(200, self.to_object(self._require(request, VIEW)))

    def delete(self, request: Request) -> Response:
        dash = self._require(request, EDIT)
        if dash.get("provisioned") and not dash.get("allow_ui_deletes"):
            raise status(400, "provisioned dashboard cannot be deleted")
        self.store.remove("dashboards", dash)
        return DASHBOARD.deleted(dash["uid"], self.to_object(dash)["metadata"]["uid"])

    def list(self, request: Request) -> Response:
        dashboards = [d for d in self.store.where("dashboards", org_id=request.org_id)
                      if can(self.store, request.identity, request.org_id, d["folder_uid"], VIEW)]
        items, meta = _page(request, sorted(dashboards, key=lambda d: d["uid"]))
        return Response(200, {"kind": "DashboardList",
                              "apiVersion": f"{contract.DASHBOARD_GROUP}/{contract.API_VERSION}",
                              "metadata": meta, "items": [self.to_object(d) for d in items]})


class FolderObjects:
    def __init__(self, app: App) -> None:
        self.store = app.store
        self.legacy = FolderApi(app)

    def to_object(self, folder: dict[str, Any]) -> dict[str, Any]:
        spec = {"title": folder["title"]}
        if folder.get("description"):
            spec["description"] = folder["description"]
        annotations = {FOLDER_ANNOTATION: folder["parent_uid"]} if folder.get("parent_uid") else {}
        return {"kind": "Folder", "apiVersion": f"{contract.FOLDER_GROUP}/{contract.API_VERSION}",
                "metadata": _metadata(folder, namespace_of(folder["org_id"]), annotations), "spec": spec,
                "status": {}}

    def _require(self, request: Request, needed: int) -> dict[str, Any]:
        name = request.params["name"]
        folder = self.legacy.find(request.org_id, name)
        if folder is None or not can(self.store, request.identity, request.org_id, name, needed):
            # Grafana hides folders the caller may not view.
            raise FOLDER.not_found(name)
        return folder

    def create(self, request: Request) -> Response:
        body, annotations = _body(request)
        name = _name(request, body)
        if self.legacy.find(request.org_id, name) is not None:
            raise FOLDER.exists(name)
        spec = body["spec"]
        folder = self.legacy.add(request.org_id, title=spec["title"], uid=name,
                                 parent_uid=annotations.get(FOLDER_ANNOTATION, ""),
                                 description=spec.get("description", ""), login=request.login)
        return Response(201, self.to_object(folder))

    def update(self, request: Request) -> Response:
        body, annotations = _body(request)
        name = _same_name(request, body)
        folder = self._require(request, EDIT)
        _check_version(FOLDER, name, body, folder["version"])
        spec = body["spec"]
        if not spec["title"].strip():
            raise status(400, "folder title cannot be empty")
        parent = annotations.get(FOLDER_ANNOTATION, "")
        if parent != (folder.get("parent_uid") or ""):
            self.legacy.relocate(folder, parent)  # bumps the version
        elif (spec["title"], spec.get("description", "")) != (folder["title"], folder.get("description") or ""):
            folder["version"] += 1
        folder.update(title=spec["title"], description=spec.get("description", ""), updated_by=request.login)
        return Response(200, self.to_object(folder))

    def get(self, request: Request) -> Response:
        return Response(200, self.to_object(self._require(request, VIEW)))

    def delete(self, request: Request) -> Response:
        folder = self._require(request, EDIT)
        meta_uid = self.to_object(folder)["metadata"]["uid"]
        self.legacy.remove(folder, force_delete_rules=False)
        return FOLDER.deleted(folder["uid"], meta_uid)

    def list(self, request: Request) -> Response:
        folders = [f for f in self.store.where("folders", org_id=request.org_id)
                   if can(self.store, request.identity, request.org_id, f["uid"], VIEW)]
        items, meta = _page(request, sorted(folders, key=lambda f: f["uid"]))
        return Response(200, {"kind": "FolderList", "apiVersion": f"{contract.FOLDER_GROUP}/{contract.API_VERSION}",
                              "metadata": meta, "items": [self.to_object(f) for f in items]})
