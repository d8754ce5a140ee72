# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Secrets Grafana never returns: sent on create (default) or always, never a silent "changed"."""

from __future__ import annotations

from grafana_harness import Ansible, GrafanaDouble

INFLUX = {"name": "InfluxDB", "uid": "influxdb", "type": "influxdb", "data_source_url": "http://influxdb:8086",
          "json_data": {"version": "Flux", "organization": "data2ai", "defaultBucket": "training"}}


def secure_fields(grafana: GrafanaDouble) -> dict[str, bool]:
    return grafana.get("/api/datasources/uid/influxdb").get("secureJsonFields") or {}


def test_datasource_secret_sent_on_create_only_by_default(ansible: Ansible, grafana: GrafanaDouble) -> None:
    result = ansible.run("grafana_datasource", secure_json_data={"token": "first-token"}, **INFLUX)
    assert result.changed
    assert result.diff["after"]["secure_json_data"] == {"token": "********"}
    assert "first-token" not in result.output
    assert secure_fields(grafana) == {"token": True}
    version = grafana.get("/api/datasources/uid/influxdb")["version"]

    # Another value for a stored key can't be compared: no change, nothing sent.
    result = ansible.run("grafana_datasource", secure_json_data={"token": "second-token"}, **INFLUX)
    assert not result.failed, result.output
    assert not result.changed
    assert grafana.get("/api/datasources/uid/influxdb")["version"] == version

    # A key that is not stored yet is a change.
    secrets = {"token": "second-token", "basicAuthPassword": "pw"}
    assert ansible.run("grafana_datasource", check=True, secure_json_data=secrets, **INFLUX).changed
    assert secure_fields(grafana) == {"token": True}
    assert ansible.run("grafana_datasource", secure_json_data=secrets, **INFLUX).changed
    assert secure_fields(grafana) == {"token": True, "basicAuthPassword": True}
    assert not ansible.run("grafana_datasource", secure_json_data=secrets, **INFLUX).changed


def test_datasource_secret_update_always_sends_it_every_run(ansible: Ansible, grafana: GrafanaDouble) -> None:
    assert ansible.run("grafana_datasource", secure_json_data={"token": "t1"}, **INFLUX).changed
    version = grafana.get("/api/datasources/uid/influxdb")["version"]
    for token in ("t2", "t3"):
        result = ansible.run("grafana_datasource", secure_json_data={"token": token},
                             secure_json_data_update="always", **INFLUX)
        assert result.changed
    assert grafana.get("/api/datasources/uid/influxdb")["version"] == version + 2


def user_can_log_in(grafana: GrafanaDouble, login: str, password: str) -> bool:
    return grafana.call("GET", "/api/user", auth=(login, password)).status == 200


def test_user_password_is_set_on_create_and_kept_afterwards(ansible: Ansible, grafana: GrafanaDouble) -> None:
    user = {"login": "dave", "email": "dave@example.org", "name": "Dave"}
    assert ansible.run("grafana_user", password="first-pw-1", **user).changed
    assert user_can_log_in(grafana, "dave", "first-pw-1")

    result = ansible.run("grafana_user", password="second-pw-2", **user)
    assert not result.changed
    assert user_can_log_in(grafana, "dave", "first-pw-1")

    result = ansible.run("grafana_user", password="second-pw-2", password_update="always", **user)
    assert result.changed
    assert result.diff["after"]["password"] == "********"
    assert user_can_log_in(grafana, "dave", "second-pw-2")
    assert not user_can_log_in(grafana, "dave", "first-pw-1")


def test_user_without_password_cannot_be_created(ansible: Ansible, grafana: GrafanaDouble) -> None:
    result = ansible.run("grafana_user", check=True, login="erin")
    assert result.failed
    assert result.msg == "user 'erin': option 'password' is required to create a user"


def test_contact_point_secure_settings_are_not_compared(ansible: Ansible, grafana: GrafanaDouble) -> None:
    point = {"name": "ops", "uid": "ops", "type": "webhook", "settings": {"url": "http://sink:8080/hook"}}
    assert ansible.run("grafana_contact_point", secure_settings={"password": "one"}, **point).changed
    stored = grafana.get("/api/v1/provisioning/contact-points?name=ops")[0]
    assert stored["settings"]["password"] == "[REDACTED]"

    result = ansible.run("grafana_contact_point", secure_settings={"password": "two"}, **point)
    assert not result.changed, result.diff
    assert result["contact_point"]["secure_fields"] == ["password"]

    # A secret given in settings that Grafana redacts is treated as secret as well.
    in_settings = dict(point, settings={"url": "http://sink:8080/hook", "password": "three"})
    assert not ansible.run("grafana_contact_point", **in_settings).changed

    # Changing a plain setting keeps the stored secret.
    moved = dict(point, settings={"url": "http://sink:8080/other"})
    assert ansible.run("grafana_contact_point", **moved).changed
    stored = grafana.get("/api/v1/provisioning/contact-points?name=ops")[0]
    assert stored["settings"] == {"url": "http://sink:8080/other", "password": "[REDACTED]"}


def test_service_account_token_is_returned_once_and_works(ansible: Ansible, grafana: GrafanaDouble) -> None:
    org_id = grafana.create_org("cohort-t")
    args = {"org_id": org_id, "name": "provisioner", "role": "Admin", "tokens": [{"name": "ansible"}]}

    check = ansible.run("grafana_service_account", check=True, **args)
    assert check.changed and check["new_tokens"] == {}
    created = ansible.run("grafana_service_account", **args)
    key = created["new_tokens"]["ansible"]
    assert key.startswith("glsa_")
    again = ansible.run("grafana_service_account", **args)
    assert not again.changed
    assert again["new_tokens"] == {}
    assert key not in again.output

    # The token works in its own org, by itself...
    folder = {"url": grafana.url, "token": key, "uid": "labs", "title": "Labs"}
    (result,) = ansible.play([ansible.task("grafana_folder", folder, connection=False)])
    assert result.changed, result.output
    assert grafana.get("/api/folders/labs", org_id=org_id)["title"] == "Labs"
    assert grafana.get("/api/folders/labs", org_id=1) is None
    # ...and is refused for another org, with a one-line 401.
    (result,) = ansible.play([ansible.task("grafana_folder", dict(folder, org_id=1), connection=False)])
    assert result.failed
    assert result.msg.startswith("folder 'labs': HTTP 401 ")
    assert "\n" not in result.msg


def test_service_account_enforce_tokens_deletes_unlisted_ones(ansible: Ansible, grafana: GrafanaDouble) -> None:
    args = {"name": "ci", "tokens": [{"name": "a"}, {"name": "b"}]}
    assert ansible.run("grafana_service_account", **args).changed
    # Without enforce_tokens, an unlisted token stays.
    assert not ansible.run("grafana_service_account", name="ci", tokens=[{"name": "a"}]).changed
    result = ansible.run("grafana_service_account", name="ci", tokens=[{"name": "a"}], enforce_tokens=True)
    assert result.changed
    assert result.diff["before"]["tokens"] == ["a", "b"] and result.diff["after"]["tokens"] == ["a"]
    account = grafana.get("/api/serviceaccounts/search?query=ci")["serviceAccounts"][0]
    assert [t["name"] for t in grafana.get(f"/api/serviceaccounts/{account['id']}/tokens")] == ["a"]
