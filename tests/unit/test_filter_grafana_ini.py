"""grafana_ini filters: the merge that renders grafana.ini from data, and the one-line problems preflight and the
grafana role stop on (unknown section or key, protected key, secret in clear)."""

from __future__ import annotations

from ansible_collections.data2ai.grafana_stack.plugins.filter.grafana_ini import (
    grafana_ini_merge,
    grafana_ini_problems,
    grafana_ini_secret_files,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils import grafana_ini_keys

PROTECTED = ["auth.anonymous.enabled", "security.secret_key"]
OAUTH = {"auth.generic_oauth": {"enabled": True, "client_id": "grafana", "auth_url": "https://idp/auth"}}


def test_known_sections_and_keys_pass_and_a_typo_is_refused_in_one_line_naming_it() -> None:
    assert grafana_ini_problems(OAUTH, {"auth.generic_oauth": {"client_secret": "s3cr3t"}}, PROTECTED) == []
    assert grafana_ini_problems({"auth.generic_oauht": {"enabled": True}}) == [
        "grafana_ini_sections: auth.generic_oauht.enabled: unknown section [auth.generic_oauht] of Grafana's "
        "defaults.ini (a typo? a key Grafana has that the list lacks goes in grafana_ini_extra_keys)"]
    problems = grafana_ini_problems({"smtp": {"hots": "mail:25"}})
    assert len(problems) == 1 and "unknown key 'hots' in [smtp]" in problems[0]


def test_keys_are_case_sensitive_as_in_grafanas_ini_parser() -> None:
    assert grafana_ini_problems({"smtp": {"startTLS_policy": "MandatoryStartTLS"}}) == []
    assert grafana_ini_problems({"smtp": {"starttls_policy": "MandatoryStartTLS"}}) != []


def test_free_form_sections_and_named_extra_keys_are_accepted() -> None:
    assert grafana_ini_problems({"feature_toggles": {"anyToggle": True},
                                 "server.custom_response_headers": {"X-School": "yes"},
                                 "plugin.some-app": {"anything": 1},
                                 "unified_storage": {"dashboards.dashboard.grafana.app.dualWriterMode": 2}}) == []
    assert grafana_ini_problems({"smtp": {"new_key": "x"}, "brand_new": {"k": "v"}},
                                extra_keys=["smtp.new_key", "brand_new.k"]) == []


def test_a_protected_key_needs_to_be_named_to_be_overridden() -> None:
    problems = grafana_ini_problems({"auth.anonymous": {"enabled": True}}, protected=PROTECTED)
    assert problems == ["grafana_ini_sections: auth.anonymous.enabled: protected, the role sets it for "
                        "docs/security.md; name it in grafana_ini_override_protected to override it on purpose"]
    assert grafana_ini_problems({"auth.anonymous": {"enabled": True}}, protected=PROTECTED,
                                override_protected=["auth.anonymous.enabled"]) == []
    assert grafana_ini_problems({}, None, PROTECTED, ["users.nope"]) == [
        "grafana_ini_override_protected: users.nope is not a protected key"]


def test_a_secret_in_clear_is_refused_without_showing_it_and_a_file_reference_is_accepted() -> None:
    for section, key in (("auth.generic_oauth", "client_secret"), ("smtp", "password"),
                         ("grafana_com", "sso_api_token"), ("security", "secret_key")):
        problems = grafana_ini_problems({section: {key: "Sup3rS3cret"}})
        assert len(problems) == 1 and "set it in grafana_ini_secrets" in problems[0], problems
        assert "Sup3rS3cret" not in problems[0]
    assert grafana_ini_problems({"smtp": {"password": "$__file{/run/secrets/smtp}", "user": "grafana"}}) == []
    both = grafana_ini_problems({"smtp": {"password": ""}}, {"smtp": {"password": "x"}})
    assert both == ["grafana_ini_secrets: smtp.password: set in both grafana_ini_sections and grafana_ini_secrets; "
                    "keep one"]


def test_values_must_be_one_line_scalars_and_names_plain() -> None:
    assert "one line" in grafana_ini_problems({"smtp": {"from_name": "a\nb"}})[0]
    assert "string, number or boolean" in grafana_ini_problems({"smtp": {"from_name": ["a"]}})[0]
    assert "letters, digits" in grafana_ini_problems({"smtp]\n[x": {"a": 1}})[0]


def test_an_ldap_bind_password_in_clear_is_refused() -> None:
    clear = "[[servers]]\nhost = 'ldap'\nbind_password = 'hunter2'\n"
    problems = grafana_ini_problems({}, ldap_toml=clear)
    assert len(problems) == 1 and "grafana_ldap_toml" in problems[0] and "hunter2" not in problems[0]
    by_file = "[[servers]]\nbind_password = '$__file{/etc/grafana/secrets/ldap_bind_password}'\n"
    assert grafana_ini_problems({}, ldap_toml=by_file) == []


def test_merge_lets_the_instructor_win_and_renders_secrets_as_file_references() -> None:
    role = {"server": {"http_port": 3000, "root_url": "http://a/"}, "analytics": {"reporting_enabled": False}}
    merged = grafana_ini_merge(role, {"server": {"root_url": "https://b/"}, **OAUTH},
                               {"auth.generic_oauth": {"client_secret": "s3cr3t"}}, "/etc/grafana/secrets")
    assert merged["server"] == {"http_port": "3000", "root_url": "https://b/"}
    assert merged["analytics"] == {"reporting_enabled": "false"}
    assert merged["auth.generic_oauth"]["enabled"] == "true"
    assert merged["auth.generic_oauth"]["client_secret"] == \
        "$__file{/etc/grafana/secrets/ini.auth.generic_oauth.client_secret}"
    assert "s3cr3t" not in repr(merged)
    assert grafana_ini_merge({}, {"smtp": {"from_name": "a;b"}})["smtp"]["from_name"] == '"""a;b"""'
    assert list(grafana_ini_merge({"server": {}}, {"DEFAULT": {"instance_name": "lab"}})) == ["DEFAULT", "server"]


def test_secret_files_name_one_file_per_key() -> None:
    assert grafana_ini_secret_files({"smtp": {"password": "p"}}) == [
        {"file": "ini.smtp.password", "section": "smtp", "key": "password", "value": "p"}]
    assert grafana_ini_secret_files({"smtp": {"password": "a;b#c"}})[0]["value"] == "a;b#c", "no ini quoting"


def test_the_key_list_records_its_source_and_knows_grafana_13_keys() -> None:
    assert "48c392036ee8bf36edc8505d57cc6a0ac78fd015" in grafana_ini_keys.SOURCE
    assert "preinstall_auto_update" in grafana_ini_keys.SECTIONS["plugins"]
    assert "client_secret" in grafana_ini_keys.SECTIONS["auth.generic_oauth"]
    assert {"enabled", "host", "user", "password", "from_address"} <= set(grafana_ini_keys.SECTIONS["smtp"])


def test_the_generator_keeps_defined_keys_only() -> None:
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "grafana_ini_keys.py"
    spec = importlib.util.spec_from_file_location("grafana_ini_keys_script", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = ("app_mode = production\n[smtp]\nenabled = false\n;user =\n# password =\nstartTLS_policy =\n"
            "[server.custom_response_headers]\n#exampleHeader1 = exampleValue1\n")
    assert module.parse(text) == {"DEFAULT": ["app_mode"], "smtp": ["enabled", "startTLS_policy"],
                                  "server.custom_response_headers": []}
