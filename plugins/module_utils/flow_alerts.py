# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The alerts flow of ``stack_flow_check``: an alert fired by a Prometheus rule is active in Alertmanager, and a
test alert posted to Alertmanager reaches the webhook sink (``flow_webhook_sink``) run here, first firing, then
resolved."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.flow_common import (
    FlowResult,
    FlowRun,
    FlowSettings,
    Http,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.flow_webhook_sink import WebhookSink


def verification_alert(run_id: str, starts: datetime, ends: datetime | None = None) -> list[dict[str, Any]]:
    alert: dict[str, Any] = {
        "labels": {"alertname": "StackFlowCheck", "verify": "true", "verify_run": run_id},
        "annotations": {"summary": "Test alert of data2ai.grafana_stack's verify playbook; resolves itself."},
        "startsAt": iso(starts),
        "generatorURL": "https://example.invalid/stack_flow_check",
    }
    if ends is not None:
        alert["endsAt"] = iso(ends)
    return [alert]


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def webhook_failures(http: Http, alertmanager_url: str) -> str:
    """Alertmanager's own count of failed webhook notifications, which tells 'sent but unreachable' apart."""
    answer = http.call("GET", f"{alertmanager_url}/metrics")
    if not answer.ok:
        return ""
    total = 0.0
    for line in answer.body.splitlines():
        if line.startswith("alertmanager_notifications_failed_total{") and 'integration="webhook"' in line:
            try:
                total += float(line.rsplit(" ", 1)[1])
            except ValueError:
                continue
    return f"; Alertmanager counts {total:.0f} failed webhook notifications" if total else ""


def check_alerts(settings: FlowSettings) -> FlowResult:
    http = Http(settings.request_timeout)
    try:
        return _check_alerts(settings, http)
    finally:
        http.close()


def _check_alerts(settings: FlowSettings, http: Http) -> FlowResult:
    run = FlowRun(settings)
    am = settings.alertmanager_url.rstrip("/")

    def receiver() -> tuple[bool, str]:
        answer = http.call("GET", f"{am}/api/v2/receivers")
        names = [item.get("name") for item in answer.json() or [] if isinstance(item, dict)] if answer.ok else []
        if settings.alert_receiver in names:
            return True, f"Alertmanager has the receiver '{settings.alert_receiver}'"
        if not answer.ok:
            return False, f"Alertmanager receivers not readable: {answer.describe()}"
        return False, (
            f"Alertmanager has no receiver '{settings.alert_receiver}' (it has {', '.join(map(str, names))}): "
            "converge the alertmanager role with alertmanager_verify_receiver_enabled; "
            "no test alert was sent, so no real receiver was notified"
        )

    def rule_alert() -> tuple[bool, str]:
        name = settings.alert_rule_alertname
        answer = http.call("GET", f"{am}/api/v2/alerts", {"filter": f'alertname="{name}"', "active": "true"})
        alerts = answer.json() if answer.ok else None
        if alerts and any(alert.get("generatorURL") for alert in alerts):
            return True, f"rule alert {name} from Prometheus is active in Alertmanager"
        problem = answer.describe() if not answer.ok else "not there"
        return False, f"rule alert {name} from Prometheus not active in Alertmanager: {problem}"

    run.step("receiver", receiver)
    if settings.alert_rule_alertname:
        run.step("rule", lambda: run.until(rule_alert))
    if run.failed:
        return run.result()
    if not settings.alert_webhook_url:
        run.step("sink", lambda: (False, "no alert_webhook_url: the sink's URL must be the verify receiver's"))
        return run.result()

    sink = WebhookSink(settings.alert_webhook_url)
    starts = datetime.now(timezone.utc) - timedelta(seconds=1)

    def notified(status: str, alert: list[dict[str, Any]]) -> tuple[bool, str]:
        posted = http.call("POST", f"{am}/api/v2/alerts", body=alert)
        if not posted.ok:
            return False, f"Alertmanager refused the test alert: {posted.describe()}"
        if run.poll(lambda: (sink.received(settings.run_id, status), ""))[0]:
            return True, f"{status} test alert delivered to the webhook sink"
        return False, (
            f"{status} test alert not delivered to the webhook sink {sink.url}: the containers must reach "
            f"{sink.address[0]}:{sink.address[1]} (host firewall?){webhook_failures(http, am)} (after {run.waited()})"
        )

    try:
        with sink.listening():
            if run.step("firing", lambda: notified("firing", verification_alert(settings.run_id, starts))):
                ended = datetime.now(timezone.utc) - timedelta(seconds=1)
                run.step("resolved", lambda: notified("resolved", verification_alert(settings.run_id, starts, ended)))
    except OSError as exc:  # only binding the sink raises it here: every HTTP call returns an Answer
        problem = f"cannot listen on {sink.address[0]}:{sink.address[1]} for Alertmanager's webhook: {exc}"
        run.step("sink", lambda: (False, problem))
    finally:
        # Never leave the test alert firing in Alertmanager, whatever happened above.
        resolved = verification_alert(settings.run_id, starts, datetime.now(timezone.utc))
        http.call("POST", f"{am}/api/v2/alerts", body=resolved)
    rule = settings.alert_rule_alertname
    rule = f"rule alert {rule} active in Alertmanager; " if rule else ""
    run.summary = f"{rule}test alert delivered by receiver '{settings.alert_receiver}', firing then resolved"
    return run.result()
