"""Teams of the Grafana TEST DOUBLE: who is a member of a team just made.

Grafana makes the user who creates a team (basic auth or a session, not a service account) its member with the
Admin permission (pkg/services/team/teamapi/team.go, createTeam). The double runs in a thread (see
``test_grafana_double.py``); every request and response is checked against Grafana's OpenAPI spec.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_grafana_double import RunningDouble, SpecGuard, default_spec_path, start_double


@pytest.fixture(scope="module")
def spec_guard() -> SpecGuard:
    return SpecGuard(default_spec_path())


@pytest.fixture
def double(spec_guard: SpecGuard) -> Iterator[RunningDouble]:
    running = start_double(spec_guard)
    yield running
    assert running.violations() == []
    running.stop()


def members(double: RunningDouble, team_id: int, **kwargs: object) -> list[tuple[str, int]]:
    answer = double.call("GET", f"/api/teams/{team_id}/members", **kwargs)  # type: ignore[arg-type]
    assert answer.status_code == 200, answer.text
    return [(m["login"], m["permission"]) for m in answer.json()]


def test_the_user_who_creates_a_team_is_its_member_with_the_admin_permission(double: RunningDouble) -> None:
    team = double.call("POST", "/api/teams", {"name": "red"}).json()["teamId"]
    assert members(double, team) == [("admin", 4)]
    carol = double.call("POST", "/api/admin/users", {"login": "carol", "password": "secret-pw-1"}).json()["id"]
    assert double.call("POST", f"/api/teams/{team}/members", {"userId": carol}).status_code == 200
    assert sorted(members(double, team)) == [("admin", 4), ("carol", 0)]
    assert double.call("DELETE", f"/api/teams/{team}/members/1").status_code == 200
    assert members(double, team) == [("carol", 0)]


def test_a_team_a_service_account_creates_has_no_member(double: RunningDouble) -> None:
    account = double.call("POST", "/api/serviceaccounts", {"name": "ci", "role": "Admin"}).json()
    key = double.call("POST", f"/api/serviceaccounts/{account['id']}/tokens", {"name": "t"}).json()["key"]
    bearer = {"Authorization": f"Bearer {key}"}
    team = double.call("POST", "/api/teams", {"name": "blue"}, auth=None, headers=bearer).json()["teamId"]
    assert members(double, team) == []
