"""grafana_ini_sections and grafana_ini_secrets on a small stack (PostgreSQL, Redis, the Grafana double): generic
OAuth and SMTP are live in GET /api/admin/settings, their secrets reach Grafana only as files (never in the -vvv
output, grafana.ini or docker inspect), and preflight refuses a typo in a section or key before anything changes.

The double image must carry GET /api/admin/settings: GSTTEST_GRAFANA_INI_IMAGE names it (default the :local image
that tests/images/build.sh builds from this tree). Everything the test creates is named ``gsttest-gi-*`` and
labelled ``data2ai.grafana_stack.test=1``, on its own network; cleanup removes exactly that, before and after.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import urllib.request
from pathlib import Path

import pytest
import yaml
from stack_testlib import (
    PlaybookRun,
    ansible_playbook,
    docker,
    free_port,
    free_subnet,
    local_stack_vars,
    play_run,
    remove_labelled,
    require_images,
    write_local_inventory,
    write_roles_play,
)

PREFIX = "gsttest-gi-"
GRAFANA_IMAGE = os.environ.get("GSTTEST_GRAFANA_INI_IMAGE", "data2ai-test/grafana-double:local")
IMAGES = [GRAFANA_IMAGE, "data2ai-test/postgres:local", "data2ai-test/redis:local"]
OAUTH_SECRET = "gsttest-gi-oauth-Cl1ent-S3cret"
SMTP_PASSWORD = "gsttest-gi-smtp-pa;ss#word"
SETTINGS = {
    "grafana_ini_sections": {
        "auth.generic_oauth": {
            "enabled": True, "name": "School SSO", "client_id": "grafana-lab", "scopes": "openid email profile",
            "auth_url": "https://sso.school.example/oauth2/authorize",
            "token_url": "https://sso.school.example/oauth2/token",
            "api_url": "https://sso.school.example/oauth2/userinfo", "use_pkce": True,
        },
        "smtp": {"enabled": True, "host": "mail.school.example:587", "user": "grafana@school.example",
                 "from_address": "grafana@school.example", "startTLS_policy": "MandatoryStartTLS"},
    },
    "grafana_ini_secrets": {
        "auth.generic_oauth": {"client_secret": OAUTH_SECRET},
        "smtp": {"password": SMTP_PASSWORD},
    },
}

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_images(*IMAGES)
    remove_labelled(PREFIX)
    workdir = tmp_path_factory.mktemp("grafana-ini")
    write_local_inventory(workdir, {
        **local_stack_vars(workdir, PREFIX, free_subnet("10.221", range(0, 100))),
        "stack_bind_address": "127.0.0.1",
        "postgresql_image": "data2ai-test/postgres:local",
        "redis_image": "data2ai-test/redis:local",
        "grafana_image": GRAFANA_IMAGE,
        "grafana_host_port": free_port(),
        "grafana_content_enabled": False,
    })
    write_roles_play(workdir / "play.yml", "grafana.ini settings by variable", IMAGES,
                     ["postgresql", "redis", "grafana"])
    (workdir / "settings.json").write_text(json.dumps(SETTINGS))
    yield workdir
    remove_labelled(PREFIX)


def run(workdir: Path, settings: Path, *extra: str) -> PlaybookRun:
    return play_run(workdir, "-e", f"@{settings}", *extra)


def admin_settings(workdir: Path) -> dict:
    inventory = yaml.safe_load((workdir / "inventory.yml").read_text())["all"]["hosts"]["localhost"]
    password = (workdir / "credentials" / "localhost" / "grafana_admin_password").read_text().strip()
    request = urllib.request.Request(f"http://127.0.0.1:{inventory['grafana_host_port']}/api/admin/settings")
    request.add_header("Authorization", "Basic " + base64.b64encode(f"admin:{password}".encode()).decode())
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_generic_oauth_and_smtp_are_live_and_their_secrets_only_reach_grafana_as_files(workdir: Path) -> None:
    converge = run(workdir, workdir / "settings.json", "-vvv")
    converge.assert_ok()
    for secret in (OAUTH_SECRET, SMTP_PASSWORD):
        assert secret not in converge.output, "a secret of grafana_ini_secrets is in the -vvv output"

    settings = admin_settings(workdir)
    oauth, smtp = settings["auth.generic_oauth"], settings["smtp"]
    assert (oauth["enabled"], oauth["client_id"], oauth["name"]) == ("true", "grafana-lab", "School SSO")
    assert oauth["client_secret"] == "*********", "the secret is set (Grafana redacts a non-empty value)"
    assert (smtp["enabled"], smtp["host"], smtp["startTLS_policy"]) == ("true", "mail.school.example:587",
                                                                        "MandatoryStartTLS")
    assert smtp["password"] == "*********"
    assert settings["auth.anonymous"]["enabled"] == "false", "the role's own settings stay"

    inspect = docker("inspect", f"{PREFIX}grafana").stdout
    ini = (workdir / "stack" / "grafana" / "grafana.ini").read_text()
    for secret in (OAUTH_SECRET, SMTP_PASSWORD):
        assert secret not in inspect and secret not in ini
    assert "client_secret = $__file{/etc/grafana/secrets/ini.auth.generic_oauth.client_secret}" in ini
    secret_file = workdir / "stack" / "grafana" / "secrets" / "ini.smtp.password"
    assert secret_file.read_text() == SMTP_PASSWORD
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o400

    again = run(workdir, workdir / "settings.json")
    again.assert_ok()
    assert again.recap["changed"] == 0, again.failure_context()


def test_site_yml_refuses_a_typo_in_a_section_or_key_in_preflight_and_nothing_changes(workdir: Path) -> None:
    ini = workdir / "stack" / "grafana" / "grafana.ini"
    before = (ini.read_text(), ini.stat().st_mtime_ns,
              docker("inspect", "-f", "{{.Id}} {{.State.StartedAt}}", f"{PREFIX}grafana").stdout)
    for typo, line in (
        ({"auth.generic_oauht": {"enabled": True}},
         "grafana_ini_sections: auth.generic_oauht.enabled: unknown section [auth.generic_oauht]"),
        ({"smtp": {"hots": "mail:25"}}, "grafana_ini_sections: smtp.hots: unknown key 'hots' in [smtp]"),
    ):
        settings = workdir / "typo.json"
        sections = {**SETTINGS["grafana_ini_sections"], **typo}
        settings.write_text(json.dumps({**SETTINGS, "grafana_ini_sections": sections}))
        refused = ansible_playbook("-i", str(workdir / "inventory.yml"), "site.yml", "-e", f"@{settings}",
                                   timeout=600)
        assert refused.returncode != 0
        assert line in refused.output, refused.output[-3000:]
        assert "nothing was changed" in refused.output
        assert OAUTH_SECRET not in refused.output and SMTP_PASSWORD not in refused.output
        assert "TASK [data2ai.grafana_stack.docker_host" not in refused.output, "preflight stops first"
    after = (ini.read_text(), ini.stat().st_mtime_ns,
             docker("inspect", "-f", "{{.Id}} {{.State.StartedAt}}", f"{PREFIX}grafana").stdout)
    assert after == before


def test_a_secret_that_is_no_longer_set_loses_its_file(workdir: Path) -> None:
    settings = workdir / "no-smtp-secret.json"
    settings.write_text(json.dumps({**SETTINGS, "grafana_ini_secrets": {
        "auth.generic_oauth": {"client_secret": OAUTH_SECRET}}}))
    run(workdir, settings).assert_ok()
    assert not (workdir / "stack" / "grafana" / "secrets" / "ini.smtp.password").exists()
    assert admin_settings(workdir)["smtp"].get("password", "") == "", "Grafana runs without the SMTP password"
