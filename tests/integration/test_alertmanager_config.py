"""The Alertmanager role's alertmanager.yml, rendered by Ansible and checked with amtool in the real test image.

The template is rendered with the role's own defaults and vars (plus the case's settings as extra vars) by a
small playbook, and dummy secrets are written where the role writes them. amtool then runs in a throw-away
container without a network, with the configuration and the secrets mounted at the paths the role uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from stack_testlib import DOCKER, ROOT, TEST_LABEL, require_images, venv_bin

ROLE_DIR = ROOT / "roles" / "alertmanager"
IMAGE = os.environ.get("GSTTEST_ALERTMANAGER_IMAGE", "data2ai-test/alertmanager:local")

DUMMY_SECRETS = {
    "alertmanager_email_auth_password": "gsttest-dummy-smtp-password",
    "alertmanager_slack_api_url": "http://127.0.0.1:9/gsttest-dummy-slack-token",
    "alertmanager_webhook_url": "http://127.0.0.1:9/hook?token=gsttest-dummy-webhook-token",
    "alertmanager_pagerduty_routing_key": "gsttest-dummy-pagerduty-key",
}
SECRET_FILES = {
    "alertmanager_email_auth_password": "smtp_auth_password",
    "alertmanager_slack_api_url": "slack_api_url",
    "alertmanager_webhook_url": "webhook_url",
    "alertmanager_pagerduty_routing_key": "pagerduty_routing_key",
}
EVERY_RECEIVER_ON: dict[str, Any] = {
    "alertmanager_email_enabled": True,
    "alertmanager_email_to": "ops@example.invalid",
    "alertmanager_email_from": "alertmanager@example.invalid",
    "alertmanager_email_smarthost": "127.0.0.1:25",
    "alertmanager_email_auth_username": "alertmanager",
    "alertmanager_slack_enabled": True,
    "alertmanager_slack_channel": "#alerts",
    "alertmanager_webhook_enabled": True,
    "alertmanager_pagerduty_enabled": True,
    **DUMMY_SECRETS,
}

pytestmark = pytest.mark.docker


def render(workdir: Path, settings: dict[str, Any]) -> Path:
    """Render the role's template with its defaults, its vars and ``settings``; write the secrets it would."""
    config_dir = workdir / "alertmanager"
    secrets_dir = config_dir / "secrets"
    secrets_dir.mkdir(parents=True)
    for variable, file_name in SECRET_FILES.items():
        if settings.get(variable):
            (secrets_dir / file_name).write_text(settings[variable], encoding="utf-8")
    play = {
        "name": "Render alertmanager.yml the way the role does",
        "hosts": "localhost",
        "gather_facts": False,
        "vars_files": [str(ROLE_DIR / "defaults" / "main.yml"), str(ROLE_DIR / "vars" / "main.yml")],
        "tasks": [
            {
                "name": "Render alertmanager.yml",
                "ansible.builtin.template": {
                    "src": str(ROLE_DIR / "templates" / "alertmanager.yml.j2"),
                    "dest": str(config_dir / "alertmanager.yml"),
                    "mode": "0644",
                },
            }
        ],
    }
    (workdir / "render.yml").write_text(yaml.safe_dump([play], sort_keys=False), encoding="utf-8")
    # Extra vars outrank vars_files, as inventory settings outrank role defaults in a real run.
    (workdir / "settings.json").write_text(
        json.dumps({**settings, "alertmanager_config_dir": str(config_dir)}), encoding="utf-8"
    )
    command = [
        venv_bin("ansible-playbook"), "-i", "localhost,", "-c", "local",
        "-e", "ansible_python_interpreter={{ ansible_playbook_python }}",
        "-e", f"@{workdir / 'settings.json'}", str(workdir / "render.yml"),
    ]
    env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return config_dir


