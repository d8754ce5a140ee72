#!/usr/bin/python
# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: stack_flow_check
short_description: Prove that one data flow of the Grafana training stack works end to end
description:
  - Checks one of the stack's four data flows on the target host, by putting uniquely marked test data in at
    one end and polling the other end until it shows up or O(timeout) seconds have passed.
  - V(metrics) - a Node Exporter and a cAdvisor series (O(metrics_series)) are in Prometheus, and the same
    queries answer through Grafana's datasource proxy. Only reads.
  - V(logs) - a short-lived container from O(log_writer_image) echoes a marker; the log collector (Promtail or
    Alloy) ships it to Loki, where a LogQL C(query_range) finds it, and the same query answers through Grafana. The
    container is removed afterwards.
  - V(traces) - a span with a random trace id is sent as OTLP/HTTP JSON to Tempo, which returns it by id on its
    HTTP API, and through Grafana.
  - V(alerts) - an alert fired by a Prometheus rule (O(alert_rule_alertname)) is active in Alertmanager; then a
    test alert labelled C(verify="true") is posted to Alertmanager, which must deliver it to a webhook sink that
    the module runs on O(alert_webhook_url), first firing and then resolved.
  - A flow that does not work is a result, not an error. The module returns RV(passed=false) with a
    RV(detail) naming the link that broke, and succeeds, so a play can check every flow and decide at the end.
  - 'Add C(failed_when: not result.passed) to stop at once instead.'
  - The Grafana leg of a flow runs when O(grafana_datasource_uid) is given.
author:
  - data2ai training team (@data2ai)
