"""Every panel of the host, containers, logs, traces and InfluxDB dashboards returns data through Grafana (issue 17,
first "Done when" line).

One stack, converged once from the local test images with the demo workload ON (inventories/local-test-images turns
it off for the whole-stack tests): real PostgreSQL, Redis, Prometheus and Node Exporter, and the TEST DOUBLES of
Grafana, InfluxDB, cAdvisor, Loki, Promtail and Tempo. The test reads each dashboard as the grafana role ships it
(roles/grafana/files/dashboards/), walks every panel, nested rows included, and every target of each panel, and
sends the target's query to Grafana the way Grafana's frontend does for the datasource's type:

* Prometheus: GET ``/api/datasources/proxy/uid/<uid>/api/v1/query_range`` (or ``/api/v1/query`` for an instant
  target), as Grafana's Prometheus datasource does with httpMethod GET (the stack's datasource says POST, a form
  body, which the OpenAPI spec the Grafana double checks against does not list for the proxy route);
* Loki: GET ``/api/datasources/proxy/uid/<uid>/loki/api/v1/query_range``;
* Tempo: GET ``/api/datasources/proxy/uid/<uid>/api/search?q=<TraceQL>`` and, for the first trace found,
  ``/api/v2/traces/<id>`` (what opening it does); a ``serviceMap`` target is, in Grafana's Tempo datasource,
  Prometheus queries on jsonData.serviceMap.datasourceUid for ``traces_service_graph_request_total`` (Grafana
  public/app/plugins/datasource/tempo/graphTransform.ts, serviceMapMetrics), so it is sent as that;
* InfluxDB (Flux): Grafana's InfluxDB datasource is a backend datasource whose token stays in Grafana, so its
  frontend sends ``POST /api/ds/query`` and never the datasource proxy (the proxy would not add the token).

A target counts as having data when the answer is 200 and holds at least one series, stream, trace or row. Each
dashboard variable's own query is a target too (``variable <name>``).

Template variables and Grafana's macros are resolved as Grafana does, by this rule:

* a ``datasource`` variable: the datasource of that type whose uid or name is the saved current value, else the
  default one of that type, else the first one (Grafana's datasource variable keeps its value only when it is
  among the options);
* a variable at "All" with an allValue: the allValue, unformatted (Grafana does not format a custom all value,
  so ``${service:regex}`` is ``.*`` too);
* any other variable: its saved current value (a query variable keeps it when its query returns it, which its
  own ``variable`` target checks);
* ``$__interval``: the dashboard's time range over 1000 points (a panel about 1000 px wide), at least the
  datasource's minimum interval (jsonData.timeInterval), in whole seconds; ``$__rate_interval`` is
  max($__interval + scrape interval, 4 x scrape interval) (Grafana's docs, "Prometheus template variables");
  ``$__range`` the time range; Loki's ``$__auto`` is $__interval in a range query, $__range in an instant one;
  Flux's ``v.timeRangeStart``, ``v.timeRangeStop`` and ``v.windowPeriod`` are left to Grafana's backend.

What only the real upstream can produce is not faked by the doubles, and the test names it: UPSTREAM_ONLY lists
the panel targets whose data comes from Tempo's metrics generator, with the reason, and the test asserts that
exactly those come back empty, so the list cannot rot. DOUBLE_CANNOT_RUN lists the variable queries a double
refuses (its query language subset lacks a function the query uses), with the reason.

Everything the test creates is named ``gsttest-pd-*`` and labelled ``data2ai.grafana_stack.test=1`` (the demo
image it builds is ``gsttest-pd-demo-workload:local``); cleanup removes exactly that, before and after.
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from stack_testlib import (
    HOST_PORTS,
    LOCAL_TEST_IMAGES,
    LOCAL_TEST_VARS,
    ROOT,
    RolesStack,
    converge,
    docker,
    free_ports,
    free_subnet,
    health_wait_task,
    local_stack_vars,
    remove_labelled,
    require_images,
    roles_play,
    wait_for,
    write_local_inventory,
)

PREFIX = "gsttest-pd-"
DEMO_IMAGE = f"{PREFIX}demo-workload:local"
ADMIN_PASSWORD = "gsttest-pd-admin-7d41"
ROLES = ["postgresql", "redis", "influxdb", "prometheus", "loki", "tempo", "node_exporter", "cadvisor", "promtail",
         "grafana", "demo"]
DASHBOARD_DIR = ROOT / "roles" / "grafana" / "files" / "dashboards"
DASHBOARDS = ("host.json", "containers.json", "logs.json", "traces.json", "influxdb-flux.json")
SCRAPE_INTERVAL_S = 5
POINTS = 1000
DATA_TIMEOUT = 150.0

# Panel targets whose data only the real upstream produces: the Tempo double has no metrics generator (the
# service-graphs and span-metrics processors, which remote-write traces_service_graph_* and traces_spanmetrics_*
# into Prometheus), so these stay empty here and are not faked.
METRICS_GENERATOR = "Tempo's metrics generator (service graphs, span metrics) runs only in the real Tempo"
UPSTREAM_ONLY = {
    "traces / Service map (Tempo) (panel 2) / A": METRICS_GENERATOR,
    "traces / Requests between services (panel 3) / A": METRICS_GENERATOR,
    "traces / Failed requests between services (panel 4) / A": METRICS_GENERATOR,
    "traces / Server latency p95 (service graph) (panel 5) / A": METRICS_GENERATOR,
    "traces / Calls per service (panel 7) / A": METRICS_GENERATOR,
    "traces / Error ratio per service (panel 8) / A": METRICS_GENERATOR,
    "traces / Latency p95 per service (panel 9) / A": METRICS_GENERATOR,
    "traces / variable service": METRICS_GENERATOR,
}
# Variable queries a double refuses: its query language is a subset, and the query needs what it lacks. The
# panels still run, with the variable's saved value.
DOUBLE_CANNOT_RUN = {
    "influxdb-flux / variable bucket":
        "the InfluxDB double's Flux subset (tests/doubles/influxdb/flux.py) has no filter() on buckets(), rename() "
        "or keep()",
    "influxdb-flux / variable measurement":
        "the InfluxDB double's Flux subset (tests/doubles/influxdb/flux.py) has no import nor the schema package",
}

pytestmark = pytest.mark.docker


# --------------------------------------------------------------------------- the stack


@dataclass(frozen=True)
class DashboardStack(RolesStack):
    """The components the five dashboards read, the demo workload filling them, and Grafana (the double)."""

    def grafana(self, method: str, path: str, body: bytes | None = None,
                content_type: str = "application/json") -> tuple[int, str]:
        """A request to Grafana's API as its admin; (status, body), 0 when nothing answers."""
        pair = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
        headers = {"Authorization": f"Basic {pair}"}
        if body is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.url("grafana_host_port", path), data=body, headers=headers,
                                         method=method)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=30) as answer:
                return answer.status, answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as exc:
            return 0, str(exc)


