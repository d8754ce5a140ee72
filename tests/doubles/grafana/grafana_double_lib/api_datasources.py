"""Data sources (pkg/api/datasources.go): CRUD by uid, name and id, per request org."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .auth import new_uuid
from .common import MAX_UID_LENGTH, UID_RE, as_int
from .state import now_iso
from .web import Request, Response, error, errutil, message, not_found, ok

if TYPE_CHECKING:
    from .app import App

MAX_NAME_LENGTH = 190
MAX_URL_LENGTH = 255
DS_NOT_FOUND = "Data source not found"


def register(app: App) -> None:
    api = DatasourceApi(app)
    add = app.router.add
    add("GET", "/api/datasources", api.list, "Admin", "datasources:read")
    add("POST", "/api/datasources", api.create, "Admin", "datasources:create")
    add("GET", "/api/datasources/uid/{uid}", api.get_by_uid, "Admin", "datasources:read")
    add("PUT", "/api/datasources/uid/{uid}", api.update_by_uid, "Admin", "datasources:write")
    add("DELETE", "/api/datasources/uid/{uid}", api.delete_by_uid, "Admin", "datasources:delete")
    add("GET", "/api/datasources/name/{name}", api.get_by_name, "Admin", "datasources:read")
    add("DELETE", "/api/datasources/name/{name}", api.delete_by_name, "Admin", "datasources:delete")
    add("GET", "/api/datasources/id/{name}", api.id_by_name, "Admin", "datasources:read")
    by_id = {"GET": api.get_by_id, "PUT": api.update_by_id, "DELETE": api.delete_by_id}
    for method, handler in by_id.items():
        # Grafana 13 registers the numeric-id routes only with the datasourceLegacyIdApi feature toggle, off by
        # default (pkg/services/featuremgmt: "Register legacy datasource apis that use the numeric id"): 404.
        add(method, "/api/datasources/{id}", legacy_id_disabled if app.major >= 13 else handler, "Admin",
            "datasources:" + {"GET": "read", "PUT": "write", "DELETE": "delete"}[method])


def legacy_id_disabled(request: Request) -> Response:
    raise not_found()


def type_logo(ds_type: str) -> str:
    return f"public/app/plugins/datasource/{ds_type}/img/{ds_type}_logo.svg"


def dto(ds: dict[str, Any]) -> dict[str, Any]:
    """The full datasource DTO; secrets only as secureJsonFields flags."""
    return {
        "id": ds["id"],
        "uid": ds["uid"],
        "orgId": ds["org_id"],
        "name": ds["name"],
        "type": ds["type"],
        "typeLogoUrl": type_logo(ds["type"]),
        "access": ds["access"],
        "url": ds["url"],
        "user": ds["user"],
        "database": ds["database"],
        "basicAuth": ds["basic_auth"],
        "basicAuthUser": ds["basic_auth_user"],
        "withCredentials": ds["with_credentials"],
        "isDefault": ds["is_default"],
        "jsonData": ds["json_data"] or {},
        "secureJsonFields": {key: True for key, value in ds["secure"].items() if value},
        "version": ds["version"],
        "readOnly": ds["read_only"],
        "apiVersion": "",
    }


def list_item(ds: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": ds["id"],
        "uid": ds["uid"],
        "orgId": ds["org_id"],
        "name": ds["name"],
        "type": ds["type"],
        "typeName": ds["type"].capitalize(),
        "typeLogoUrl": type_logo(ds["type"]),
        "access": ds["access"],
        "url": ds["url"],
        "user": ds["user"],
        "database": ds["database"],
        "basicAuth": ds["basic_auth"],
        "isDefault": ds["is_default"],
        "jsonData": ds["json_data"] or {},
        "readOnly": ds["read_only"],
    }


def check_uid(uid: str) -> None:
    # Grafana 12 turns failWrongDSUID on by default: a bad uid fails create and update.
    if not UID_RE.match(uid) or len(uid) > MAX_UID_LENGTH:
        raise errutil(400, "datasource.uidInvalid", "Invalid datasource UID.")


def bind_command(body: Any) -> dict[str, Any]:
    """Grafana's binding: name, type and access are required; secrets are a string map."""
    if not isinstance(body, dict):
        raise error(400, "bad request data")
    for required in ("name", "type", "access"):
        if not body.get(required):
            raise error(400, "bad request data", traceID="")
    if len(body["name"]) > MAX_NAME_LENGTH:
        raise error(400, "Invalid datasource name.")
    if len(body.get("url") or "") > MAX_URL_LENGTH:
        raise error(400, "Validation error, invalid URL", traceID="")
    return body


