# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A login session for the many requests of one run (GrafanaClient.start_session / end_session), against a fake
transport: one password check in Grafana instead of one per request, and basic authentication whenever the
session cannot be had or ends."""

from __future__ import annotations

import pytest
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import GrafanaAPIError, GrafanaClient
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.http_transport import (
    Response,
    basic_auth,
    cookies_set,
    request,
)
from fake_transport import FakeTransport

LOGGED_IN = Response(200, b'{"message": "Logged in", "redirectUrl": "/"}', {"Content-Type": "application/json"},
                     set_cookies=["grafana_session=t0k3n; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax",
                                  "grafana_session_expiry=1796400000; Path=/; Max-Age=2592000; SameSite=Lax"])
BASIC = basic_auth("admin", "pw")


def client(fake: FakeTransport, **params: object) -> GrafanaClient:
    options: dict[str, object] = {"url": "http://grafana.test/", "url_username": "admin", "url_password": "pw"}
    options.update(params)
    return GrafanaClient(options, sleep=lambda s: None, transport=fake)


def test_after_one_login_requests_carry_the_session_cookies_and_no_password() -> None:
    fake = FakeTransport()
    fake.on("POST", "/login", LOGGED_IN)
    fake.on("GET", "/api/folders", 200, [])
    grafana = client(fake)
    assert grafana.start_session() is True
    grafana.org_id = 7
    grafana.request("GET", "/api/folders", "folders")
    login, folders = fake.sent
    assert (login.method, login.path, login.body) == ("POST", "/login", {"user": "admin", "password": "pw"})
    assert "Authorization" not in login.headers
    assert folders.header("Cookie") == "grafana_session=t0k3n; grafana_session_expiry=1796400000"
    assert folders.header("Authorization") is None
    assert folders.header("X-Grafana-Org-Id") == "7"


def test_a_refused_login_leaves_basic_authentication_on_every_request() -> None:
    fake = FakeTransport()
    fake.on("POST", "/login", 401, {"message": "Invalid username or password"})
    fake.on("GET", "/api/folders", 200, [])
    grafana = client(fake)
    assert grafana.start_session() is False
    grafana.request("GET", "/api/folders", "folders")
    assert fake.sent[-1].header("Authorization") == BASIC
    assert fake.sent[-1].header("Cookie") is None


def test_a_token_opens_no_session() -> None:
    fake = FakeTransport()
    grafana = client(fake, token="glsa_x", url_username=None, url_password=None)
    assert grafana.start_session() is False
    assert fake.sent == []


def test_a_session_refused_under_the_run_sends_the_request_again_with_basic_authentication_and_then_all() -> None:
    fake = FakeTransport()
    fake.on("POST", "/login", LOGGED_IN)
    fake.on("POST", "/api/teams", [(401, {"message": "Unauthorized"}), (200, {"teamId": 3, "message": "ok"})])
    fake.on("GET", "/api/teams/search", 200, {"teams": []})
    grafana = client(fake)
    grafana.start_session()
    assert grafana.request("POST", "/api/teams", "team", body={"name": "red"})["teamId"] == 3
    grafana.request("GET", "/api/teams/search", "teams")
    first, again, after = fake.sent[1:]
    assert first.header("Cookie") and first.header("Authorization") is None
    assert (again.method, again.body, again.header("Authorization"), again.header("Cookie")) == (
        "POST", {"name": "red"}, BASIC, None)
    assert after.header("Authorization") == BASIC


def test_a_wrong_password_without_a_session_is_not_sent_twice() -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/folders", 401, {"message": "Invalid username or password"})
    grafana = client(fake)
    with pytest.raises(GrafanaAPIError) as refused:
        grafana.request("GET", "/api/folders", "folders")
    assert refused.value.status == 401
    assert len(fake.sent) == 1


def test_logout_revokes_the_session_without_following_its_redirect_and_then_basic_authentication_is_used() -> None:
    fake = FakeTransport()
    fake.on("POST", "/login", LOGGED_IN)
    fake.on("GET", "/logout", 302, b"", {"Location": "/login"})
    fake.on("GET", "/login", 200, b"<html>")
    fake.on("GET", "/api/folders", 200, [])
    grafana = client(fake)
    grafana.start_session()
    grafana.end_session()
    grafana.end_session()  # nothing more to log out of
    grafana.request("GET", "/api/folders", "folders")
    assert [(s.method, s.path) for s in fake.sent] == [("POST", "/login"), ("GET", "/logout"),
                                                       ("GET", "/api/folders")]
    assert fake.sent[1].header("Cookie").startswith("grafana_session=t0k3n")
    assert fake.sent[2].header("Authorization") == BASIC


def test_cookies_set_keeps_what_a_browser_keeps() -> None:
    assert cookies_set(["a=1; Path=/", 'b="2"; HttpOnly', "c=; Max-Age=0", "d=4; Max-Age=-1", "junk", "=x"]) == {
        "a": "1", "b": "2"}
    assert cookies_set(["a=1", "a=; Max-Age=0"]) == {}


def test_a_redirect_to_another_origin_takes_no_session_cookie_there() -> None:
    fake = FakeTransport()
    fake.on("GET", "http://grafana.test/api/health", 302, b"", {"Location": "http://elsewhere.test/api/health"})
    fake.on("GET", "http://elsewhere.test/api/health", 200, {})
    request(fake, "GET", "http://grafana.test/api/health", {"Cookie": "grafana_session=t0k3n"})
    assert fake.sent[0].header("Cookie") == "grafana_session=t0k3n"
    assert fake.sent[1].header("Cookie") is None