def write_dashboards_play(workdir: Path, ports: dict[str, int]) -> None:
    host = {
        **local_stack_vars(workdir, PREFIX, free_subnet("10.229", range(0, 256))),
        **LOCAL_TEST_VARS,  # inventories/local-test-images: the local images, cadvisor_privileged, ...
        **ports,
        "stack_bind_address": "127.0.0.1",
        "grafana_admin_password": ADMIN_PASSWORD,
        "demo_enabled": True,
        "demo_image": DEMO_IMAGE,
        "demo_requests_per_second": 5,
        "demo_influxdb_interval": 2,
        "prometheus_scrape_interval": f"{SCRAPE_INTERVAL_S}s",
        "prometheus_scrape_timeout": f"{SCRAPE_INTERVAL_S}s",
        "prometheus_alertmanager_targets": [],
    }
    write_local_inventory(workdir, host)
    play = roles_play("The dashboards' components, the demo workload and Grafana", list(LOCAL_TEST_IMAGES.values()),
                      ROLES)
    play[0]["tasks"].append(health_wait_task(ROLES, 180))
    (workdir / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardStack]:
    if docker("version").returncode != 0:
        pytest.fail("the Docker engine does not answer docker version")
    require_images(*LOCAL_TEST_IMAGES.values())
    workdir = tmp_path_factory.mktemp("dashboards-have-data")
    built = DashboardStack(workdir, free_ports(HOST_PORTS))
    remove_labelled(PREFIX)
    docker("image", "rm", "-f", DEMO_IMAGE)
    try:
        write_dashboards_play(workdir, built.ports)
        converge(workdir)
        yield built
    finally:
        remove_labelled(PREFIX)
        docker("image", "rm", "-f", DEMO_IMAGE)


