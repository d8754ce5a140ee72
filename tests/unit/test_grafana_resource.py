"""The Grafana resource code (plugins/module_utils/grafana_resource.py, GrafanaResource) and its client
(grafana_api.GrafanaClient) against an in-memory transport (tests/unit/fake_transport.py): every exchange is seen,
no server runs. The datasource module's resource stands for every resource: read, compare, write on difference,
diff, check mode, secrets. The integration tests under tests/integration/grafana/ run the same code against the
Grafana double."""

from __future__ import annotations

import json
import ssl
from typing import Any, Optional

import pytest
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import GrafanaAPIError, GrafanaClient
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import MASK
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.http_transport import NoAnswer
from ansible_collections.data2ai.grafana_stack.plugins.modules.grafana_datasource import Datasource
from fake_transport import FakeTransport

URL = "http://grafana.test"
PROM = {"id": 7, "uid": "prom", "name": "Prometheus", "type": "prometheus", "access": "proxy",
        "url": "http://prometheus:9090", "isDefault": False, "basicAuth": False, "withCredentials": False,
        "jsonData": {"httpMethod": "POST"}, "secureJsonFields": {}, "version": 3}
WRITES = ("POST", "PUT", "PATCH", "DELETE")


class FakeModule:
    """What GrafanaResource uses of AnsibleModule: params, check_mode, _diff, warn, fail_json."""

    def __init__(self, params: dict[str, Any], check_mode: bool = False, diff: bool = True) -> None:
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.warnings: list[str] = []

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def fail_json(self, **result: Any) -> None:
        raise AssertionError(f"fail_json: {result}")


def datasource_params(**options: Any) -> dict[str, Any]:
    params = {name: None for name in ("uid", "type", "access", "data_source_url", "user", "database", "basic_auth",
                                      "basic_auth_user", "with_credentials", "is_default", "json_data",
                                      "secure_json_data", "org_id", "org_name")}
    params.update(url=URL, url_username="admin", url_password="s3cret-admin", token=None, retries=2, timeout=5,
                  state="present", name="Prometheus", secure_json_data_update="on_create")
    params.update(options)
    return params


def grafana(fake: FakeTransport, **params: Any) -> GrafanaClient:
    return GrafanaClient(datasource_params(**params), sleep=lambda seconds: None, transport=fake)


def run_datasource(fake: FakeTransport, check_mode: bool = False, **options: Any) -> dict[str, Any]:
    params = datasource_params(**options)
    client = GrafanaClient(params, sleep=lambda seconds: None, transport=fake)
    return Datasource(FakeModule(params, check_mode=check_mode), client).run()


def stored(fake: FakeTransport, document: Optional[dict[str, Any]]) -> None:
    """Grafana holds ``document`` (or no datasource) under uid 'prom' and name 'Prometheus'."""
    answer = (200, document) if document else (404, {"message": "Data source not found"})
    fake.on("GET", "/api/datasources/uid/prom", *answer)
    fake.on("GET", "/api/datasources/name/Prometheus", *answer)


def writes(fake: FakeTransport) -> list[tuple[str, str]]:
    return [(sent.method, sent.path) for sent in fake.sent if sent.method in WRITES]


# --------------------------------------------------------------------------
# The resource pattern
# --------------------------------------------------------------------------


def test_absent_object_is_created_with_the_wanted_fields() -> None:
    fake = FakeTransport()
    stored(fake, None)
    fake.on("POST", "/api/datasources", 200, {"id": 7, "message": "Datasource added"})
    result = run_datasource(fake, uid="prom", type="prometheus", data_source_url="http://prometheus:9090")
    assert result["changed"] is True
    assert writes(fake) == [("POST", "/api/datasources")]
    [post] = fake.requests("POST")
    assert post.body == {"name": "Prometheus", "uid": "prom", "type": "prometheus", "url": "http://prometheus:9090",
                         "access": "proxy"}
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["data_source_url"] == "http://prometheus:9090"


def test_equal_object_is_left_alone_and_reported_unchanged() -> None:
    fake = FakeTransport()
    stored(fake, PROM)
    result = run_datasource(fake, uid="prom", type="prometheus", data_source_url="http://prometheus:9090",
                            json_data={"httpMethod": "POST"})
    assert result["changed"] is False
    assert writes(fake) == []
    assert result["diff"]["before"] == result["diff"]["after"]


