"""The influxdb_tokens module and action plugin (plugins/modules/influxdb_tokens.py, plugins/action/influxdb_tokens.py):
the admin token checked and Grafana's read-only token kept valid in one task, against a fake InfluxDB API
(tests/unit/fake_transport.py), never a token value in a result, a diff or an error."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, Optional
from unittest import mock

import pytest
from ansible.playbook.task import Task
from ansible.plugins.action import ActionBase
from ansible_collections.data2ai.grafana_stack.plugins.action import influxdb_tokens as action
from ansible_collections.data2ai.grafana_stack.plugins.modules import influxdb_tokens as module
from fake_transport import FakeTransport, Sent

API = "http://127.0.0.1:8086"
ADMIN = "admin-Token-4f1c9a0b2d3e"
KEPT = "kept-Read-Token-77aa01"
NEW = "new-Read-Token-93bc55"
DESCRIPTION = "data2ai.grafana_stack: Grafana, read-only, bucket training"
ORG_ID = "0a0a0a0a0a0a0a0a"
BUCKET = {"id": "b0b0b0b0b0b0b0b0", "orgID": ORG_ID, "name": "training"}
OTHER_BUCKET = {"id": "c0c0c0c0c0c0c0c0", "orgID": ORG_ID, "name": "other"}


def read_auth(auth_id: str = "a1", status: str = "active", permissions: Optional[list] = None) -> dict[str, Any]:
    if permissions is None:
        permissions = [{"action": "read", "resource": {"type": "buckets", "id": BUCKET["id"], "orgID": ORG_ID}}]
    return {"id": auth_id, "description": DESCRIPTION, "status": status, "orgID": ORG_ID, "token": "",
            "permissions": permissions}


OPERATOR = {"id": "op1", "description": "admin's Token", "status": "active", "orgID": ORG_ID, "userID": "u1",
            "token": "listed-in-clear-before-2.9", "permissions": [{"action": "read", "resource": {"type": "buckets"}}]}


class FakeInfluxDB:
    """The few routes the module calls: an admin token, the training bucket, the org's authorizations and which
    tokens InfluxDB accepts."""

    def __init__(self, authorizations: Optional[list] = None, buckets: Optional[list] = None,
                 accepted: Optional[dict[str, list]] = None) -> None:
        self.authorizations = list(authorizations if authorizations is not None else [read_auth()])
        self.buckets = buckets if buckets is not None else [BUCKET]
        # token -> buckets it lists
        self.accepted = accepted if accepted is not None else {ADMIN: [BUCKET, OTHER_BUCKET], KEPT: [BUCKET]}
        self.fake = FakeTransport()
        self.fake.on("GET", "/api/v2/authorizations", self.list_authorizations)
        self.fake.on("POST", "/api/v2/authorizations", self.create)
        self.fake.on("DELETE", "/api/v2/authorizations/*", self.delete)
        self.fake.on("GET", "/api/v2/buckets", self.list_buckets)

    def token(self, sent: Sent) -> str:
        return (sent.header("Authorization") or "").removeprefix("Token ")

    def list_authorizations(self, sent: Sent) -> tuple:
        if self.token(sent) != ADMIN:
            return 401, {"code": "unauthorized", "message": "unauthorized access"}
        if "user" in sent.query:
            return 200, {"authorizations": [OPERATOR]}
        return 200, {"authorizations": [a for a in self.authorizations if a["orgID"] == sent.query.get("orgID")]}

    def list_buckets(self, sent: Sent) -> tuple:
        token = self.token(sent)
        if token not in self.accepted:
            return 401, {"code": "unauthorized", "message": "unauthorized access"}
        if "name" in sent.query:
            return 200, {"buckets": [b for b in self.buckets if b["name"] == sent.query["name"]]}
        return 200, {"buckets": self.accepted[token]}

    def create(self, sent: Sent) -> tuple:
        created = {"id": "new1", "status": "active", "token": NEW, **sent.body}
        self.authorizations.append({**created, "token": ""})
        self.accepted[NEW] = [BUCKET]
        return 201, created

    def delete(self, sent: Sent) -> tuple:
        self.authorizations = [a for a in self.authorizations if a["id"] != sent.path.rsplit("/", 1)[1]]
        return 204, None

    def settle(self, kept: Optional[str] = KEPT, rotated: bool = False, check_mode: bool = False) -> dict[str, Any]:
        api = module.InfluxDB(API, ADMIN, self.fake, sleep=lambda _s: None)
        return module.settle_read_token(api, "data2ai", "training", DESCRIPTION, kept, rotated, check_mode)

    def writes(self) -> list[Sent]:
        return [s for s in self.fake.sent if s.method in ("POST", "DELETE")]


# --------------------------------------------------------------------------
# The decision
# --------------------------------------------------------------------------


def test_a_valid_kept_token_is_kept_and_nothing_is_written() -> None:
    influx = FakeInfluxDB()
    result = influx.settle()
    assert result["changed"] is False and result["read_token"] == KEPT and result["reason"] is None
    assert influx.writes() == []
    assert (result["bucket_id"], result["org_id"]) == (BUCKET["id"], ORG_ID)


@pytest.mark.parametrize(("case", "influx", "kept", "rotated", "reason"), [
    ("missing", FakeInfluxDB(), None, False, "no read-only token is kept"),
    ("revoked", FakeInfluxDB(accepted={ADMIN: [BUCKET]}), KEPT, False, "InfluxDB refuses it"),
    ("sees another bucket", FakeInfluxDB(accepted={ADMIN: [BUCKET], KEPT: [OTHER_BUCKET]}), KEPT, False,
     "does not see bucket training"),
    ("no authorization", FakeInfluxDB(authorizations=[]), KEPT, False, "holds 0 authorizations"),
    ("two authorizations", FakeInfluxDB(authorizations=[read_auth("a1"), read_auth("a2")]), KEPT, False,
     "holds 2 authorizations"),
    ("inactive", FakeInfluxDB(authorizations=[read_auth(status="inactive")]), KEPT, False, "is inactive"),
    ("write permission", FakeInfluxDB(authorizations=[read_auth(permissions=[
        {"action": "write", "resource": {"type": "buckets", "id": BUCKET["id"], "orgID": ORG_ID}}])]), KEPT, False,
     "other permissions"),
    ("two permissions", FakeInfluxDB(authorizations=[read_auth(permissions=[
        {"action": "read", "resource": {"type": "buckets", "id": BUCKET["id"], "orgID": ORG_ID}},
        {"action": "read", "resource": {"type": "buckets", "id": OTHER_BUCKET["id"], "orgID": ORG_ID}}])]), KEPT,
     False, "other permissions"),
    ("another bucket's permission", FakeInfluxDB(authorizations=[read_auth(permissions=[
        {"action": "read", "resource": {"type": "buckets", "id": OTHER_BUCKET["id"], "orgID": ORG_ID}}])]), KEPT,
     False, "other permissions"),
    ("another org's permission", FakeInfluxDB(authorizations=[read_auth(permissions=[
        {"action": "read", "resource": {"type": "buckets", "id": BUCKET["id"], "orgID": "ffff"}}])]), KEPT, False,
     "other permissions"),
    ("rotated admin token", FakeInfluxDB(), KEPT, True, "the admin token was rotated"),
])
def test_an_invalid_kept_token_is_replaced_and_the_earlier_authorizations_deleted(
        case: str, influx: FakeInfluxDB, kept: Optional[str], rotated: bool, reason: str) -> None:
    earlier = [a["id"] for a in influx.authorizations]
    result = influx.settle(kept=kept, rotated=rotated)
    assert result["changed"] and result["read_token_created"], case
    assert reason in result["reason"], case
    assert result["read_token"] == NEW
    assert result["deleted_authorizations"] == earlier
    assert [(s.method, s.path) for s in influx.writes()] == (
        [("DELETE", f"/api/v2/authorizations/{i}") for i in earlier] + [("POST", "/api/v2/authorizations")])
    posted = influx.writes()[-1]
    assert posted.body == {"orgID": ORG_ID, "description": DESCRIPTION, "permissions": [
        {"action": "read", "resource": {"type": "buckets", "id": BUCKET["id"], "orgID": ORG_ID}}]}
    assert posted.header("Authorization") == f"Token {ADMIN}"
    # The new token is valid on the next run.
    assert influx.settle(kept=NEW)["changed"] is False


def test_check_mode_reports_the_new_token_and_creates_nothing() -> None:
    influx = FakeInfluxDB(authorizations=[read_auth("a1"), read_auth("a2")])
    result = influx.settle(check_mode=True)
    assert result["changed"] and result["read_token_created"] and result["read_token"] is None
    assert result["deleted_authorizations"] == ["a1", "a2"]
    assert result["msg"].startswith("check mode: a read-only token for bucket training would be created")
    assert influx.writes() == []
    assert result["diff"]["before"]["read_only_authorizations"] == ["a1", "a2"]


def test_a_missing_bucket_fails_in_one_line_and_changes_nothing() -> None:
    influx = FakeInfluxDB(buckets=[])
    with pytest.raises(module.InfluxDBError, match=r"^InfluxDB at http://127.0.0.1:8086 has no bucket training in "
                                                   r"org data2ai\.$"):
        influx.settle()
    assert influx.writes() == []


def test_the_admin_token_check_lists_the_admin_users_authorizations_without_token_values() -> None:
    influx = FakeInfluxDB()
    listed = module.check_admin_token(module.InfluxDB(API, ADMIN, influx.fake), "admin")
    assert [a["id"] for a in listed] == ["op1"] and "token" not in listed[0]
    assert influx.fake.sent[0].query == {"user": "admin"}


def test_a_refused_admin_token_stops_with_the_rotation_hint() -> None:
    influx = FakeInfluxDB()
    with pytest.raises(module.AdminTokenRefused) as refused:
        module.check_admin_token(module.InfluxDB(API, "not-the-admin-token", influx.fake), "admin")
    assert "refuses the admin token" in str(refused.value)
    assert "-e influxdb_admin_token_rotate=true" in str(refused.value)
    assert "not-the-admin-token" not in str(refused.value)


def test_an_unexpected_status_names_the_request_and_influxdbs_message() -> None:
    influx = FakeInfluxDB()
    influx.fake.on("GET", "/api/v2/buckets", 404, {"code": "not found", "message": 'organization name "x" not found'})
    with pytest.raises(module.InfluxDBError) as failed:
        influx.settle()
    assert str(failed.value) == ('GET http://127.0.0.1:8086/api/v2/buckets: HTTP 404: '
                                 'organization name "x" not found')


# --------------------------------------------------------------------------
# The module, run as Ansible runs it
# --------------------------------------------------------------------------


def run_module(args: dict[str, Any], transport: FakeTransport, check: bool = False,
               diff: bool = False) -> tuple[dict[str, Any], str]:
    """The module's main() on ``transport``; (its JSON result, its whole output)."""
    from ansible.module_utils.testing import patch_module_args

    args = {"_ansible_check_mode": check, "_ansible_diff": diff, **args}
    with patch_module_args(args), mock.patch.object(module, "HttpTransport", return_value=transport), \
            mock.patch("sys.stdout") as stdout, pytest.raises(SystemExit):
        module.main()
    output = "".join(call.args[0] for call in stdout.write.call_args_list)
    return json.loads(output), output