def amtool(config_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """amtool from the Alertmanager image, with alertmanager.yml and secrets/ where the container has them."""
    command = [
        DOCKER, "run", "--rm", "--network", "none", "--user", "0",
        "--name", f"gsttest-amtool-{uuid.uuid4().hex[:12]}", "--label", TEST_LABEL,
        "-v", f"{config_dir / 'alertmanager.yml'}:/etc/alertmanager/alertmanager.yml:ro",
        "-v", f"{config_dir / 'secrets'}:/etc/alertmanager/secrets:ro",
        "--entrypoint", "/bin/amtool", IMAGE, *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def check_config(config_dir: Path) -> subprocess.CompletedProcess[str]:
    return amtool(config_dir, "check-config", "/etc/alertmanager/alertmanager.yml")


def route_of(config_dir: Path, *labels: str) -> str:
    """The receiver(s) Alertmanager's routing tree picks for an alert with these labels."""
    result = amtool(config_dir, "config", "routes", "test", "--config.file=/etc/alertmanager/alertmanager.yml", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def receivers(config_dir: Path) -> dict[str, dict[str, Any]]:
    document = yaml.safe_load((config_dir / "alertmanager.yml").read_text(encoding="utf-8"))
    return {receiver["name"]: receiver for receiver in document["receivers"]}


@pytest.fixture(scope="module", autouse=True)
def alertmanager_image() -> str:
    require_images(IMAGE)
    return IMAGE


@pytest.fixture(scope="module")
def every_receiver_on(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("am_every_receiver"), EVERY_RECEIVER_ON)


def test_config_with_every_receiver_on_passes_amtool(every_receiver_on: Path) -> None:
    result = check_config(every_receiver_on)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_config_with_every_receiver_off_passes_amtool(tmp_path: Path) -> None:
    config_dir = render(tmp_path, {"alertmanager_verify_receiver_enabled": False})
    result = check_config(config_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(set(receiver) == {"name"} for receiver in receivers(config_dir).values()), "expected blackholes"


def test_route_to_a_missing_receiver_fails_amtool(tmp_path: Path) -> None:
    settings = {"alertmanager_extra_routes": [{"receiver": "nobody-here", "matchers": ['team="ghost"']}]}
    result = check_config(render(tmp_path, settings))
    assert result.returncode != 0
    assert "nobody-here" in result.stdout + result.stderr


def test_secrets_are_referenced_by_file_and_never_inlined(every_receiver_on: Path) -> None:
    text = (every_receiver_on / "alertmanager.yml").read_text(encoding="utf-8")
    for secret in DUMMY_SECRETS.values():
        assert secret not in text
    critical = receivers(every_receiver_on)["severity-critical"]
    assert critical["email_configs"][0]["auth_password_file"] == "/etc/alertmanager/secrets/smtp_auth_password"
    assert critical["slack_configs"][0]["api_url_file"] == "/etc/alertmanager/secrets/slack_api_url"
    assert critical["webhook_configs"][0]["url_file"] == "/etc/alertmanager/secrets/webhook_url"
    assert critical["pagerduty_configs"][0]["routing_key_file"] == "/etc/alertmanager/secrets/pagerduty_routing_key"


def test_pagerduty_gets_only_critical_alerts_by_default(every_receiver_on: Path) -> None:
    found = receivers(every_receiver_on)
    assert "pagerduty_configs" in found["severity-critical"]
    assert "pagerduty_configs" not in found["severity-warning"]
    assert set(found["severity-none"]) == {"name"}, "the Watchdog heartbeat goes nowhere unless asked"


def test_alerts_are_routed_by_severity_and_unknown_ones_go_to_the_default(every_receiver_on: Path) -> None:
    assert route_of(every_receiver_on, "alertname=TargetDown", "severity=critical") == "severity-critical"
    assert route_of(every_receiver_on, "alertname=NodeHighCpu", "severity=warning") == "severity-warning"
    assert route_of(every_receiver_on, "alertname=Watchdog", "severity=none") == "severity-none"
    assert route_of(every_receiver_on, "alertname=Custom") == "default"


def test_a_service_down_alert_inhibits_the_other_alerts_of_its_instance(every_receiver_on: Path) -> None:
    document = yaml.safe_load((every_receiver_on / "alertmanager.yml").read_text(encoding="utf-8"))
    service_down = document["inhibit_rules"][0]
    assert service_down["source_matchers"] == ['alertname=~"TargetDown|LokiNotReady|TempoNotReady"']
    assert 'alertname!~"TargetDown|LokiNotReady|TempoNotReady"' in service_down["target_matchers"]
    assert service_down["equal"] == ["instance"]
