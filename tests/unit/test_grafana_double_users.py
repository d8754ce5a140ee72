"""The Grafana TEST DOUBLE's user lookup by login or email, as Grafana's sqlStore.GetByLogin
(pkg/services/user/userimpl/store.go): the text lowered, the email first when it holds an '@', then the login; and
logins and emails stored in lower case since Grafana 11 (grafana/grafana#86359)."""

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
    def __init__(self, version: str) -> None:
        settings = load_settings(None, {})
        self.app = App(settings, Store(None), SpecGuard(default_spec_path()), BackendMonitor(settings, skip=True),
                       version=version)
        self.server = DoubleHTTPServer(("127.0.0.1", 0), self.app)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def call(self, method: str, path: str, body: Any = None, auth: Any = ADMIN) -> requests.Response:
        return requests.request(method, self.url + path, json=body, auth=auth, timeout=10)

    def user(self, login: str, email: str) -> int:
        reply = self.call("POST", "/api/admin/users", {"login": login, "email": email, "password": "pw-12345"})
        assert reply.status_code == 200, reply.text
        return int(reply.json()["id"])

    def lookup(self, text: str) -> str | None:
        reply = self.call("GET", "/api/users/lookup?loginOrEmail=" + requests.utils.quote(text))
        return reply.json()["login"] if reply.status_code == 200 else None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=["10.4.0", "12.3.0"])
def grafana(request: pytest.FixtureRequest) -> Iterator[Double]:
    double = Double(request.param)
    yield double
    double.stop()


def test_a_text_with_an_at_sign_finds_the_user_with_that_email_before_the_user_with_that_login(
        grafana: Double) -> None:
    grafana.user("carol", "carol@uni.edu")
    grafana.user("carol@uni.edu", "other@uni.edu")
    assert grafana.lookup("carol@uni.edu") == "carol"
    assert grafana.lookup("other@uni.edu") == "carol@uni.edu"


def test_a_text_without_an_at_sign_is_a_login_only(grafana: Double) -> None:
    grafana.user("dave", "teacher")  # an email without '@' is never looked up
    assert grafana.lookup("teacher") is None
    assert grafana.lookup("dave") == "dave"


def test_logins_and_emails_are_found_whatever_their_case(grafana: Double) -> None:
    grafana.user("carol", "carol@uni.edu")
    assert grafana.lookup("CAROL") == "carol"
    assert grafana.lookup("Carol@Uni.EDU") == "carol"
    assert grafana.call("GET", "/api/user", auth=("CaRoL", "pw-12345")).status_code == 200


def test_a_new_user_conflicts_only_on_the_same_login_or_the_same_email(grafana: Double) -> None:
    grafana.user("carol", "carol@uni.edu")
    # sqlStore.LoginConflict: "email=? OR login=?", lowered; a login is not compared with the emails.
    assert grafana.call("POST", "/api/admin/users",
                        {"login": "carol@uni.edu", "email": "c2@uni.edu", "password": "pw-12345"}).status_code == 200
    for body in ({"login": "CAROL", "email": "x@uni.edu"}, {"login": "x", "email": "CAROL@uni.edu"}):
        assert grafana.call("POST", "/api/admin/users", dict(body, password="pw-12345")).status_code == 412


def test_grafana_11_and_later_store_logins_and_emails_in_lower_case_grafana_10_as_given(grafana: Double) -> None:
    user_id = grafana.user("Carol", "Carol@Uni.edu")
    stored = grafana.call("GET", f"/api/users/{user_id}").json()
    lowered = grafana.app.major >= 11
    assert (stored["login"], stored["email"]) == (("carol", "carol@uni.edu") if lowered else ("Carol", "Carol@Uni.edu"))
    grafana.call("PUT", f"/api/users/{user_id}", {"login": "CAROLINE", "email": "Caroline@Uni.edu"})
    stored = grafana.call("GET", f"/api/users/{user_id}").json()
    assert stored["login"] == ("caroline" if lowered else "CAROLINE")
