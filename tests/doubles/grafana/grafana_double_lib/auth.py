"""Authentication like Grafana's authn clients: basic auth for users, Bearer for SA tokens.

Also resolves the org of each request (targetOrgId, then X-Grafana-Org-Id, then the user's
current org) and the caller's role in it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
import time
import uuid
import zlib
from datetime import datetime, timezone
from typing import Any

from .sessions import SessionConfig, request_cookie, session_identity
from .state import Store, now_iso
from .web import ROLE_RANK, ApiError, Identity, Request, errutil

PBKDF2_ROUNDS = 10000  # Grafana's own user password hashing uses 10000 PBKDF2-SHA256 rounds
TOKEN_PREFIX = "glsa_"
DEFAULT_ORG_ID = 1
DEFAULT_ORG_NAME = "Main Org."
ORG_ROLES = ("Viewer", "Editor", "Admin")


def new_salt() -> str:
    return secrets.token_hex(5)


def hash_password(password: str, salt: str) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), PBKDF2_ROUNDS, 50)
    return digest.hex()


def set_password(user: dict[str, Any], password: str) -> None:
    user["salt"] = new_salt()
    user["password"] = hash_password(password, user["salt"])


def password_matches(user: dict[str, Any], password: str) -> bool:
    if not user.get("password"):
        return False
    candidate = hash_password(password, user["salt"])
    return hmac.compare_digest(candidate, user["password"])


def new_uid(length: int = 14) -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _position in range(length))


def new_uuid() -> str:
    return str(uuid.uuid4())


def new_token_key() -> str:
    """A key shaped like Grafana's: glsa_<32 alphanumerics>_<crc32 of the rest, hex>."""
    secret = "".join(secrets.choice(string.ascii_letters + string.digits) for _position in range(32))
    body = TOKEN_PREFIX + secret
    return f"{body}_{zlib.crc32(body.encode()):08x}"


def token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# -- bootstrap ---------------------------------------------------------------------------------


def ensure_bootstrap(store: Store, admin_login: str, admin_password: str, admin_email: str) -> bool:
    """Create org 1 and the server admin on an empty database, as Grafana does on first start.

    The admin password from the settings is read only here: later starts keep whatever password
    the database holds, exactly like Grafana.
    """
    if not store.is_empty:
        return False
    created = now_iso()
    store.items("orgs").append(new_org_record(store, DEFAULT_ORG_NAME, created))
    admin = new_user_record(store, admin_login, admin_email, "", created)
    admin["is_admin"] = True
    admin["orgs"] = {str(DEFAULT_ORG_ID): "Admin"}
    admin["org_id"] = DEFAULT_ORG_ID
    set_password(admin, admin_password)
    store.items("users").append(admin)
    return True


def new_org_record(store: Store, name: str, created: str) -> dict[str, Any]:
    return {
        "id": store.next_id("org"),
        "name": name,
        "address": {"address1": "", "address2": "", "city": "", "zipCode": "", "state": "", "country": ""},
        "created": created,
        "updated": created,
    }


def new_user_record(store: Store, login: str, email: str, name: str, created: str) -> dict[str, Any]:
    return {
        "id": store.next_id("user"),
        "uid": new_uid(),
        "login": login,
        "email": email,
        "name": name,
        "is_admin": False,
        "is_disabled": False,
        "is_service_account": False,
        "orgs": {},
        "org_id": DEFAULT_ORG_ID,
        "theme": "",
        "salt": "",
        "password": "",
        "created": created,
        "updated": created,
        "last_seen": created,
    }


# -- per-request authentication ----------------------------------------------------------------


def _unauthorized() -> ApiError:
    return errutil(401, "auth.unauthorized", "Unauthorized")


def authenticate(store: Store, request: Request, session_config: SessionConfig | None = None) -> Identity:
    """The caller's identity for this request, or an ApiError shaped like Grafana's.

    It takes the store's lock itself, only to read and touch the store: a password's PBKDF2 is computed outside it,
    as Grafana checks the passwords of concurrent requests concurrently.

    The login cookie (sessions.py) is tried after the Authorization header, as Grafana's authn service tries its
    clients by priority (pkg/services/authn/clients: api_key 30, basic 40, session 60) and falls through to the next
    one on an error (authnimpl/service.go Authenticate); the header's error is answered when the session fails too,
    except a session that needs rotation, whose error stops the chain.
    """
    header = request.header("Authorization") or ""
    scheme, _space, value = header.strip().partition(" ")
    scheme = scheme.lower()
    cookie = request_cookie(request.headers, session_config.cookie_name) if session_config else None
    try:
        if scheme == "basic":
            return _basic(store, request, value.strip())
        if scheme == "bearer":
            with store.lock:
                return _bearer(store, request, value.strip())
        if cookie is None:
            raise _unauthorized()
    except ApiError as header_error:
        if cookie is None or session_config is None:
            raise
        try:
            return session_identity(store, session_config, cookie, requested_org(request), time.time())
        except ApiError as session_error:
            if session_error.body.get("messageId") == "session.token.rotate" or not header:
                raise
            raise header_error from session_error
    assert session_config is not None and cookie is not None
    return session_identity(store, session_config, cookie, requested_org(request), time.time())