def test_differing_object_is_updated_and_the_diff_shows_before_and_after() -> None:
    fake = FakeTransport()
    stored(fake, PROM)
    fake.on("PUT", "/api/datasources/uid/prom", 200, {"message": "Datasource updated"})
    result = run_datasource(fake, uid="prom", data_source_url="http://prometheus:9091")
    assert result["changed"] is True
    assert writes(fake) == [("PUT", "/api/datasources/uid/prom")]
    [put] = fake.requests("PUT")
    assert put.body["url"] == "http://prometheus:9091" and put.body["version"] == 3
    assert put.body["jsonData"] == {"httpMethod": "POST"}  # what the user does not set is kept
    assert result["diff"]["before"]["data_source_url"] == "http://prometheus:9090"
    assert result["diff"]["after"]["data_source_url"] == "http://prometheus:9091"


@pytest.mark.parametrize(("document", "options"), [
    (None, {"type": "prometheus", "data_source_url": "http://prometheus:9090"}),  # would create
    (PROM, {"data_source_url": "http://prometheus:9091"}),  # would update
    (PROM, {"state": "absent"}),  # would delete
])
def test_check_mode_reports_the_change_and_writes_nothing(document: Optional[dict], options: dict) -> None:
    fake = FakeTransport()
    stored(fake, document)
    result = run_datasource(fake, check_mode=True, uid="prom", **options)
    assert result["changed"] is True
    assert writes(fake) == []
    assert {sent.method for sent in fake.sent} == {"GET"}


def test_absent_object_that_exists_is_deleted() -> None:
    fake = FakeTransport()
    stored(fake, PROM)
    fake.on("DELETE", "/api/datasources/uid/prom", 200, {"message": "Data source deleted"})
    result = run_datasource(fake, uid="prom", state="absent")
    assert result["changed"] is True
    assert writes(fake) == [("DELETE", "/api/datasources/uid/prom")]


def test_a_refused_write_is_one_line_naming_the_object_the_status_and_grafanas_message() -> None:
    fake = FakeTransport()
    stored(fake, PROM)
    fake.on("PUT", "/api/datasources/uid/prom", 400, {"message": "url:\n   invalid   scheme", "traceID": "x"})
    with pytest.raises(GrafanaAPIError) as failed:
        run_datasource(fake, uid="prom", data_source_url="ftp://prometheus")
    assert str(failed.value) == "datasource 'prom': HTTP 400 url: invalid scheme"
    assert failed.value.status == 400
    assert writes(fake) == [("PUT", "/api/datasources/uid/prom")]  # a 4xx is never sent again


def test_an_html_error_page_gives_the_status_reason_and_a_long_message_is_cut() -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/folders/labs", 502, b"<html><body>Bad gateway</body></html>", {"Content-Type": "text/html"})
    fake.on("GET", "/api/folders/long", 400, {"message": "x" * 1000})
    client = grafana(fake, retries=0)
    with pytest.raises(GrafanaAPIError) as failed:
        client.request("GET", "/api/folders/labs", "folder 'labs'")
    assert str(failed.value) == "folder 'labs': HTTP 502 Bad Gateway"
    with pytest.raises(GrafanaAPIError) as failed:
        client.request("GET", "/api/folders/long", "folder 'long'")
    assert len(str(failed.value)) == 300 and str(failed.value).endswith("...")


def test_secrets_are_sent_but_masked_in_the_diff_and_the_result() -> None:
    fake = FakeTransport()
    stored(fake, None)
    fake.on("POST", "/api/datasources", 200, {"id": 7})
    result = run_datasource(fake, uid="prom", type="prometheus", secure_json_data={"password": "hunter2-db"})
    [post] = fake.requests("POST")
    assert post.body["secureJsonData"] == {"password": "hunter2-db"}
    assert result["diff"]["after"]["secure_json_data"] == {"password": MASK}
    assert "hunter2-db" not in json.dumps(result)


def test_the_client_sends_basic_auth_or_the_token_and_the_org_header() -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/org", 200, {"id": 3})
    grafana(fake, org_id=3).request("GET", "/api/org", "org")
    grafana(fake, token="glsa_token", url_username=None).request("GET", "/api/org", "org", use_org=False)
    basic, bearer = fake.sent
    assert basic.header("Authorization") == "Basic YWRtaW46czNjcmV0LWFkbWlu"  # admin:s3cret-admin
    assert basic.header("X-Grafana-Org-Id") == "3"
    assert bearer.header("Authorization") == "Bearer glsa_token"
    assert bearer.header("X-Grafana-Org-Id") is None