class DatasourceApi:
    def __init__(self, app: App) -> None:
        self.app = app
        self.store = app.store

    # -- lookups --

    def _in_org(self, request: Request) -> list[dict[str, Any]]:
        return list(self.store.where("datasources", org_id=request.org_id))

    def find_by_uid(self, org_id: int, uid: str) -> dict[str, Any] | None:
        return self.store.find("datasources", org_id=org_id, uid=uid)

    def _by_uid(self, request: Request) -> dict[str, Any]:
        ds = self.find_by_uid(request.org_id, request.params["uid"])
        if ds is None:
            raise not_found(DS_NOT_FOUND)
        return ds

    def _by_name(self, request: Request) -> dict[str, Any]:
        ds = self.store.find("datasources", org_id=request.org_id, name=request.params["name"])
        if ds is None:
            raise not_found(DS_NOT_FOUND)
        return ds

    def _by_id(self, request: Request) -> dict[str, Any]:
        raw = request.params["id"]
        if not raw.isdigit():
            raise error(400, "id is invalid")
        ds = self.store.find("datasources", org_id=request.org_id, id=int(raw))
        if ds is None:
            raise not_found(DS_NOT_FOUND)
        return ds

    # -- handlers --

    def list(self, request: Request) -> Response:
        items = sorted(self._in_org(request), key=lambda ds: ds["name"].lower())
        return ok([list_item(ds) for ds in items])

    def get_by_uid(self, request: Request) -> Response:
        return ok(dto(self._by_uid(request)))

    def get_by_name(self, request: Request) -> Response:
        return ok(dto(self._by_name(request)))

    def get_by_id(self, request: Request) -> Response:
        return ok(dto(self._by_id(request)))

    def id_by_name(self, request: Request) -> Response:
        return ok({"id": self._by_name(request)["id"]})

    def create(self, request: Request) -> Response:
        cmd = bind_command(request.json())
        ds = self.add(request.org_id, cmd, read_only=False)
        return message("Datasource added", id=ds["id"], name=ds["name"], datasource=dto(ds))

    def add(self, org_id: int, cmd: dict[str, Any], read_only: bool) -> dict[str, Any]:
        uid = cmd.get("uid") or new_uuid()
        check_uid(uid)
        if self.store.find("datasources", org_id=org_id, name=cmd["name"]):
            raise error(409, "data source with the same name already exists", traceID="")
        if self.find_by_uid(org_id, uid):
            raise error(409, "data source with the same uid already exists", traceID="")
        created = now_iso()
        first_in_org = not any(self.store.where("datasources", org_id=org_id))
        ds = {
            "id": self.store.next_id("datasource"),
            "uid": uid,
            "org_id": org_id,
            "version": 1,
            "read_only": read_only,
            "created": created,
            "updated": created,
            "secure": {},
        }
        self._apply(ds, cmd)
        ds["is_default"] = bool(cmd.get("isDefault")) or first_in_org
        self._apply_secrets(ds, cmd)
        self.store.items("datasources").append(ds)
        if ds["is_default"]:
            self._make_only_default(ds)
        return ds

    def _apply(self, ds: dict[str, Any], cmd: dict[str, Any]) -> None:
        ds.update(
            name=cmd["name"],
            type=cmd["type"],
            access=cmd["access"],
            url=cmd.get("url") or "",
            user=cmd.get("user") or "",
            database=cmd.get("database") or "",
            basic_auth=bool(cmd.get("basicAuth")),
            basic_auth_user=cmd.get("basicAuthUser") or "",
            with_credentials=bool(cmd.get("withCredentials")),
            is_default=bool(cmd.get("isDefault")),
            json_data=cmd.get("jsonData") or {},
        )

    @staticmethod
    def _apply_secrets(ds: dict[str, Any], cmd: dict[str, Any]) -> None:
        # Omitted keys keep their stored value; an empty string clears the key.
        for key, value in (cmd.get("secureJsonData") or {}).items():
            if value == "":
                ds["secure"].pop(key, None)
            else:
                ds["secure"][key] = value

    def _make_only_default(self, chosen: dict[str, Any]) -> None:
        for other in self.store.where("datasources", org_id=chosen["org_id"]):
            if other is not chosen:
                other["is_default"] = False

    def update_by_uid(self, request: Request) -> Response:
        return self._update(request, self._by_uid(request))

    def update_by_id(self, request: Request) -> Response:
        return self._update(request, self._by_id(request))

    def _update(self, request: Request, ds: dict[str, Any]) -> Response:
        cmd = bind_command(request.json())
        self.update(ds, cmd, from_api=True)
        return message("Datasource updated", id=ds["id"], name=ds["name"], datasource=dto(ds))

    def update(self, ds: dict[str, Any], cmd: dict[str, Any], from_api: bool) -> None:
        if from_api and ds["read_only"]:
            raise error(403, "Cannot update read-only data source")
        clash = self.store.find("datasources", org_id=ds["org_id"], name=cmd["name"])
        if clash is not None and clash is not ds:
            raise error(409, "Failed to update datasource: data source with the same name already exists", traceID="")
        new_uid = cmd.get("uid") or ds["uid"]
        if new_uid != ds["uid"]:
            check_uid(new_uid)
            if self.find_by_uid(ds["org_id"], new_uid):
                raise error(409, "data source with the same uid already exists", traceID="")
        version = as_int(cmd.get("version"))
        # store.go: a non-zero version must not be older than the stored one; 0 is unconditional
        if version != 0 and ds["version"] > version:
            raise error(
                409, "Datasource has already been updated by someone else. Please reload and try again", traceID=""
            )
        self._apply(ds, cmd)
        self._apply_secrets(ds, cmd)
        ds["uid"] = new_uid
        ds["version"] = version + 1
        ds["updated"] = now_iso()
        if ds["is_default"]:
            self._make_only_default(ds)

    def delete_by_uid(self, request: Request) -> Response:
        return self._delete(self._by_uid(request))

    def delete_by_name(self, request: Request) -> Response:
        return self._delete(self._by_name(request))

    def delete_by_id(self, request: Request) -> Response:
        return self._delete(self._by_id(request))

    def _delete(self, ds: dict[str, Any]) -> Response:
        if ds["read_only"]:
            raise error(403, "Cannot delete read-only data source")
        self.store.remove("datasources", ds)
        return message("Data source deleted", id=ds["id"])