def module_args(**overrides: Any) -> dict[str, Any]:
    args = {"api_url": API, "admin_token": ADMIN, "org": "data2ai", "bucket": "training",
            "read_token_description": DESCRIPTION, "credentials_dir": "/nowhere", "read_token": KEPT}
    args.update(overrides)
    return args


def test_the_module_fails_with_admin_token_refused_and_shows_no_token() -> None:
    influx = FakeInfluxDB(accepted={})
    result, output = run_module(module_args(admin_token="wrong-Admin-Token-0000"), influx.fake)
    assert result["failed"] and result["admin_token_refused"]
    assert "refuses the admin token" in result["msg"]
    assert "wrong-Admin-Token-0000" not in output and KEPT not in output


def test_the_module_returns_the_new_token_for_the_action_plugin_only_and_no_other_secret() -> None:
    influx = FakeInfluxDB(accepted={ADMIN: [BUCKET]})
    result, output = run_module(module_args(), influx.fake, diff=True)
    assert result["changed"] and result["read_token"] == NEW  # the action plugin takes it out of the result
    assert ADMIN not in output and KEPT not in output
    assert NEW not in json.dumps(result["diff"])


def test_the_module_in_check_mode_writes_nothing_and_without_diff_mode_returns_no_diff() -> None:
    influx = FakeInfluxDB(accepted={ADMIN: [BUCKET]})
    result, _output = run_module(module_args(), influx.fake, check=True)
    assert result["changed"] and "diff" not in result and result["read_token"] is None
    assert influx.writes() == []