# --------------------------------------------------------------------------- dashboards, variables, macros


@dataclass
class Target:
    """One query of a panel (or of a variable), named ``dashboard / title (panel id) / refId`` (or ``dashboard /
    variable name``): two panels may share a title."""

    name: str
    datasource: dict[str, Any]
    query: dict[str, Any]
    variables: dict[str, str] = field(default_factory=dict)
    range_s: int = 3600


def panels_of(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, the panels of collapsed rows included."""
    for panel in panels:
        yield panel
        yield from panels_of(panel.get("panels") or [])


def parse_range_s(time_range: dict[str, str]) -> int:
    match = re.fullmatch(r"now-(\d+)([smhd])", time_range.get("from", "now-1h"))
    assert match and time_range.get("to", "now") == "now", time_range
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def resolve_datasource_variable(variable: dict[str, Any], datasources: list[dict[str, Any]]) -> str:
    """The uid a datasource variable stands for (the rule in the module's docstring)."""
    options = [ds for ds in datasources if ds["type"] == variable["query"]]
    assert options, f"no datasource of type {variable['query']} for variable {variable['name']}"
    current = (variable.get("current") or {}).get("value")
    for ds in options:
        if current in (ds["uid"], ds["name"]):
            return ds["uid"]
    return next((ds["uid"] for ds in options if ds.get("isDefault")), options[0]["uid"])


def resolve_variables(dashboard: dict[str, Any], datasources: list[dict[str, Any]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        current = (variable.get("current") or {}).get("value")
        if variable["type"] == "datasource":
            values[variable["name"]] = resolve_datasource_variable(variable, datasources)
        elif current in ("$__all", ["$__all"]) and variable.get("allValue") is not None:
            values[variable["name"]] = variable["allValue"]
        else:
            assert current is not None, f"variable {variable['name']} has no saved value and no All"
            values[variable["name"]] = current[0] if isinstance(current, list) else str(current)
    return values


def interpolate(text: str, values: dict[str, str]) -> str:
    """``$name``, ``${name}`` and ``${name:format}`` replaced by the variable's value (longest names first)."""
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values[name] if name in values else match.group(0)
    return re.sub(r"\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\$([A-Za-z0-9_]+)", replace, text)


def intervals(range_s: int, min_interval_s: int) -> dict[str, str]:
    interval = max(min_interval_s, math.ceil(range_s / POINTS))
    rate_interval = max(interval + SCRAPE_INTERVAL_S, 4 * SCRAPE_INTERVAL_S)
    return {"__interval": f"{interval}s", "__rate_interval": f"{rate_interval}s", "__range": f"{range_s}s",
            "__interval_s": str(interval)}


def dashboard_targets(file_name: str, datasources: list[dict[str, Any]]) -> list[Target]:
    dashboard = json.loads((DASHBOARD_DIR / file_name).read_text())
    short = file_name.removesuffix(".json")
    values = resolve_variables(dashboard, datasources)
    range_s = parse_range_s(dashboard.get("time") or {})
    targets = []
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable["type"] == "query":
            targets.append(Target(f"{short} / variable {variable['name']}", variable["datasource"],
                                  {"variableQuery": variable["query"]}, values, range_s))
    for panel in panels_of(dashboard.get("panels") or []):
        for target in panel.get("targets") or []:
            datasource = target.get("datasource") or panel.get("datasource")
            assert datasource, f"{short} / {panel['title']} / {target.get('refId')}: no datasource"
            targets.append(Target(f"{short} / {panel['title']} (panel {panel['id']}) / {target.get('refId', 'A')}",
                                  datasource, target, values, range_s))
    return targets


# --------------------------------------------------------------------------- one query through Grafana


@dataclass(frozen=True)
class Outcome:
    has_data: bool
    detail: str


class Runner:
    """Sends each target's query to Grafana as its frontend would for the datasource's type."""

    def __init__(self, stack: DashboardStack, datasources: list[dict[str, Any]]) -> None:
        self.stack = stack
        self.by_uid = {ds["uid"]: ds for ds in datasources}

    def run(self, target: Target) -> Outcome:
        uid = interpolate(str(target.datasource.get("uid", "")), target.variables)
        ds = self.by_uid.get(uid)
        if ds is None:
            return Outcome(False, f"no datasource with uid {uid!r}")
        method = getattr(self, f"_{ds['type']}", None)
        if method is None:
            return Outcome(False, f"no rule for datasource type {ds['type']}")
        return method(ds, target)

    def _proxy(self, ds: dict[str, Any], method: str, path: str, form: dict[str, str] | None = None,
               params: dict[str, str] | None = None) -> tuple[int, Any, str]:
        route = f"/api/datasources/proxy/uid/{ds['uid']}{path}"
        if params:
            route += "?" + urllib.parse.urlencode(params)
        body = urllib.parse.urlencode(form).encode() if form is not None else None
        status, text = self.stack.grafana(method, route, body, "application/x-www-form-urlencoded")
        try:
            return status, json.loads(text), text
        except ValueError:
            return status, None, text

    def _prometheus_query(self, ds: dict[str, Any], expr: str, instant: bool, range_s: int) -> Outcome:
        now = time.time()
        step = intervals(range_s, self._min_interval(ds))["__interval_s"]
        if instant:
            status, answer, text = self._proxy(ds, "GET", "/api/v1/query", params={
                "query": expr, "time": f"{now:.3f}"})
        else:
            status, answer, text = self._proxy(ds, "GET", "/api/v1/query_range", params={
                "query": expr, "start": f"{now - range_s:.3f}", "end": f"{now:.3f}", "step": step})
        result = (answer or {}).get("data", {}).get("result") if status == 200 else None
        return Outcome(bool(result), f"{status} {text[:200]}" if not result else f"{len(result)} series")

    @staticmethod
    def _min_interval(ds: dict[str, Any]) -> int:
        raw = str((ds.get("jsonData") or {}).get("timeInterval") or "1s")
        match = re.fullmatch(r"(\d+)s", raw)
        return int(match.group(1)) if match else 1

    def _prometheus(self, ds: dict[str, Any], target: Target) -> Outcome:
        if "variableQuery" in target.query:
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", target.query["variableQuery"].strip())
            assert match, target.query
            now = time.time()
            status, answer, text = self._proxy(ds, "GET", f"/api/v1/label/{match.group(2)}/values", params={
                "match[]": interpolate(match.group(1), target.variables), "start": f"{now - target.range_s:.0f}",
                "end": f"{now:.0f}"})
            values = (answer or {}).get("data") if status == 200 else None
            return Outcome(bool(values), f"{status} {text[:200]}")
        macros = intervals(target.range_s, self._min_interval(ds))
        expr = interpolate(target.query["expr"], {**target.variables, **macros})
        instant = bool(target.query.get("instant")) and not target.query.get("range")
        return self._prometheus_query(ds, expr, instant, target.range_s)

    def _loki(self, ds: dict[str, Any], target: Target) -> Outcome:
        now_ns = time.time_ns()
        start_ns = now_ns - target.range_s * 10**9
        if "variableQuery" in target.query:
            match = re.fullmatch(r"label_values\((\w+)\)", target.query["variableQuery"].strip())
            assert match, target.query
            status, answer, text = self._proxy(ds, "GET", f"/loki/api/v1/label/{match.group(1)}/values",
                                               params={"start": str(start_ns), "end": str(now_ns)})
            return Outcome(status == 200 and bool((answer or {}).get("data")), f"{status} {text[:200]}")
        macros = intervals(target.range_s, 1)
        instant = target.query.get("queryType") == "instant"
        macros["__auto"] = macros["__range"] if instant else macros["__interval"]
        expr = interpolate(target.query["expr"], {**target.variables, **macros})
        max_lines = str((ds.get("jsonData") or {}).get("maxLines") or 1000)
        status, answer, text = self._proxy(ds, "GET", "/loki/api/v1/query_range", params={
            "query": expr, "start": str(start_ns), "end": str(now_ns), "step": macros["__interval"],
            "limit": max_lines, "direction": "backward"})
        result = (answer or {}).get("data", {}).get("result") if status == 200 else None
        return Outcome(bool(result), f"{status} {text[:200]}" if not result else f"{len(result)} series/streams")

    def _tempo(self, ds: dict[str, Any], target: Target) -> Outcome:
        if target.query.get("queryType") == "serviceMap":
            prometheus = self.by_uid[ds["jsonData"]["serviceMap"]["datasourceUid"]]
            return self._prometheus_query(
                prometheus, f"sum by (client, server) (rate(traces_service_graph_request_total[{target.range_s}s]))",
                True, target.range_s)
        assert target.query.get("queryType") == "traceql", target.query
        now = int(time.time())
        status, answer, text = self._proxy(ds, "GET", "/api/search", params={
            "q": interpolate(target.query["query"], target.variables), "limit": str(target.query.get("limit", 20)),
            "start": str(now - target.range_s), "end": str(now)})
        traces = (answer or {}).get("traces") if status == 200 else None
        if not traces:
            return Outcome(False, f"search: {status} {text[:200]}")
        status, answer, text = self._proxy(ds, "GET", f"/api/v2/traces/{traces[0]['traceID']}")
        batches = ((answer or {}).get("trace") or {}).get("batches") if status == 200 else None
        return Outcome(bool(batches), f"trace {traces[0]['traceID']}: {status} {text[:200]}")

    def _influxdb(self, ds: dict[str, Any], target: Target) -> Outcome:
        query = target.query.get("variableQuery") or target.query["query"]
        body = {"from": f"now-{target.range_s}s", "to": "now", "queries": [{
            "refId": target.query.get("refId", "A"), "datasource": {"type": "influxdb", "uid": ds["uid"]},
            "query": interpolate(query, target.variables), "intervalMs": 1000 * int(
                intervals(target.range_s, 1)["__interval_s"]), "maxDataPoints": POINTS}]}
        status, text = self.stack.grafana("POST", "/api/ds/query", json.dumps(body).encode())
        try:
            result = json.loads(text)["results"][body["queries"][0]["refId"]]
        except (ValueError, KeyError):
            return Outcome(False, f"{status} {text[:200]}")
        frames = result.get("frames") or []
        rows = sum(len((frame.get("data") or {}).get("values", [[]])[0]) for frame in frames)
        return Outcome(status == 200 and rows > 0, f"{status} {text[:200]}" if not rows else f"{rows} rows")


# --------------------------------------------------------------------------- the test


def test_every_panel_of_the_five_dashboards_returns_data_through_grafana(stack: DashboardStack) -> None:
    status, text = stack.grafana("GET", "/api/datasources")
    assert status == 200, text
    datasources = json.loads(text)
    targets = [target for name in DASHBOARDS for target in dashboard_targets(name, datasources)]
    names = [target.name for target in targets]
    assert len(names) == len(set(names)), "two targets with the same name"
    assert set(UPSTREAM_ONLY) | set(DOUBLE_CANNOT_RUN) <= set(names), "a listed target is not in the dashboards"
    runner = Runner(stack, datasources)
    outcomes: dict[str, Outcome] = {}
    expected_empty = set(UPSTREAM_ONLY) | set(DOUBLE_CANNOT_RUN)

    def all_filled() -> bool:
        outcomes.update({target.name: runner.run(target) for target in targets
                         if not outcomes.get(target.name, Outcome(False, "")).has_data})
        return {name for name, outcome in outcomes.items() if not outcome.has_data} <= expected_empty

    def report() -> str:
        return "\n".join(f"  {name}: {outcomes[name].detail}" for name in names
                         if not outcomes[name].has_data and name not in expected_empty)

    wait_for("data in every panel target", all_filled, DATA_TIMEOUT, report)
    # The listed ones are empty, all of them: none is faked, and a list entry that gets data must go.
    filled_but_listed = sorted(name for name in expected_empty if outcomes[name].has_data)
    assert not filled_but_listed, f"listed as impossible with the doubles, yet they have data: {filled_but_listed}"
