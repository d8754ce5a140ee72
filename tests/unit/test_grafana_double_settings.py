"""The Grafana double's GET /api/admin/settings: every section and key it read, redacted as Grafana's
pkg/setting RedactedValue does, server admins only, and unknown sections or keys reported, never refused."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
import requests

DOUBLE_DIR = Path(__file__).resolve().parents[1] / "doubles" / "grafana"
sys.path.insert(0, str(DOUBLE_DIR))

from grafana_double_lib.app import App  # noqa: E402
from grafana_double_lib.backends import BackendMonitor  # noqa: E402
from grafana_double_lib.server import DoubleHTTPServer  # noqa: E402
from grafana_double_lib.settings import load_settings, redacted_value  # noqa: E402
from grafana_double_lib.spec_guard import SpecGuard, default_spec_path  # noqa: E402
from grafana_double_lib.state import Store  # noqa: E402

INI = """
[auth.generic_oauth]
enabled = true
client_id = grafana
client_secret = $__file{SECRET_FILE}
auth_url = https://idp.school.example/auth

[smtp]
enabled = true
host = mail.school.example:587
user = grafana
password = \"\"\"pa;ss\"\"\"
startTLS_policy = MandatoryStartTLS

[auth.generic_oauht]
enabled = true

[remote_cache]
type = redis
connstr = addr=redis:6379,password=hunter2
"""


@pytest.fixture
def served(tmp_path: Path):
    secret = tmp_path / "client_secret"
    secret.write_text("0auth-s3cret\n")
    ini = tmp_path / "grafana.ini"
    ini.write_text(INI.replace("SECRET_FILE", str(secret)))
    settings = load_settings(ini, {"GF_SMTP_USER": "school-grafana"})
    app = App(settings, Store(tmp_path / "data"), SpecGuard(default_spec_path()), BackendMonitor(settings, skip=True))
    server = DoubleHTTPServer(("127.0.0.1", 0), app)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_admin_settings_report_every_section_with_secrets_redacted(served: str) -> None:
    answer = requests.get(served + "/api/admin/settings", auth=("admin", "admin"), timeout=10)
    assert answer.status_code == 200
    bag = answer.json()
    assert bag["auth.generic_oauth"] == {"enabled": "true", "client_id": "grafana", "client_secret": "*********",
                                         "auth_url": "https://idp.school.example/auth"}
    assert bag["smtp"]["password"] == "*********"
    assert bag["smtp"]["startTLS_policy"] == "MandatoryStartTLS", "keys keep their case, as in Grafana's ini parser"
    assert bag["smtp"]["user"] == "school-grafana", "GF_ variables apply to every key of grafana.ini"
    assert bag["auth.generic_oauht"] == {"enabled": "true"}, "Grafana starts with an unknown section: reported"
    assert "0auth-s3cret" not in answer.text and "pa;ss" not in answer.text
    assert bag["remote_cache"]["connstr"] == "addr=redis:6379,password=hunter2", "not a URL with user info"
    violations = requests.get(served + "/__double__/violations", timeout=10).json()
    assert violations == []


def test_admin_settings_need_a_server_admin(served: str) -> None:
    assert requests.get(served + "/api/admin/settings", timeout=10).status_code == 401
    requests.post(served + "/api/admin/users", auth=("admin", "admin"), timeout=10,
                  json={"login": "student", "password": "student-pass-1", "email": "s@x"})
    denied = requests.get(served + "/api/admin/settings", auth=("student", "student-pass-1"), timeout=10)
    assert denied.status_code == 403


def test_redaction_follows_grafanas_redacted_value() -> None:
    assert redacted_value("GF_DATABASE_PASSWORD", "x") == "*********"
    assert redacted_value("GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET", "x") == "*********"
    assert redacted_value("GF_RENDERING_RENDERER_TOKEN", "x") == "*********"
    assert redacted_value("GF_SMTP_PASSWORD", "") == ""
    assert redacted_value("GF_DATABASE_URL", "postgres://grafana:pw@db:5432/grafana") == \
        "postgres://grafana:xxxxx@db:5432/grafana"
    assert redacted_value("GF_SERVER_ROOT_URL", "http://lab:3000/") == "http://lab:3000/"
    assert redacted_value("GF_ANALYTICS_RUDDERSTACK_DATA_PLANE_URL", "https://u:p@r/") == "https://u:p@r/"