def test_without_settle_read_token_the_module_only_checks_and_lists_the_admin_users_authorizations() -> None:
    influx = FakeInfluxDB()
    result, output = run_module({"api_url": API, "admin_token": ADMIN, "settle_read_token": False}, influx.fake)
    assert result["changed"] is False and [a["id"] for a in result["admin_authorizations"]] == ["op1"]
    assert "listed-in-clear-before-2.9" not in output
    assert [s.path for s in influx.fake.sent] == ["/api/v2/authorizations"]


def test_an_unhealthy_influxdb_fails_before_any_request() -> None:
    influx = FakeInfluxDB()
    report = mock.MagicMock(unhealthy=["influxdb"])
    with mock.patch.object(module, "wait_for_services", return_value=report), \
            mock.patch.object(module, "with_container_logs", return_value=["influxdb: not ready after 1s"]):
        result, _output = run_module(module_args(health_check={"name": "influxdb", "url": f"{API}/health"},
                                                 health_timeout=1), influx.fake)
    assert result["failed"] and result["msg"] == "influxdb: not ready after 1s"
    assert influx.fake.sent == []


# --------------------------------------------------------------------------
# The action plugin: the controller's file and the fact
# --------------------------------------------------------------------------


def run_action(args: dict[str, Any], module_result: dict[str, Any], check: bool = False) -> tuple[dict, mock.Mock]:
    task = Task()
    task.args = args
    task.check_mode = check
    plugin = action.ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None,
                                 shared_loader_obj=None)
    execute = mock.Mock(return_value=dict(module_result))
    with mock.patch.object(ActionBase, "run", return_value={}), mock.patch.object(plugin, "_execute_module", execute):
        return plugin.run(task_vars={"inventory_hostname": "lab1"}), execute


