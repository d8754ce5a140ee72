"""Session login like Grafana's: POST /login, the login cookie, its lookup on each request, GET /logout, CSRF.

Each behaviour follows a grafana/grafana source file, named where it is modelled:

* pkg/api/api.go: `r.Post("/login", ...)` and `r.Get("/logout", hs.Logout)`, outside /api and outside the OpenAPI
  spec (spec_guard.UNDOCUMENTED_ROUTES lists them, as /api/health).
* pkg/api/login.go LoginPost: `authnService.Login(ctx, authn.ClientForm, ...)`, then `authn.HandleLoginResponse`.
* pkg/services/authn/clients/form.go: JSON body `{"user", "password"}`, both `binding:"Required"`; a body that does
  not bind answers 400 `form-auth.invalid` "bad login data".
* pkg/services/authn/clients/password.go: a wrong login or password answers 401 `password-auth.failed`
  "Invalid username or password".
* pkg/services/authn/authnimpl/registration.go: the form client is registered only when `[auth] disable_login_form`
  is false (and independently of `[auth.basic] enabled`); authnimpl/service.go Login answers a missing client with
  `authn.ErrClientNotConfigured`, errutil.BadRequest("auth.client.notConfigured") -> 400 "Bad request"
  (pkg/apimachinery/errutil Error.Public: no public message -> the status text).
* pkg/services/authn/authnimpl/service.go: disabled identity -> 401 `identity.disabled` "Unauthorized".
* pkg/services/authn/authn.go HandleLoginResponse / WriteSessionCookie / DeleteSessionCookie: 200
  `{"message": "Logged in", "redirectUrl": "<sub-url>/"}`; the cookie `[auth] login_cookie_name` (default
  grafana_session) holding the unhashed token, Max-Age = login_maximum_lifetime_duration (default 30d), and
  `grafana_session_expiry` = the next rotation time (unix seconds, token.NextRotation: rotated_at + interval - 5s),
  not HttpOnly. Attributes from pkg/middleware/cookies (WriteCookie/DeleteCookie) and pkg/api/login.go
  CookieOptionsFromCfg: Path = sub-url or "/", HttpOnly, Secure from `[security] cookie_secure`, SameSite from
  `[security] cookie_samesite` (lax; "disabled" leaves it out). Deleting writes Max-Age=0 (Go's MaxAge -1).
* pkg/services/auth/authimpl/auth_token.go: a 32-hex-character token (util.RandomHex(16)), stored hashed
  (sha256 of token + `[security] secret_key`) and looked up by that hash; expired when created more than
  login_maximum_lifetime_duration ago or last rotated more than login_maximum_inactive_lifetime_duration (7d) ago
  (LookupToken's createdAfterParam / rotatedAfterParam); the first lookup marks the token seen.
  RevokeToken(soft=false), as Logout calls it, deletes the row.
* pkg/services/authn/clients/session.go and pkg/models/usertoken/user_token.go NeedsRotation: a token last rotated
  more than `token_rotation_interval_minutes` (default 10, at least 2: pkg/setting/setting.go) ago answers 401
  `session.token.rotate` (authn/error.go errTokenNeedsRotation, public message "Unauthorized"); the authn service
  does not fall through to another client on that error (authnimpl/service.go Authenticate). The double's clock is
  the wall clock (time.time()); `now` is a parameter so tests can move it.
* pkg/middleware/auth.go notAuthorized: an API request whose session lookup failed otherwise gets
  c.WriteErrOrFallback(401, "Unauthorized", err): a lookup error that is not an errutil error (user token not found,
  expired) answers `{"message": "Unauthorized"}`.
* pkg/middleware/csrf/csrf.go check: a request carrying the login cookie with a method other than HEAD, OPTIONS or
  TRACE (GET is checked too) and an Origin header must have an Origin host equal to the Host header's host (port
  ignored), to a `[security] csrf_trusted_origins` entry, or to the host in one of the `csrf_additional_headers`;
  otherwise 403 text/plain "origin not allowed" (http.Error). No Origin header: not checked. With
  `[security] csrf_always_check = true` requests without the login cookie are checked too (csrf_test.go).
* pkg/api/login.go Logout: the session token is revoked, both cookies deleted, and the answer is a 302 redirect to
  `<sub-url>/login` (authnimpl/service.go Logout; `[auth] signout_redirect_url` is not modelled).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from .web import ApiError, Identity, Request, Response, errutil

if TYPE_CHECKING:
    from .app import App
    from .settings import Settings
    from .state import Store

COLLECTION = "user_auth_tokens"
EXPIRY_COOKIE = "grafana_session_expiry"  # pkg/services/authn/authn.go sessionExpiryCookie
URGENT_ROTATE_SECONDS = 60  # pkg/models/usertoken UrgentRotateTime
ROTATION_LEEWAY_SECONDS = 5  # pkg/models/usertoken rotationLeeway
CSRF_SAFE_METHODS = ("HEAD", "OPTIONS", "TRACE")  # pkg/middleware/csrf/csrf.go: GET is not among them
_DURATION = re.compile(r"^(\d+)([smhdwMy]?)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "M": 30 * 86400, "y": 365 * 86400, "": 86400}


def _duration_seconds(text: str, default: int) -> int:
    """Grafana's gtime.ParseDuration as readAuthSettings uses it: a bare number is days."""
    found = _DURATION.match(text.strip())
    if not found:
        return default
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2)]