# --------------------------------------------------------------------------
# Retries: idempotent methods only
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "sent"), [
    ("GET", 3), ("PUT", 3), ("DELETE", 3), ("HEAD", 3), ("POST", 1), ("PATCH", 1),
])
def test_a_5xx_is_retried_for_idempotent_methods_only(method: str, sent: int) -> None:
    fake = FakeTransport()
    fake.on(method, "/api/folders/labs", 503, {"message": "service unavailable"})
    with pytest.raises(GrafanaAPIError) as failed:
        grafana(fake, retries=2).request(method, "/api/folders/labs", "folder 'labs'")
    assert failed.value.status == 503
    assert len(fake.sent) == sent


@pytest.mark.parametrize(("method", "sent"), [("GET", 3), ("POST", 1)])
def test_a_timeout_is_retried_for_idempotent_methods_only(method: str, sent: int) -> None:
    fake = FakeTransport()
    fake.on(method, "/api/serviceaccounts/2/tokens", NoAnswer(URL, TimeoutError("timed out"), 5))
    with pytest.raises(GrafanaAPIError) as failed:
        grafana(fake, retries=2).request(method, "/api/serviceaccounts/2/tokens", "token 'ci'")
    assert failed.value.status is None
    assert str(failed.value) == f"token 'ci': connection error timed out after 5s ({URL})"
    assert len(fake.sent) == sent


def test_a_refused_connection_is_retried_for_a_post_too_and_a_refused_certificate_never() -> None:
    fake = FakeTransport()
    fake.on("POST", "/api/folders", [NoAnswer(URL, ConnectionRefusedError(111, "Connection refused")),
                                     (200, {"uid": "labs"})])
    assert grafana(fake).request("POST", "/api/folders", "folder 'labs'", body={"title": "Labs"}) == {"uid": "labs"}
    assert len(fake.requests("POST")) == 2
    refused = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    fake.on("GET", "/api/folders/labs", NoAnswer(URL, refused))
    with pytest.raises(GrafanaAPIError) as failed:
        grafana(fake).request("GET", "/api/folders/labs", "folder 'labs'")
    assert "CERTIFICATE_VERIFY_FAILED" in str(failed.value)
    assert len(fake.requests("GET")) == 1


def test_a_get_is_retried_until_it_succeeds() -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/health", [(502, {}), (503, {}), (200, {"version": "12.3.0"})])
    assert grafana(fake).server_major() == 12
    assert len(fake.sent) == 3


# --------------------------------------------------------------------------
# Redirects: credentials stay on the origin
# --------------------------------------------------------------------------


def test_a_redirect_to_another_host_arrives_without_the_credentials() -> None:
    fake = FakeTransport()
    fake.on("GET", f"{URL}/api/folders/labs", 302, None, {"Location": "http://other.test/api/folders/labs"})
    fake.on("GET", "http://other.test/api/folders/labs", 200, {"uid": "labs"})
    assert grafana(fake).request("GET", "/api/folders/labs", "folder 'labs'") == {"uid": "labs"}
    origin, other = fake.sent
    assert origin.host == "grafana.test" and origin.header("Authorization")
    assert other.host == "other.test" and other.header("Authorization") is None


def test_a_redirect_within_the_origin_keeps_the_credentials_and_a_posts_is_not_followed() -> None:
    fake = FakeTransport()
    fake.on("GET", "/old", 301, None, {"Location": "/api/org"})
    fake.on("GET", "/api/org", 200, {"id": 1})
    fake.on("POST", "/api/folders", 307, None, {"Location": "http://other.test/api/folders"})
    client = grafana(fake)
    assert client.request("GET", "/old", "org") == {"id": 1}
    assert all(sent.header("Authorization") for sent in fake.sent)
    with pytest.raises(GrafanaAPIError) as failed:
        client.request("POST", "/api/folders", "folder 'labs'", body={"title": "Labs"})
    assert failed.value.status == 307
    assert [sent.host for sent in fake.requests("POST")] == ["grafana.test"]


def test_a_redirect_to_a_non_http_url_is_refused_in_one_line() -> None:
    fake = FakeTransport()
    fake.on("GET", "/api/org", 302, None, {"Location": "file:///etc/passwd"})
    with pytest.raises(GrafanaAPIError) as failed:
        grafana(fake).request("GET", "/api/org", "org")
    assert str(failed.value) == "org: HTTP 302 redirect to a non-HTTP URL (file:///etc/passwd)"
