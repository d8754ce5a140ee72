"""The Grafana TEST DOUBLE's session login, as Grafana 13 does it (grafana_double_lib/sessions.py names the upstream
file of each behaviour): POST /login sets the login cookie, requests carry only that cookie (and X-Grafana-Org-Id),
CSRF refuses a foreign Origin, GET /logout revokes the session, and [auth] disable_login_form turns the form off."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

DOUBLE_DIR = Path(__file__).resolve().parents[1] / "doubles" / "grafana"
sys.path.insert(0, str(DOUBLE_DIR))

from grafana_double_lib.app import App  # noqa: E402
from grafana_double_lib.backends import BackendMonitor  # noqa: E402
from grafana_double_lib.server import DoubleHTTPServer  # noqa: E402
from grafana_double_lib.settings import load_settings  # noqa: E402
from grafana_double_lib.spec_guard import SpecGuard, default_spec_path  # noqa: E402
from grafana_double_lib.state import Store  # noqa: E402

ADMIN = ("admin", "admin")


class Double:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        settings = load_settings(None, environ or {})
        self.app = App(settings, Store(None), SpecGuard(default_spec_path()), BackendMonitor(settings, skip=True),
                       version="13.0.0")
        self.server = DoubleHTTPServer(("127.0.0.1", 0), self.app)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def call(self, method: str, path: str, body: Any = None, auth: Any = None,
             headers: dict[str, str] | None = None) -> requests.Response:
        return requests.request(method, self.url + path, json=body, auth=auth, headers=headers or {}, timeout=10,
                                allow_redirects=False)

    def login(self, user: str = "admin", password: str = "admin") -> str:
        reply = self.call("POST", "/login", {"user": user, "password": password})
        assert reply.status_code == 200, reply.text
        return reply.cookies["grafana_session"]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def grafana() -> Iterator[Double]:
    double = Double()
    yield double
    double.stop()


def session(cookie: str, org_id: int | None = None, **extra: str) -> dict[str, str]:
    headers = {"Cookie": f"grafana_session={cookie}", **extra}
    if org_id is not None:
        headers["X-Grafana-Org-Id"] = str(org_id)
    return headers


def test_login_answers_logged_in_and_sets_the_session_cookies_as_grafana(grafana: Double) -> None:
    reply = grafana.call("POST", "/login", {"user": "admin", "password": "admin"})
    assert reply.status_code == 200
    assert reply.json() == {"message": "Logged in", "redirectUrl": "/"}
    set_cookies = reply.raw.headers.getlist("Set-Cookie")
    assert len(set_cookies) == 2
    assert set_cookies[0].startswith("grafana_session=")
    assert set_cookies[0].endswith("; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax")
    assert len(reply.cookies["grafana_session"]) == 32
    assert set_cookies[1].startswith("grafana_session_expiry=")
    assert "HttpOnly" not in set_cookies[1]


def test_a_session_cookie_alone_reads_and_writes_in_the_org_of_x_grafana_org_id(grafana: Double) -> None:
    created = grafana.call("POST", "/api/orgs", {"name": "Course"}, auth=ADMIN)
    assert created.status_code == 200, created.text
    org_id = int(created.json()["orgId"])
    cookie = grafana.login()
    who = grafana.call("GET", "/api/user", headers=session(cookie, org_id))
    assert who.status_code == 200 and who.json()["login"] == "admin"
    made = grafana.call("POST", "/api/folders", {"title": "In course"}, headers=session(cookie, org_id))
    assert made.status_code == 200, made.text
    in_org = grafana.call("GET", "/api/folders", auth=ADMIN, headers={"X-Grafana-Org-Id": str(org_id)})
    in_main = grafana.call("GET", "/api/folders", auth=ADMIN)
    assert [f["title"] for f in in_org.json()] == ["In course"]
    assert [f["title"] for f in in_main.json()] == []
    # targetOrgId wins over the header, as for basic auth.
    org = grafana.call("GET", f"/api/org?targetOrgId={org_id}", headers=session(cookie, 1))
    assert org.json()["name"] == "Course"


def test_a_wrong_password_or_a_bad_body_is_refused_as_grafana_refuses_it(grafana: Double) -> None:
    wrong = grafana.call("POST", "/login", {"user": "admin", "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json()["messageId"] == "password-auth.failed"
    assert wrong.json()["message"] == "Invalid username or password"
    assert "Set-Cookie" not in wrong.headers
    empty = grafana.call("POST", "/login", {"user": "admin"})
    assert empty.status_code == 400 and empty.json()["message"] == "bad login data"


def test_csrf_refuses_a_foreign_origin_and_accepts_none_or_the_same_host(grafana: Double) -> None:
    cookie = grafana.login()
    foreign = grafana.call("POST", "/api/folders", {"title": "x"},
                           headers=session(cookie, 1, Origin="http://evil.example"))
    assert foreign.status_code == 403
    assert foreign.text == "origin not allowed\n"
    assert grafana.call("GET", "/api/user", headers=session(cookie, 1, Origin="http://evil.example")).status_code == 403
    assert grafana.call("GET", "/api/search?query=x", headers=session(cookie, 1)).status_code == 200
    assert grafana.call("POST", "/api/folders", {"title": "a"}, headers=session(cookie, 1)).status_code == 200
    same = grafana.call("POST", "/api/folders", {"title": "b"}, headers=session(cookie, 1, Origin=grafana.url))
    assert same.status_code == 200
    # Without the login cookie the check does not apply (basic auth, a foreign Origin).
    basic = grafana.call("POST", "/api/folders", {"title": "c"}, auth=ADMIN, headers={"Origin": "http://evil.example"})
    assert basic.status_code == 200


def test_csrf_trusted_origins_are_accepted() -> None:
    double = Double({"GF_SECURITY_CSRF_TRUSTED_ORIGINS": "portal.example"})
    try:
        cookie = double.login()
        reply = double.call("POST", "/api/folders", {"title": "x"},
                            headers=session(cookie, 1, Origin="https://portal.example"))
        assert reply.status_code == 200, reply.text
    finally:
        double.stop()


def test_csrf_always_check_checks_requests_without_the_login_cookie_too() -> None:
    double = Double({"GF_SECURITY_CSRF_ALWAYS_CHECK": "true"})
    try:
        foreign = double.call("POST", "/api/folders", {"title": "x"}, auth=ADMIN,
                              headers={"Origin": "http://evil.example"})
        assert foreign.status_code == 403 and foreign.text == "origin not allowed\n"
        assert double.call("POST", "/api/folders", {"title": "y"}, auth=ADMIN).status_code == 200
    finally:
        double.stop()


def test_logout_revokes_the_session_clears_the_cookies_and_redirects_to_login(grafana: Double) -> None:
    cookie = grafana.login()
    assert grafana.call("GET", "/api/user", headers=session(cookie)).status_code == 200
    out = grafana.call("GET", "/logout", headers=session(cookie))
    assert out.status_code == 302
    assert out.headers["Location"] == "/login"
    cleared = out.raw.headers.getlist("Set-Cookie")
    assert [c.split(";")[0] for c in cleared] == ["grafana_session=", "grafana_session_expiry="]
    assert all("Max-Age=0" in c for c in cleared)
    after = grafana.call("GET", "/api/user", headers=session(cookie))
    assert after.status_code == 401
    assert after.json() == {"message": "Unauthorized"}


def test_basic_auth_is_tried_before_the_session_and_a_failure_falls_through_to_it(grafana: Double) -> None:
    # authnimpl/service.go Authenticate: clients by priority (basic 40, session 60), an error tries the next one.
    assert grafana.call("GET", "/api/user", headers=session("0" * 32)).status_code == 401
    assert grafana.call("GET", "/api/user", auth=ADMIN, headers=session("0" * 32)).status_code == 200
    cookie = grafana.login()
    wrong_basic = grafana.call("GET", "/api/user", auth=("admin", "nope"), headers=session(cookie))
    assert wrong_basic.status_code == 200, wrong_basic.text
    no_session = grafana.call("GET", "/api/user", auth=("admin", "nope"), headers=session("0" * 32))
    assert no_session.status_code == 401
    assert no_session.json()["messageId"] == "basic-auth.invalid-credentials"


def test_a_token_older_than_the_rotation_interval_needs_rotation(grafana: Double) -> None:
    cookie = grafana.login()
    assert grafana.call("GET", "/api/user", headers=session(cookie)).status_code == 200
    with grafana.app.store.lock:
        for record in grafana.app.store.items("user_auth_tokens"):
            record["rotated_at"] -= 11 * 60  # default token_rotation_interval_minutes is 10
    stale = grafana.call("GET", "/api/user", headers=session(cookie))
    assert stale.status_code == 401
    assert stale.json()["messageId"] == "session.token.rotate"


def test_a_token_past_its_maximum_lifetime_has_expired(grafana: Double) -> None:
    cookie = grafana.login()
    with grafana.app.store.lock:
        for record in grafana.app.store.items("user_auth_tokens"):
            record["created_at"] -= 31 * 86400  # login_maximum_lifetime_duration defaults to 30d
    expired = grafana.call("GET", "/api/user", headers=session(cookie))
    assert expired.status_code == 401
    assert expired.json() == {"message": "Unauthorized"}


def test_disable_login_form_turns_post_login_off_but_not_basic_auth() -> None:
    double = Double({"GF_AUTH_DISABLE_LOGIN_FORM": "true"})
    try:
        reply = double.call("POST", "/login", {"user": "admin", "password": "admin"})
        assert reply.status_code == 400
        assert reply.json()["messageId"] == "auth.client.notConfigured"
        assert "Set-Cookie" not in reply.headers
        assert double.call("GET", "/api/user", auth=ADMIN).status_code == 200
    finally:
        double.stop()


def test_the_cookie_follows_the_sub_url_and_the_cookie_settings() -> None:
    double = Double({"GF_SERVER_ROOT_URL": "https://lab.example/grafana/", "GF_SECURITY_COOKIE_SECURE": "true",
                     "GF_SECURITY_COOKIE_SAMESITE": "strict"})
    try:
        reply = double.call("POST", "/login", {"user": "admin", "password": "admin"})
        assert reply.json()["redirectUrl"] == "/grafana/"
        first = reply.raw.headers.getlist("Set-Cookie")[0]
        assert first.endswith("; Path=/grafana; Max-Age=2592000; HttpOnly; Secure; SameSite=Strict")
        out = double.call("GET", "/logout")
        assert out.headers["Location"] == "/grafana/login"
    finally:
        double.stop()


def test_login_and_logout_are_recorded_like_other_requests(grafana: Double) -> None:
    cookie = grafana.login()
    grafana.call("GET", "/logout", headers=session(cookie))
    served = requests.get(grafana.url + "/__double__/requests", timeout=10).json()
    last_two = [(r["method"], r["path"], r["status"]) for r in served[-2:]]
    assert last_two == [("POST", "/login", 200), ("GET", "/logout", 302)]
    metrics = requests.get(grafana.url + "/metrics", timeout=10).text
    assert 'handler="/login",method="POST",status_code="200"' in metrics
    assert requests.get(grafana.url + "/__double__/violations", timeout=10).json() == []