def _basic(store: Store, request: Request, value: str) -> Identity:
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise errutil(400, "basic-auth.invalid-header", "Invalid Basic Auth Header") from exc
    login, sep, password = decoded.partition(":")
    if not sep:
        raise errutil(400, "basic-auth.invalid-header", "Invalid Basic Auth Header")
    user = user_with_password(store, login, password)
    if user is None:
        raise errutil(401, "basic-auth.invalid-credentials", "Invalid username or password")
    with store.lock:
        if user["is_disabled"]:
            raise errutil(401, "user.disabled", "User is disabled")
        user["last_seen"] = now_iso()
        return Identity.of_user(user, requested_org(request))


def user_with_password(store: Store, login: str, password: str) -> dict[str, Any] | None:
    """The user (not a service account) with this login or email and password, else None. The PBKDF2 runs outside
    the store's lock."""
    with store.lock:
        user = find_user(store, login)
        stored = {"salt": user.get("salt"), "password": user.get("password")} if user else {}
    if user is None or user["is_service_account"] or not password_matches(stored, password):
        return None
    return user


def _bearer(store: Store, request: Request, key: str) -> Identity:
    if not key.startswith(TOKEN_PREFIX):
        raise errutil(401, "api-key.invalid", "Invalid API key")
    token = store.find("tokens", hash=token_hash(key))
    if token is None:
        raise errutil(401, "api-key.invalid", "Invalid API key")
    if token.get("is_revoked"):
        raise errutil(401, "api-key.revoked", "Revoked API key")
    if token.get("expires_epoch") and token["expires_epoch"] < datetime.now(timezone.utc).timestamp():
        raise errutil(401, "api-key.expired", "Expired API key")
    account = store.find("users", id=token["service_account_id"])
    if account is None or account["is_disabled"]:
        raise errutil(401, "api-key.invalid", "Invalid API key")
    org_id = requested_org(request) or token["org_id"]
    if org_id != token["org_id"]:
        raise errutil(401, "api-key.organization-mismatch", "API key does not belong to the requested organization")
    token["last_used"] = now_iso()
    return Identity(
        user_id=account["id"],
        login=account["login"],
        is_server_admin=False,
        is_service_account=True,
        org_id=org_id,
        org_role=account["orgs"].get(str(org_id), "None"),
        token_org_id=token["org_id"],
    )


def requested_org(request: Request) -> int | None:
    """targetOrgId wins, then X-Grafana-Org-Id; values that are not numbers are ignored."""
    for raw in (request.arg("targetOrgId"), request.header("X-Grafana-Org-Id")):
        if raw is not None and raw.strip().isdigit() and int(raw) > 0:
            return int(raw)
    return None


def find_user(store: Store, login_or_email: str) -> dict[str, Any] | None:
    """Grafana's user lookup by login *or email* (GET /api/users/lookup, POST /api/orgs/:id/users, basic auth):
    sqlStore.GetByLogin in pkg/services/user/userimpl/store.go lowers the text ("enforcement of lowercase due to
    forcement of caseinsensitive login"), tries the email first when the text holds an '@', then the login."""
    wanted = login_or_email.lower()
    if not wanted:
        return None
    if "@" in wanted:
        for user in store.items("users"):
            if user["email"] and user["email"].lower() == wanted:
                return user
    for user in store.items("users"):
        if user["login"].lower() == wanted:
            return user
    return None


# -- authorisation -----------------------------------------------------------------------------


def access_denied(action: str) -> ApiError:
    body = {
        "title": "Access denied",
        "message": f"You'll need additional permissions to perform this action. Permissions needed: {action or 'any'}",
        "accessErrorId": "ACE" + "".join(secrets.choice(string.digits) for _digit in range(10)),
    }
    return ApiError(403, body)


def authorize(identity: Identity, access: str, action: str) -> None:
    """Raise 403 unless the identity has the access a route needs."""
    if access == "signed-in":
        return
    if access == "server-admin":
        if not identity.is_server_admin:
            raise access_denied(action)
        return
    if ROLE_RANK.get(identity.org_role, 0) < ROLE_RANK[access]:
        raise access_denied(action)