options:
  flow:
    description:
      - The data flow to check.
    type: str
    required: true
    choices: [metrics, logs, traces, alerts]
  timeout:
    description:
      - Seconds the whole flow may take, all its steps together.
    type: float
    default: 120
  interval:
    description:
      - Seconds between two polls of the far end of the flow.
    type: float
    default: 1
  request_timeout:
    description:
      - Seconds one HTTP request may take.
    type: float
    default: 10
  run_id:
    description:
      - Identifier in the test data (log marker, span name, alert label), so a result is never confused with an
        earlier run's. A random one by default.
    type: str
  prometheus_url:
    description:
      - Prometheus as the target host reaches it (its published port).
    type: str
    default: http://127.0.0.1:9090
  loki_url:
    description:
      - Loki's HTTP API as the target host reaches it.
    type: str
    default: http://127.0.0.1:3100
  tempo_url:
    description:
      - Tempo's HTTP API (queries) as the target host reaches it.
    type: str
    default: http://127.0.0.1:3200
  tempo_otlp_http_url:
    description:
      - Tempo's OTLP/HTTP receiver as the target host reaches it; the span goes to C(/v1/traces) under it.
    type: str
    default: http://127.0.0.1:4318
  alertmanager_url:
    description:
      - Alertmanager as the target host reaches it.
    type: str
    default: http://127.0.0.1:9093
  grafana_url:
    description:
      - Grafana as the target host reaches it.
    type: str
    default: http://127.0.0.1:3000
  grafana_user:
    description:
      - Grafana user for the datasource proxy (basic authentication).
    type: str
    default: admin
  grafana_password:
    description:
      - That user's password. Never returned.
    type: str
  grafana_ca_path:
    description:
      - PEM file of CA certificates that verifies Grafana's certificate when O(grafana_url) is C(https), instead of
        the system's CAs (a self-signed certificate can be its own CA file). The certificate is always verified.
    type: path
  grafana_datasource_uid:
    description:
      - Uid of the Grafana datasource the flow is also queried through (Prometheus for V(metrics), Loki for
        V(logs), Tempo for V(traces)). Empty skips the Grafana leg. Not used by V(alerts).
    type: str
    default: ""
  metrics_series:
    description:
      - PromQL series selectors that must have at least one series, in Prometheus and through Grafana.
    type: list
    elements: str
    default:
      - node_cpu_seconds_total{job="node-exporter"}
      - container_cpu_usage_seconds_total{job="cadvisor"}
  log_writer_image:
    description:
      - Image of the container that writes the marker. Any image present on the host with C(/bin/sh) and
        C(sleep) works; the stack's PostgreSQL image is a good choice. Needed for V(logs).
    type: str
    default: ""
  log_writer_name:
    description:
      - Name of that container. A leftover of an interrupted run with this name is replaced.
      - The LogQL query selects C({container="<name>"}), the label the Docker job of Promtail or Alloy gives each
        container.
    type: str
    default: stack-flow-check-log-writer
  log_writer_labels:
    description:
      - Labels put on the log writer container.
    type: dict
    default: {}
  log_shipper_container:
    description:
      - Name of the log collector's container (Promtail or Alloy). When the marker does not arrive, its last
        complaints are added to RV(detail).
    type: str
    default: ""
  docker_socket:
    description:
      - Unix socket of the Docker engine on the target, used to run the log writer and read the log collector's
        logs.
    type: path
    default: /var/run/docker.sock
  alert_webhook_url:
    description:
      - URL Alertmanager's C(verify) receiver posts to. The module listens on its host and port while the flow
        runs, so the host must be an address of the target that the containers reach, such as the stack
        network's gateway. Needed for V(alerts).
    type: str
    default: ""
  alert_receiver:
    description:
      - Alertmanager receiver that routes C(verify="true") alerts to O(alert_webhook_url). When Alertmanager
        has no receiver of that name no test alert is sent, so a real receiver is never notified.
    type: str
    default: verify
  alert_rule_alertname:
    description:
      - An alert that a Prometheus rule keeps firing (the stack's C(Watchdog)); it must be active in
        Alertmanager. Empty skips that step.
    type: str
    default: Watchdog
attributes:
  check_mode:
    support: full
    description:
      - V(metrics) only reads and runs as usual. V(logs), V(traces) and V(alerts) would send test data, so they
        send nothing and return RV(status=skipped).
  diff_mode:
    support: none
    description:
      - Nothing is configured, so there is nothing to diff.
  idempotent:
    support: full
    description:
      - Always returns RV(ignore:changed=false). The test data (a log line, a span, an alert that is resolved at
        once) is new each run and changes no configuration; the log writer container is removed again.
notes:
  - Runs on the target host and reaches the components through their published ports. Proxy environment
    variables are ignored, because every URL is local to the host.
  - The alerts flow needs Alertmanager's C(verify) route and receiver, which the collection's alertmanager role
    adds (C(alertmanager_verify_receiver_enabled)), and a host firewall that lets the containers reach
    O(alert_webhook_url).
  - C(playbooks/verify.yml) runs all four flows on every host and writes a readiness report.
seealso:
  - module: data2ai.grafana_stack.service_health
    description: Waits until the components answer their health endpoints; this module proves data flows through them.
"""

EXAMPLES = r"""
- name: Check every flow, record the results, decide at the end
  data2ai.grafana_stack.stack_flow_check:
    flow: "{{ item.flow }}"
    grafana_password: "{{ grafana_admin_password }}"
    grafana_datasource_uid: "{{ item.uid }}"
    log_writer_image: postgres:15
    log_shipper_container: promtail
    alert_webhook_url: http://172.20.0.1:19093/
  loop:
    - {flow: metrics, uid: prometheus}
    - {flow: logs, uid: loki}
    - {flow: traces, uid: tempo}
    - {flow: alerts, uid: ""}
  register: flows

- name: Fail when a flow does not work
  ansible.builtin.assert:
    that: flows.results | rejectattr('passed') | list | length == 0
    fail_msg: "{{ flows.results | rejectattr('passed') | map(attribute='detail') | list }}"

- name: Stop at once when traces do not reach Tempo
  data2ai.grafana_stack.stack_flow_check:
    flow: traces
    tempo_url: http://127.0.0.1:13200
    tempo_otlp_http_url: http://127.0.0.1:14318
  register: traces
  failed_when: not traces.passed
"""

RETURN = r"""
flow:
  description: The flow checked.
  returned: always
  type: str
  sample: logs
passed:
  description: Whether the flow works. V(false) as well when it was skipped in check mode.
  returned: always
  type: bool
  sample: true
status:
  description: V(pass), V(fail), or V(skipped) (check mode, test data not sent).
  returned: always
  type: str
  sample: pass
detail:
  description:
    - One line. When the flow works, what each step saw; otherwise the step that failed and why.
  returned: always
  type: str
  sample: >-
    marker not found in Loki: no matching line, LogQL {container="verify-log-writer"} |= "stack-flow-check-1a2b3c"
    (after 120s); promtail says: level=warn msg="error sending batch, will retry" host=loki:3999 status=-1
elapsed:
  description: Seconds the flow took, measured.
  returned: always
  type: float
  sample: 6.42
steps:
  description: Every step run, in order; the first failing one is the last.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The step, such as V(loki) or V(grafana).
      type: str
    passed:
      description: Whether it worked.
      type: bool
    detail:
      description: What it saw.
      type: str
    elapsed:
      description: Seconds it took.
      type: float
  sample:
    - {name: log writer, passed: true, detail: "log writer verify-log-writer (postgres:15) echoes the marker",
       elapsed: 0.41}
    - {name: loki, passed: true, detail: "marker found in Loki (4 lines)", elapsed: 5.2}
evidence:
  description: The identifiers of this run's test data, to look them up by hand.
  returned: always
  type: dict
  sample: {run_id: 1a2b3c4d5e6f, trace_id: 5b8efff798038103d269b633813fc60c}
msg:
  description: The flow, its status and RV(detail), in one line.
  returned: always
  type: str
  sample: >-
    traces: pass: trace 5b8e... sent over OTLP/HTTP, found by id in Tempo, and through Grafana (datasource tempo)
"""

# Ansible modules keep their imports after the documentation strings.
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.flows import (  # noqa: E402
    DEFAULT_METRICS_SERIES,
    FLOWS,
    FLOWS_SENDING_DATA,
    FlowSettings,
    check_flow,
)

ARGUMENT_SPEC = {
    "flow": {"type": "str", "required": True, "choices": list(FLOWS)},
    "timeout": {"type": "float", "default": 120},
    "interval": {"type": "float", "default": 1},
    "request_timeout": {"type": "float", "default": 10},
    "run_id": {"type": "str"},
    "prometheus_url": {"type": "str", "default": "http://127.0.0.1:9090"},
    "loki_url": {"type": "str", "default": "http://127.0.0.1:3100"},
    "tempo_url": {"type": "str", "default": "http://127.0.0.1:3200"},
    "tempo_otlp_http_url": {"type": "str", "default": "http://127.0.0.1:4318"},
    "alertmanager_url": {"type": "str", "default": "http://127.0.0.1:9093"},
    "grafana_url": {"type": "str", "default": "http://127.0.0.1:3000"},
    "grafana_user": {"type": "str", "default": "admin"},
    "grafana_password": {"type": "str", "no_log": True},
    "grafana_ca_path": {"type": "path"},
    "grafana_datasource_uid": {"type": "str", "default": ""},
    "metrics_series": {"type": "list", "elements": "str", "default": list(DEFAULT_METRICS_SERIES)},
    "log_writer_image": {"type": "str", "default": ""},
    "log_writer_name": {"type": "str", "default": "stack-flow-check-log-writer"},
    "log_writer_labels": {"type": "dict", "default": {}},
    "log_shipper_container": {"type": "str", "default": ""},
    "docker_socket": {"type": "path", "default": "/var/run/docker.sock"},
    "alert_webhook_url": {"type": "str", "default": ""},
    "alert_receiver": {"type": "str", "default": "verify"},
    "alert_rule_alertname": {"type": "str", "default": "Watchdog"},
}


def settings_from(params: dict) -> FlowSettings:
    values = {name: value for name, value in params.items() if value is not None}
    values["metrics_series"] = tuple(values["metrics_series"])
    return FlowSettings(**values)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    problems = [f"{name} must be greater than 0" for name in ("timeout", "interval", "request_timeout")
                if params[name] <= 0]
    if params["flow"] == "metrics" and not params["metrics_series"]:
        problems.append("metrics_series must name at least one series")
    if problems:
        module.fail_json(msg="; ".join(problems))

    if module.check_mode and params["flow"] in FLOWS_SENDING_DATA:
        detail = "check mode: no test data sent"
        module.exit_json(changed=False, flow=params["flow"], passed=False, status="skipped", detail=detail,
                         elapsed=0.0, steps=[], evidence={}, msg=f"{params['flow']}: skipped: {detail}")

    result = check_flow(settings_from(params))
    module.exit_json(
        changed=False,
        flow=result.flow,
        passed=result.passed,
        status=result.status,
        detail=result.detail,
        elapsed=result.elapsed,
        steps=[step.as_dict() for step in result.steps],
        evidence=result.evidence,
        msg=f"{result.flow}: {result.status}: {result.detail}",
    )


if __name__ == "__main__":
    main()
