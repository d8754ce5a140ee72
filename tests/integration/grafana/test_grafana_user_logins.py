# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A login names one user: Grafana's lookup also matches emails (the email first when the text holds an '@'), and
compares case-insensitively. grafana_user, grafana_team and grafana_organization act on the user with that login,
never on the user who has it as email, and find a login whatever its case."""

from __future__ import annotations

from typing import Any

from grafana_harness import Ansible, GrafanaDouble


def make_user(grafana: GrafanaDouble, login: str, email: str, name: str = "") -> int:
    body = {"login": login, "email": email, "name": name or login, "password": "secret-pw-1"}
    reply = grafana.call("POST", "/api/admin/users", body)
    assert reply.status == 200, reply
    return reply.body["id"]


def people(grafana: GrafanaDouble) -> dict[str, dict[str, Any]]:
    return {u["login"]: u for u in grafana.get("/api/users")}


def test_user_absent_by_a_login_that_is_another_users_email_deletes_nobody(
        ansible: Ansible, grafana: GrafanaDouble) -> None:
    make_user(grafana, "carol", "carol@uni.edu")
    result = ansible.run("grafana_user", login="carol@uni.edu", state="absent")
    assert not result.failed and not result.changed, result.data
    assert "carol" in people(grafana)


def test_user_present_by_a_login_that_is_another_users_email_creates_a_new_user_and_never_renames(
        ansible: Ansible, grafana: GrafanaDouble) -> None:
    carol = make_user(grafana, "carol", "carol@uni.edu", "Carol")
    # Without an email, the new user would get its login as email, which carol has: refused in one line.
    refused = ansible.run("grafana_user", login="carol@uni.edu", password="secret-pw-2")
    assert refused.failed
    assert refused.msg == ("user 'carol@uni.edu': no user has this login, and Grafana cannot create it: user 'carol' "
                           "has the email 'carol@uni.edu'; give this user another one (option 'email')")
    created = ansible.run("grafana_user", login="carol@uni.edu", email="c.other@uni.edu", password="secret-pw-2")
    assert created.changed and created["user"]["login"] == "carol@uni.edu"
    found = people(grafana)
    assert found["carol"]["id"] == carol and found["carol"]["email"] == "carol@uni.edu"
    assert found["carol@uni.edu"]["id"] != carol
    assert not ansible.run("grafana_user", login="carol@uni.edu", email="c.other@uni.edu").changed

    # Both exist now: state=absent by that login deletes the new user, not carol.
    assert ansible.run("grafana_user", login="carol@uni.edu", state="absent").changed
    assert set(people(grafana)) == {"admin", "carol"}


def test_user_login_and_email_in_another_case_find_the_user_and_change_nothing(
        ansible: Ansible, grafana: GrafanaDouble) -> None:
    carol = make_user(grafana, "carol", "carol@uni.edu", "Carol")
    again = ansible.run("grafana_user", login="CAROL", name="Carol", email="Carol@Uni.edu")
    assert not again.failed and not again.changed, again.data
    assert again["user"]["id"] == carol
    assert set(people(grafana)) == {"admin", "carol"}
    assert ansible.run("grafana_user", login="Carol", state="absent").changed
    assert set(people(grafana)) == {"admin"}


def test_team_members_are_users_by_login_in_any_case_before_users_by_email(
        ansible: Ansible, grafana: GrafanaDouble) -> None:
    make_user(grafana, "carol", "carol@uni.edu")
    make_user(grafana, "carol@uni.edu", "c.other@uni.edu")
    assert ansible.run("grafana_team", name="team-a", members=["carol@uni.edu"], enforce_members=True).changed
    team = grafana.get("/api/teams/search?name=team-a")["teams"][0]
    assert [m["login"] for m in grafana.get(f"/api/teams/{team['id']}/members")] == ["carol@uni.edu"]

    # CAROL is carol; an entry that is only an email names the user with that email.
    result = ansible.run("grafana_team", name="team-a", members=["CAROL", "C.Other@uni.edu"], enforce_members=True)
    assert result.changed and result.diff["after"]["members"] == ["carol", "carol@uni.edu"]
    assert not ansible.run("grafana_team", name="team-a", members=["Carol", "carol@UNI.edu"],
                           enforce_members=True).changed


def test_organization_users_are_users_by_login_in_any_case_before_users_by_email(
        ansible: Ansible, grafana: GrafanaDouble) -> None:
    make_user(grafana, "carol", "carol@uni.edu")
    make_user(grafana, "carol@uni.edu", "c.other@uni.edu")
    users = [{"login": "carol@uni.edu", "role": "Editor"}]
    assert ansible.run("grafana_organization", name="cohort-l", users=users).changed
    org = grafana.get("/api/orgs/name/cohort-l")
    roles = {m["login"]: m["role"] for m in grafana.get(f"/api/orgs/{org['id']}/users")}
    assert roles == {"admin": "Admin", "carol@uni.edu": "Editor"}

    users = [{"login": "Carol@Uni.edu", "role": "Editor"}, {"login": "CAROL", "role": "Viewer"}]
    assert ansible.run("grafana_organization", name="cohort-l", users=users).changed
    users = [{"login": "carol@uni.edu", "role": "Editor"}, {"login": "Carol", "role": "Viewer"}]
    assert not ansible.run("grafana_organization", name="cohort-l", users=users, enforce_users=True).changed
    roles = {m["login"]: m["role"] for m in grafana.get(f"/api/orgs/{org['id']}/users")}
    assert roles == {"admin": "Admin", "carol": "Viewer", "carol@uni.edu": "Editor"}
