"""The grafana role's host of grafana_root_url (the certificate's first name, the health check's server name) and
its database password as Grafana's PostgreSQL connection string needs it.

The role tests render roles/grafana's defaults and vars with ansible-core's Templar; they were written against the
regular expression and the Jinja the variables held before plugins/filter/url_host.py and
plugins/filter/libpq.py replaced them.
"""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.data2ai.grafana_stack.plugins.filter.libpq import libpq_value
from ansible_collections.data2ai.grafana_stack.plugins.filter.url_host import url_host
from role_rendering import ROLES_DIR, template_with_templar

GRAFANA = ROLES_DIR / "grafana"
ROLE_FILES = [GRAFANA / "defaults" / "main.yml", GRAFANA / "vars" / "main.yml"]
BASE = {"inventory_hostname": "node1", "grafana_tls": True, "grafana_tls_ca_file": "/etc/ca.crt",
        "grafana_tls_ca_path": "", "grafana_bind_address": "0.0.0.0"}

URLS = {
    "http://grafana.example:3000/": "grafana.example",
    "https://Grafana.Example.ORG/": "Grafana.Example.ORG",
    "https://grafana.example": "grafana.example",
    "https://grafana.example?x=1": "grafana.example",
    "https://grafana.example#top": "grafana.example",
    "https://10.1.2.3:8443/grafana/": "10.1.2.3",
    "https://[fd00::1]:3000/": "fd00::1",
    "https://[::1]/": "::1",
    "https://grafana.example:abc/": "grafana.example",  # a wrong port is preflight's to name, not a template error
    "HTTPS://grafana.example/": "grafana.example",
    "grafana.example": "grafana.example",  # no scheme: the text as it is
}


@pytest.fixture(scope="module")
def role_names() -> list[Any]:
    cases = [{**BASE, "grafana_root_url": url} for url in URLS]
    return template_with_templar("{{ [grafana_tls_names[0], grafana_health_check.server_name] }}", cases,
                                 vars_files=ROLE_FILES)


@pytest.mark.parametrize(("index", "url"), list(enumerate(URLS)))
def test_the_certificate_and_the_health_check_name_the_host_of_the_root_url(index: int, url: str,
                                                                            role_names: list[Any]) -> None:
    assert role_names[index] == [URLS[url], URLS[url]]


BACKSLASH = "\\"
PASSWORDS = {
    "plainPassword123": "plainPassword123",
    "with-punctuation!@#$%^&*()=+,.;:/?\"": "with-punctuation!@#$%^&*()=+,.;:/?\"",
    "with space": "'with space'",
    "tab\there": "'tab\there'",
    "it's": f"'it{BACKSLASH}'s'",
    f"back{BACKSLASH}slash": f"'back{BACKSLASH}{BACKSLASH}slash'",
    f"all of {BACKSLASH}'": f"'all of {BACKSLASH}{BACKSLASH}{BACKSLASH}''",
    "non\u00a0breaking": "'non\u00a0breaking'",
    "ünïcödé": "ünïcödé",
}


def test_the_database_password_is_written_as_lib_pq_reads_it() -> None:
    cases = [{**BASE, "grafana_database_password": password} for password in PASSWORDS]
    rendered = template_with_templar("{{ grafana_database_password_dsn }}", cases, vars_files=ROLE_FILES)
    assert dict(zip(PASSWORDS, rendered)) == PASSWORDS


@pytest.mark.parametrize(("url", "host"), list(URLS.items()))
def test_url_host_gives_what_the_role_gave(url: str, host: str) -> None:
    assert url_host(url) == host


@pytest.mark.parametrize(("url", "host"), [
    # The pattern took the user information for the host.
    ("https://admin:secret@grafana.example:3000/", "grafana.example"),
    ("https://admin@[fd00::1]/", "fd00::1"),
    # The pattern did not match across a line break and gave the whole text back.
    ("https://grafana.example/\nx", "grafana.example"),
    ("https://", ""),
    ("ftp.example/x", "ftp.example/x"),
    ("", ""),
])
def test_url_host_on_what_the_pattern_got_wrong_or_never_met(url: str, host: str) -> None:
    assert url_host(url) == host


@pytest.mark.parametrize(("password", "written"), list(PASSWORDS.items()))
def test_libpq_value_gives_what_the_role_gave(password: str, written: str) -> None:
    assert libpq_value(password) == written


@pytest.mark.parametrize(("value", "written"), [
    ("", "''"),  # libpq-connect: an empty value is written in quotes; unquoted, the next key would be read as it
    (1234, "1234"),  # a number from the inventory; the Jinja failed on it (no split on an int)
    ("new\nline", "'new\nline'"),
    ("\u2003em space", "'\u2003em space'"),
    ("=", "="),
])
def test_libpq_value_quotes_an_empty_value_and_takes_a_number(value: object, written: str) -> None:
    assert libpq_value(value) == written