class SessionConfig:
    """The settings session login reads (pkg/setting/setting.go readAuthSettings, readSecuritySettings)."""

    def __init__(self, settings: Settings) -> None:
        self.cookie_name = settings.get("auth", "login_cookie_name")
        self.disable_login_form = settings.flag("auth", "disable_login_form")
        self.max_lifetime = _duration_seconds(settings.get("auth", "login_maximum_lifetime_duration"), 30 * 86400)
        self.max_inactive = _duration_seconds(settings.get("auth", "login_maximum_inactive_lifetime_duration"),
                                              7 * 86400)
        raw_interval = settings.get("auth", "token_rotation_interval_minutes").strip()
        self.rotation_seconds = max(2, int(raw_interval) if raw_interval.isdigit() else 10) * 60
        self.secret_key = settings.get("security", "secret_key")
        self.cookie_secure = settings.flag("security", "cookie_secure")
        self.same_site = (settings.get("security", "cookie_samesite") or "lax").strip().lower()
        self.trusted_origins = settings.get("security", "csrf_trusted_origins").split()
        self.additional_headers = settings.get("security", "csrf_additional_headers").split()
        # [security] csrf_always_check: check even without the login cookie (pkg/middleware/csrf/csrf_test.go).
        self.csrf_always_check = settings.flag("security", "csrf_always_check")
        # cfg.AppSubURL: the path of [server] root_url without its trailing slash.
        self.sub_url = urlsplit(settings.get("server", "root_url")).path.rstrip("/")

    def cookie(self, name: str, value: str, max_age: int, http_only: bool = True) -> str:
        """A Set-Cookie value as Go's net/http writes pkg/middleware/cookies.WriteCookie's cookie."""
        parts = [f"{name}={quote(value, safe='')}", f"Path={self.sub_url or '/'}"]
        parts.append(f"Max-Age={max_age}" if max_age > 0 else "Max-Age=0")
        if http_only:
            parts.append("HttpOnly")
        if self.cookie_secure:
            parts.append("Secure")
        if self.same_site != "disabled":
            parts.append("SameSite=" + {"strict": "Strict", "none": "None"}.get(self.same_site, "Lax"))
        return "; ".join(parts)

    def session_cookies(self, token: str, rotated_at: int) -> list[str]:
        max_age = self.max_lifetime if self.max_lifetime > 0 else -1
        expiry = rotated_at + self.rotation_seconds - ROTATION_LEEWAY_SECONDS
        return [self.cookie(self.cookie_name, token, max_age),
                self.cookie(EXPIRY_COOKIE, str(expiry), max_age, http_only=False)]

    def deleted_cookies(self) -> list[str]:
        return [self.cookie(self.cookie_name, "", -1), self.cookie(EXPIRY_COOKIE, "", -1, http_only=False)]


def request_cookie(request_headers: Any, name: str) -> str | None:
    """The value of cookie `name` in the Cookie header(s), as Go's Request.Cookie finds it (the first one)."""
    for key, raw in request_headers.items():
        if key.lower() != "cookie":
            continue
        for pair in raw.split(";"):
            cookie_name, sep, value = pair.strip().partition("=")
            if sep and cookie_name == name:
                return value.strip('"')
    return None


def hash_token(config: SessionConfig, token: str) -> str:
    return hashlib.sha256((token + config.secret_key).encode()).hexdigest()


def create_token(store: Store, config: SessionConfig, user_id: int, now: float) -> tuple[str, dict[str, Any]]:
    token = secrets.token_hex(16)
    stamp = int(now)
    record = {
        "id": store.next_id("user_auth_token"),
        "user_id": user_id,
        "auth_token": hash_token(config, token),
        "auth_token_seen": False,
        "created_at": stamp,
        "rotated_at": stamp,
        "seen_at": 0,
    }
    store.items(COLLECTION).append(record)
    store.dirty = True
    return token, record


