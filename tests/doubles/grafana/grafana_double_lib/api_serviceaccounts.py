"""Service accounts and their tokens (pkg/services/serviceaccounts/api), per request org."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .accounts import avatar_url
from .auth import ORG_ROLES, new_token_key, new_user_record, token_hash
from .common import as_int, page, slugify
from .state import now_iso
from .web import ApiError, Request, Response, errutil, message, ok

if TYPE_CHECKING:
    from .app import App

DEFAULT_ROLE = "Viewer"


def sa_not_found() -> ApiError:
    return errutil(404, "serviceaccounts.ErrNotFound", "service account not found")


def register(app: App) -> None:
    api = ServiceAccountApi(app)
    add = app.router.add
    add("POST", "/api/serviceaccounts", api.create, "Admin", "serviceaccounts:create")
    add("GET", "/api/serviceaccounts/search", api.search, "Admin", "serviceaccounts:read")
    add("GET", "/api/serviceaccounts/{id}", api.get, "Admin", "serviceaccounts:read")
    add("PATCH", "/api/serviceaccounts/{id}", api.update, "Admin", "serviceaccounts:write")
    add("DELETE", "/api/serviceaccounts/{id}", api.delete, "Admin", "serviceaccounts:delete")
    add("GET", "/api/serviceaccounts/{id}/tokens", api.tokens, "Admin", "serviceaccounts:read")
    add("POST", "/api/serviceaccounts/{id}/tokens", api.create_token, "Admin", "serviceaccounts:write")
    add("DELETE", "/api/serviceaccounts/{id}/tokens/{token_id}", api.delete_token, "Admin", "serviceaccounts:write")


class ServiceAccountApi:
    def __init__(self, app: App) -> None:
        self.app = app
        self.store = app.store

    def _in_org(self, org_id: int) -> list[dict[str, Any]]:
        return sorted(
            (u for u in self.store.items("users") if u["is_service_account"] and str(org_id) in u["orgs"]),
            key=lambda u: u["name"].lower(),
        )

    def _require(self, request: Request) -> dict[str, Any]:
        sa_id = as_int(request.params["id"], -1)
        for account in self._in_org(request.org_id):
            if account["id"] == sa_id:
                return account
        raise sa_not_found()

    def dto(self, account: dict[str, Any]) -> dict[str, Any]:
        org_id = int(next(iter(account["orgs"])))
        return {
            "id": account["id"],
            "uid": account["uid"],
            "name": account["name"],
            "login": account["login"],
            "orgId": org_id,
            "isDisabled": bool(account["is_disabled"]),
            "role": account["orgs"][str(org_id)],
            "tokens": len(list(self.store.where("tokens", service_account_id=account["id"]))),
            "avatarUrl": avatar_url(account["login"]),
            "isExternal": False,
        }

    def create(self, request: Request) -> Response:
        body = request.json()
        name = str(body.get("name") or "").strip()
        if not name:
            raise errutil(400, "serviceaccounts.ErrNameEmpty", "service account name is required")
        role = str(body.get("role") or DEFAULT_ROLE)
        if role not in ORG_ROLES:
            raise errutil(400, "serviceaccounts.ErrInvalidRole", "invalid role specified")
        if any(a["name"].lower() == name.lower() for a in self._in_org(request.org_id)):
            raise errutil(400, "serviceaccounts.ErrAlreadyExists", "service account already exists")
        account = new_user_record(self.store, f"sa-{request.org_id}-{slugify(name)}", "", name, now_iso())
        account.update(
            is_service_account=True,
            is_disabled=bool(body.get("isDisabled")),
            orgs={str(request.org_id): role},
            org_id=request.org_id,
        )
        self.store.items("users").append(account)
        return Response(201, self.dto(account))

    def search(self, request: Request) -> Response:
        text = (request.arg("query") or "").lower()
        accounts = [
            a
            for a in self._in_org(request.org_id)
            if not text or text in a["name"].lower() or text in a["login"].lower()
        ]
        per_page = as_int(request.arg("perpage"), 1000)
        page_no = as_int(request.arg("page"), 1)
        return ok(
            {
                "totalCount": len(accounts),
                "serviceAccounts": [self.dto(a) for a in page(accounts, per_page, page_no)],
                "page": page_no,
                "perPage": per_page,
            }
        )

    def get(self, request: Request) -> Response:
        return ok(self.dto(self._require(request)))

    def update(self, request: Request) -> Response:
        account = self._require(request)
        body = request.json()
        if body.get("name"):
            name = str(body["name"]).strip()
            if any(a["name"].lower() == name.lower() and a is not account for a in self._in_org(request.org_id)):
                raise errutil(400, "serviceaccounts.ErrAlreadyExists", "service account already exists")
            account["name"] = name
        if body.get("role"):
            account["orgs"][str(request.org_id)] = str(body["role"])
        if body.get("isDisabled") is not None:
            account["is_disabled"] = bool(body["isDisabled"])
        account["updated"] = now_iso()
        profile = self.dto(account)
        profile.update(createdAt=account["created"], updatedAt=account["updated"], teams=[])
        return message("Service account updated", id=account["id"], name=account["name"], serviceaccount=profile)

    def delete(self, request: Request) -> Response:
        account = self._require(request)
        self.store.remove("users", account)
        self.store.remove_where("tokens", service_account_id=account["id"])
        return message("Service account deleted")

    # -- tokens --

    def tokens(self, request: Request) -> Response:
        account = self._require(request)
        now = datetime.now(timezone.utc).timestamp()
        result = []
        for token in self.store.where("tokens", service_account_id=account["id"]):
            item: dict[str, Any] = {
                "id": token["id"],
                "name": token["name"],
                "created": token["created"],
                "hasExpired": bool(token["expires_epoch"] and token["expires_epoch"] < now),
                "isRevoked": bool(token.get("is_revoked")),
            }
            if token["expires_epoch"]:
                item["expiration"] = token["expiration"]
                item["secondsUntilExpiration"] = max(0.0, token["expires_epoch"] - now)
            if token.get("last_used"):
                item["lastUsedAt"] = token["last_used"]
            result.append(item)
        return ok(result)

    def create_token(self, request: Request) -> Response:
        account = self._require(request)
        body = request.json()
        name = str(body.get("name") or "").strip()
        if not name:
            raise errutil(400, "serviceaccounts.ErrTokenNameEmpty", "token name is required")
        if self.store.find("tokens", service_account_id=account["id"], name=name):
            raise errutil(
                400, "serviceaccounts.ErrTokenAlreadyExists", "service account token with given name already exists"
            )
        seconds = as_int(body.get("secondsToLive"))
        expires_epoch = datetime.now(timezone.utc).timestamp() + seconds if seconds > 0 else 0
        key = new_token_key()
        token = {
            "id": self.store.next_id("token"),
            "name": name,
            "service_account_id": account["id"],
            "org_id": int(next(iter(account["orgs"]))),
            "hash": token_hash(key),
            "created": now_iso(),
            "expires_epoch": expires_epoch,
            "expiration": (
                datetime.fromtimestamp(expires_epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                if expires_epoch
                else ""
            ),
            "last_used": "",
            "is_revoked": False,
        }
        self.store.items("tokens").append(token)
        return ok({"id": token["id"], "name": name, "key": key})

    def delete_token(self, request: Request) -> Response:
        account = self._require(request)
        token = self.store.find("tokens", service_account_id=account["id"], id=as_int(request.params["token_id"], -1))
        if token is None:
            raise errutil(404, "serviceaccounts.ErrTokenNotFound", "service account token not found")
        self.store.remove("tokens", token)
        return message("Service account token deleted")