def action_args(directory: Path, **overrides: Any) -> dict[str, Any]:
    args = {"api_url": API, "admin_token": ADMIN, "org": "data2ai", "bucket": "training",
            "read_token_description": DESCRIPTION, "credentials_dir": str(directory)}
    args.update(overrides)
    return args


def test_the_action_sends_the_kept_token_and_returns_it_as_a_hidden_fact(tmp_path: Path) -> None:
    (tmp_path / "influxdb_read_token").write_text(KEPT + "\n")
    result, execute = run_action(action_args(tmp_path, read_token="set-in-the-task"),
                                 {"changed": False, "read_token_created": False, "read_token": KEPT})
    assert execute.call_args.kwargs["module_args"]["read_token"] == KEPT
    assert result["ansible_facts"] == {"influxdb_read_token": KEPT}
    assert "read_token" not in result and result["_ansible_no_log"] is True


def test_the_action_sends_no_token_when_none_is_kept(tmp_path: Path) -> None:
    _result, execute = run_action(action_args(tmp_path / "absent"),
                                  {"changed": True, "read_token_created": True, "read_token": None}, check=True)
    assert execute.call_args.kwargs["module_args"]["read_token"] is None


def test_the_action_keeps_a_new_token_on_the_controller_private(tmp_path: Path) -> None:
    directory = tmp_path / "credentials" / "lab1"
    result, _execute = run_action(action_args(directory),
                                  {"changed": True, "read_token_created": True, "read_token": NEW})
    assert (directory / "influxdb_read_token").read_text() == NEW
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(directory / "influxdb_read_token").st_mode) == 0o600
    assert result["ansible_facts"] == {"influxdb_read_token": NEW, "influxdb_read_token_changed": True}
    assert result["_ansible_no_log"] is True and "read_token" not in result


def test_the_action_in_check_mode_writes_no_file_and_sets_no_token_fact(tmp_path: Path) -> None:
    result, _execute = run_action(action_args(tmp_path),
                                  {"changed": True, "read_token_created": True, "read_token": None,
                                   "diff": {"before": {}, "after": {}}}, check=True)
    assert list(tmp_path.iterdir()) == []
    assert result["changed"] and "ansible_facts" not in result and "_ansible_no_log" not in result
    assert "diff" in result


def test_the_action_names_the_host_and_the_kept_admin_token_when_influxdb_refuses_it(tmp_path: Path) -> None:
    refused = {"failed": True, "admin_token_refused": True, "msg": "InfluxDB at ... refuses the admin token.",
               "exception": "the module's error summary, with the module's message"}
    result, _execute = run_action(action_args(tmp_path), refused)
    assert result["failed"] and "ansible_facts" not in result and "_ansible_no_log" not in result
    assert "exception" not in result  # else Ansible would head the error with the module's message
    assert result["msg"].startswith(f"InfluxDB on lab1 refuses the admin token (influxdb_admin_token, or the one "
                                    f"kept in {tmp_path}/influxdb_admin_token)")
    assert ADMIN not in result["msg"]


def test_the_action_without_settle_read_token_reads_and_writes_no_file(tmp_path: Path) -> None:
    (tmp_path / "influxdb_read_token").write_text(KEPT)
    result, execute = run_action(action_args(tmp_path, settle_read_token=False),
                                 {"changed": False, "admin_authorizations": [{"id": "op1"}]})
    assert "read_token" not in execute.call_args.kwargs["module_args"]
    assert result["admin_authorizations"] == [{"id": "op1"}] and "ansible_facts" not in result