def lookup_session(store: Store, config: SessionConfig, raw: str, now: float) -> dict[str, Any]:
    """The user of a session cookie value, or the ApiError Grafana answers an API request with.

    Call with the store's lock held."""
    record = store.find(COLLECTION, auth_token=hash_token(config, unquote(raw)))
    if record is None:  # never issued, or deleted by logout (auth.ErrUserTokenNotFound)
        raise ApiError(401, {"message": "Unauthorized"})
    if record["created_at"] <= now - config.max_lifetime or record["rotated_at"] <= now - config.max_inactive:
        raise ApiError(401, {"message": "Unauthorized"})  # auth.TokenExpiredError
    if not record["auth_token_seen"]:
        record["auth_token_seen"] = True
    record["seen_at"] = int(now)
    store.dirty = True
    # usertoken.NeedsRotation, on the token LookupToken returns (marked seen above).
    if record["rotated_at"] < now - config.rotation_seconds:
        raise errutil(401, "session.token.rotate", "Unauthorized")
    user = store.find("users", id=record["user_id"])
    if user is None:
        raise ApiError(401, {"message": "Unauthorized"})
    return user


def session_identity(store: Store, config: SessionConfig, raw: str, org_id: int | None, now: float) -> Identity:
    with store.lock:
        user = lookup_session(store, config, raw, now)
        if user["is_disabled"]:
            raise errutil(401, "identity.disabled", "Unauthorized")
        user["last_seen"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        return Identity.of_user(user, org_id)


def csrf_refusal(config: SessionConfig, method: str, headers: Any) -> Response | None:
    """pkg/middleware/csrf/csrf.go check, or None when the request passes."""
    if not config.csrf_always_check and request_cookie(headers, config.cookie_name) is None:
        return None
    if method in CSRF_SAFE_METHODS:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    host = _hostname(lowered.get("host", ""))
    origin_header = lowered.get("origin", "")
    if not origin_header:
        return None
    origin = urlsplit(origin_header).hostname or ""
    trusted = any(_hostname(lowered.get(name.lower(), "")) == origin for name in config.additional_headers)
    trusted = trusted or origin in config.trusted_origins
    if not host or (not trusted and origin != host):
        return Response(403, raw=b"origin not allowed\n", content_type="text/plain; charset=utf-8")
    return None


def _hostname(host_port: str) -> str:
    """util.SplitHostPortDefault(host, "", "0").Host: the host without the port and without IPv6 brackets."""
    text = host_port.strip()
    if text.startswith("["):
        return text[1:].partition("]")[0]
    if text.count(":") == 1:
        return text.partition(":")[0]
    return text


def register(app: App) -> None:
    api = SessionApi(app)
    # pkg/api/api.go: r.Post("/login", ...LoginPost) and r.Get("/logout", hs.Logout), both without reqSignedIn.
    app.router.add("POST", "/login", api.login, "public", locked=False)
    app.router.add("GET", "/logout", api.logout, "public", locked=False)


class SessionApi:
    def __init__(self, app: App) -> None:
        self.app = app

    @property
    def config(self) -> SessionConfig:
        return self.app.sessions

    def login(self, request: Request) -> Response:
        from .auth import user_with_password  # auth imports this module

        config = self.config
        if config.disable_login_form:
            return errutil(400, "auth.client.notConfigured", "Bad request").as_response()
        try:
            form = request.json()
        except ApiError:
            form = None
        user_name = form.get("user") if isinstance(form, dict) else None
        password = form.get("password") if isinstance(form, dict) else None
        if not isinstance(user_name, str) or not isinstance(password, str) or not user_name or not password:
            return errutil(400, "form-auth.invalid", "bad login data").as_response()
        store = self.app.store
        user = user_with_password(store, user_name, password)
        if user is None:
            return errutil(401, "password-auth.failed", "Invalid username or password").as_response()
        with store.lock:
            if user["is_disabled"]:
                return errutil(401, "identity.disabled", "Unauthorized").as_response()
            now = time.time()
            token, record = create_token(store, config, user["id"], now)
            store.save()
        body = {"message": "Logged in", "redirectUrl": config.sub_url + "/"}
        return Response(200, body, cookies=config.session_cookies(token, record["rotated_at"]))

    def logout(self, request: Request) -> Response:
        config = self.config
        raw = request_cookie(request.headers, config.cookie_name)
        if raw is not None:
            store = self.app.store
            with store.lock:
                record = store.find(COLLECTION, auth_token=hash_token(config, unquote(raw)))
                if record is not None:
                    store.remove(COLLECTION, record)
                    store.save()
        location = config.sub_url + "/login"
        page = f'<a href="{location}">Found</a>.\n\n'.encode()
        return Response(302, raw=page, content_type="text/html; charset=utf-8", headers={"Location": location},
                        cookies=config.deleted_cookies())
