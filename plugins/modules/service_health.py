#!/usr/bin/python
# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: service_health
short_description: Wait until many HTTP services are healthy, all at once
description:
  - Polls the HTTP health endpoints of several services concurrently (one thread per
    service) until every one of them answers as expected, or until O(timeout) seconds
    have passed.
  - A service is ready when its endpoint answers with one of the O(checks[].status)
    codes and, when given, the body matches every O(checks[].json) field and the
    O(checks[].body_regex) pattern. A service stops being polled as soon as it is ready.
  - All services share one deadline. The wait ends when the slowest service is ready, and
    a run where several services never come up fails after one O(timeout), not after one
    timeout per service as with one M(ansible.builtin.uri) task (C(until)/C(retries)) per
    service.
  - Returns, for each service, whether it became ready, its time to ready, the number of
    attempts, and the last HTTP status, connection error and body snippet it saw.
  - When a service is not ready in time the module fails with one line per unhealthy
    service, naming its last HTTP status or connection error and the last body snippet.
  - The module only reads. It never changes anything on the target, so RV(ignore:changed)
    is always V(false).
author:
  - data2ai training team (@data2ai)
options:
  checks:
    description:
      - The services to wait for. Each entry is polled concurrently with the others.
      - Must list at least one service. Names must be unique; they key RV(services).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Name of the service, used as the key in RV(services) and in failure messages.
        type: str
        required: true
      url:
        description:
          - The health endpoint, for example V(http://127.0.0.1:3100/ready).
          - Must use the C(http) or C(https) scheme and name a host.
          - A C(user:password@) part is accepted and sent as HTTP basic authentication; it is never echoed back.
          - Give either O(checks[].url) or O(checks[].container).
        type: str
      container:
        description:
          - Name of a Docker container on the target to check instead of a fixed URL.
          - With O(checks[].port), the module looks up the container's address (on O(checks[].network))
            at every attempt, so a restarted container with a new address is still found, and probes
            C(http://<address>:<port><path>) (C(https) with O(checks[].scheme=https)).
          - Without O(checks[].port), the service is ready when the container runs and Docker's own
            healthcheck says C(healthy) (a container without a healthcheck counts as ready once it runs).
            This suits services that do not speak HTTP, such as PostgreSQL and Redis.
          - A stopped or missing container is reported as such, and on failure the message is followed by
            the container's last O(log_lines) log lines.
        type: str
      port:
        description:
          - Port inside the container to probe; needs O(checks[].container).
        type: int
      path:
        description:
          - Path to probe on the container's port.
        type: str
        default: /
      network:
        description:
          - Docker network whose address of the container is used. Defaults to the container's first network.
        type: str
      docker_socket:
        description:
          - Unix socket of the Docker engine, read-only use.
        type: path
        default: /var/run/docker.sock
      status:
        description:
          - HTTP status codes that count as healthy.
        type: list
        elements: int
        default: [200]
      json:
        description:
          - 'Fields the JSON body must contain, as a mapping of dotted path to expected
            value, for example V({"database": "ok"}) for Grafana or V({"status": "pass"})
            for InfluxDB 2.'
          - A path walks into nested objects with dots and into lists with integer
            indexes, for example V(checks.0.status). Keys that contain a dot cannot be
            addressed.
          - Values are compared by equality, except that V(true) never equals V(1).
            A string expectation also matches the JSON rendering of a non-string value,
            so V("true") matches V(true) and V("3") matches V(3).
          - Only the first 64 KiB of the body are read, which is ample for a health document.
        type: dict
      body_regex:
        description:
          - A Python regular expression that must match somewhere in the body
            (C(re.search)), for example V(^ready) for Loki's C(/ready).
        type: str
      method:
        description:
          - HTTP method of the probe. Only read-only methods are offered, so probing is
            safe in check mode.
        type: str
        choices: [GET, HEAD]
        default: GET
      headers:
        description:
          - Extra request headers.
          - Values of headers whose name contains C(auth), C(token), C(secret), C(key),
            C(cookie) or C(passw) are treated as secrets and masked in every output.
        type: dict
      validate_certs:
        description:
          - Verify the server's TLS certificate for C(https) URLs.
        type: bool
        default: true
      scheme:
        description:
          - Scheme of a container probe (O(checks[].container) with O(checks[].port)). With V(https) the
            module probes C(https://<address>:<port><path>) and verifies the certificate (see
            O(checks[].ca_path) and O(checks[].server_name)).
        type: str
        choices: [http, https]
        default: http
      ca_path:
        description:
          - PEM file of CA certificates to verify the server's certificate with, instead of the system's CAs.
            A self-signed certificate can be its own CA file.
        type: path
      server_name:
        description:
          - The name the server's certificate must carry, when it differs from the host the probe connects
            to, for example the name a certificate was made for while the probe goes to a container's
            address. Also sent as the TLS server name (SNI).
        type: str
      url_username:
        description:
          - User name for HTTP basic authentication, sent with the first request.
        type: str
      url_password:
        description:
          - Password for HTTP basic authentication. Requires O(checks[].url_username).
          - Never returned, and masked wherever it would appear in a body snippet.
        type: str
  timeout:
    description:
      - Overall time in seconds to wait for all services together.
      - A last attempt started just before the deadline may run up to one second (or
        O(request_timeout) if shorter) past it, so that its answer is a real one.
    type: float
    default: 120
  interval:
    description:
      - Seconds to wait after a failed attempt before polling that service again.
      - Must be greater than 0 and not longer than O(timeout).
    type: float
    default: 1
  request_timeout:
    description:
      - Seconds one HTTP request may take before it counts as a failed attempt.
    type: float
    default: 5
  log_lines:
    description:
      - How many of a failed container's last log lines follow its line in the failure message.
      - Only for checks that name a O(checks[].container). V(0) adds none.
    type: int
    default: 10
  check_mode_probe:
    description:
      - Whether to probe the services in check mode.
      - Probing sends only C(GET) or C(HEAD) requests, which change nothing, so by
        default check mode probes and reports exactly as a normal run does.
      - Set to V(false) to skip probing in check mode, for example when the services
        are deployed by earlier tasks that check mode does not run. The module then
        returns at once with RV(skipped_in_check_mode=true) and empty RV(services).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description:
      - Can run in check mode and returns the same result as a normal run, because it
        only sends read-only requests. See O(check_mode_probe) to skip probing instead.
  diff_mode:
    support: none
    description:
      - The module changes nothing, so there is no before and after state to diff.
  idempotent:
    support: full
    description:
      - The module only reads, and always returns RV(ignore:changed=false). Running it
        again with the same arguments has no effect on the target.
notes:
  - Requests honour the usual C(http_proxy), C(https_proxy) and C(no_proxy) environment
    variables on the target, like M(ansible.builtin.uri). Make sure local health
    endpoints are listed in C(no_proxy) when a proxy is set.
  - Redirects are followed for C(GET) and C(HEAD); a redirect that is not followed
    reports its 3xx status. The credentials (basic authentication, an C(Authorization) header) are not sent
    on to another host, nor after a change of scheme or port (except http to https on the default ports), as
    in the Python C(requests) library.
  - Each service is polled over one kept-alive connection; a connection the service closed meanwhile is
    replaced.
  - Body snippets have their whitespace collapsed, are cut to 300 characters, and have
    every credential given in O(checks[].url_password), the URL or a secret-looking
    header masked.
  - The roles of this collection add the container's last log lines to a failure of this
    module, because the HTTP answer alone rarely says why a service did not start.
  - Pure Python standard library (the collection's HTTP layer on C(http.client)); nothing to install
    on the target.
seealso:
  - module: ansible.builtin.uri
    description: One HTTP request per task; with C(until) it waits for one service at a time.
  - module: ansible.builtin.wait_for
    description: Waits for a TCP port or a file, without looking at the HTTP answer.
"""

EXAMPLES = r"""
- name: Wait for the whole stack, all services at once
  data2ai.grafana_stack.service_health:
    timeout: 180
    interval: 2
    checks:
      - name: grafana
        url: http://127.0.0.1:3000/api/health
        json:
          database: ok
      - name: prometheus
        url: http://127.0.0.1:9090/-/ready
      - name: loki
        url: http://127.0.0.1:3100/ready
        body_regex: "^ready"
      - name: tempo
        url: http://127.0.0.1:3200/ready
      - name: influxdb
        url: http://127.0.0.1:8086/health
        json:
          status: pass
      - name: alertmanager
        url: http://127.0.0.1:9093/-/ready
  register: stack_health

- name: Show how long each service took
  ansible.builtin.debug:
    msg: "{{ item.key }} ready after {{ item.value.time_to_ready }}s"
  loop: "{{ stack_health.services | dict2items }}"

- name: Accept a redirect or an authorisation error as "the web server is up"
  data2ai.grafana_stack.service_health:
    timeout: 30
    checks:
      - name: grafana-login
        url: http://127.0.0.1:3000/
        status: [200, 302, 401]

- name: Probe an endpoint behind basic authentication
  data2ai.grafana_stack.service_health:
    checks:
      - name: grafana-admin
        url: http://127.0.0.1:3000/api/admin/stats
        url_username: admin
        url_password: "{{ grafana_admin_password }}"

- name: Add the container's last log lines when a service does not come up
  block:
    - name: Wait for Loki
      data2ai.grafana_stack.service_health:
        timeout: 60
        checks:
          - name: loki
            url: http://127.0.0.1:3100/ready
  rescue:
    - name: Read Loki's last log lines
      ansible.builtin.command: docker logs --tail 20 loki
      register: loki_logs
      changed_when: false
    - name: Fail with the health message and the logs
      ansible.builtin.fail:
        msg: "{{ ansible_failed_result.msg }}\n--- last log lines ---\n{{ loki_logs.stdout }}\n{{ loki_logs.stderr }}"

- name: In check mode, do not probe services that earlier tasks did not deploy
  data2ai.grafana_stack.service_health:
    check_mode_probe: false
    checks:
      - name: prometheus
        url: http://127.0.0.1:9090/-/ready
"""

RETURN = r"""
services:
  description:
    - The result for each service, keyed by O(checks[].name), in the order given.
    - Empty when probing was skipped in check mode.
  returned: always
  type: dict
  sample:
    grafana:
      url: http://127.0.0.1:3000/api/health
      ready: true
      status: 200
      error: null
      body: '{"commit": "abc123", "database": "ok", "version": "11.3.0"}'
      attempts: 3
      time_to_ready: 2.014
      message: null
    loki:
      url: http://127.0.0.1:3100/ready
      ready: false
      status: 503
      error: null
      body: "Ingester not ready: waiting for 15s after being ready"
      attempts: 60
      time_to_ready: null
      message: >-
        loki: not ready after 60s (60 attempts): HTTP 503 (expected 200),
        body: "Ingester not ready: waiting for 15s after being ready"
  contains:
    url:
      description: The URL probed, without any credentials.
      type: str
      returned: always
    ready:
      description: Whether the service answered as expected before the timeout.
      type: bool
      returned: always
    status:
      description: HTTP status of the last answer, or V(null) if the last attempt got no answer.
      type: int
      returned: always
    error:
      description:
        - Why the last attempt got no HTTP answer, for example V(connection refused) or
          V(timed out after 5s). V(null) when it got an answer.
      type: str
      returned: always
    body:
      description:
        - The start of the last body received, whitespace collapsed, at most 300
          characters, credentials masked. V(null) if no answer arrived.
      type: str
      returned: always
    attempts:
      description: Number of requests sent to this service.
      type: int
      returned: always
    time_to_ready:
      description:
        - Seconds from the start of the wait until the service answered as expected,
          measured. V(null) if it never did.
      type: float
      returned: always
    message:
      description: The failure line for this service, or V(null) when it is ready.
      type: str
      returned: always
unhealthy:
  description: Names of the services that were not ready in time, in the order given.
  returned: always
  type: list
  elements: str
  sample: [loki]
elapsed:
  description: Seconds the whole wait took, measured.
  returned: always
  type: float
  sample: 4.212
skipped_in_check_mode:
  description: V(true) when probing was skipped because of O(check_mode_probe=false) in check mode.
  returned: always
  type: bool
  sample: false
msg:
  description:
    - A summary on success.
    - On failure, one line per unhealthy service with its last HTTP status or connection
      error and its last body snippet, as in RV(services.message).
  returned: always
  type: str
  sample: "6 services ready in 4.2s"
"""

# Ansible modules keep their imports after the documentation strings.
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.health import (  # noqa: E402
    HealthCheck,
    HealthConfigError,
    build_checks,
    validate_timing,
    wait_for_services,
    with_container_logs,
)

CHECK_OPTIONS = {
    "name": {"type": "str", "required": True},
    "url": {"type": "str"},
    "container": {"type": "str"},
    "port": {"type": "int"},
    "path": {"type": "str", "default": "/"},
    "network": {"type": "str"},
    "docker_socket": {"type": "path", "default": "/var/run/docker.sock"},
    "status": {"type": "list", "elements": "int", "default": [200]},
    "json": {"type": "dict"},
    "body_regex": {"type": "str"},
    "method": {"type": "str", "choices": ["GET", "HEAD"], "default": "GET"},
    "headers": {"type": "dict"},
    "validate_certs": {"type": "bool", "default": True},
    "url_username": {"type": "str"},
    "url_password": {"type": "str", "no_log": True},
    "scheme": {"type": "str", "choices": ["http", "https"], "default": "http"},
    "ca_path": {"type": "path"},
    "server_name": {"type": "str"},
}

ARGUMENT_SPEC = {
    "checks": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": CHECK_OPTIONS,
    },
    "timeout": {"type": "float", "default": 120},
    "interval": {"type": "float", "default": 1},
    "request_timeout": {"type": "float", "default": 5},
    "check_mode_probe": {"type": "bool", "default": True},
    "log_lines": {"type": "int", "default": 10},
}


def hide_secrets(module: AnsibleModule, checks: list[HealthCheck]) -> None:
    """Mask credentials from headers and URLs too, not only the no_log option."""
    for check in checks:
        module.no_log_values.update(check.secrets)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    try:
        checks = build_checks(params["checks"])
        validate_timing(params["timeout"], params["interval"], params["request_timeout"])
    except HealthConfigError as exc:
        module.fail_json(msg=str(exc))
    hide_secrets(module, checks)

    if module.check_mode and not params["check_mode_probe"]:
        module.exit_json(
            changed=False,
            skipped_in_check_mode=True,
            services={},
            unhealthy=[],
            elapsed=0.0,
            msg="check mode: probing skipped because check_mode_probe is false",
        )

    report = wait_for_services(
        checks,
        timeout=params["timeout"],
        interval=params["interval"],
        request_timeout=params["request_timeout"],
    )
    result = {
        "changed": False,
        "skipped_in_check_mode": False,
        "services": report.services_dict(),
        "unhealthy": report.unhealthy,
        "elapsed": report.elapsed,
    }
    if report.unhealthy:
        module.fail_json(msg="\n".join(with_container_logs(checks, report, params["log_lines"])), **result)
    plural = "" if len(checks) == 1 else "s"
    module.exit_json(msg=f"{len(checks)} service{plural} ready in {report.elapsed:.1f}s", **result)


if __name__ == "__main__":
    main()
