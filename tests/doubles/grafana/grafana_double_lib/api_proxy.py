"""Data source proxy and /api/ds/query: really forwards over HTTP to the datasource's url.

Nothing is faked here: a query through the double reaches the real Prometheus (or Loki, ...) of
the stack under test, so an end-to-end check through Grafana's API proves the data flow.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .common import as_int
from .web import ApiError, Request, Response, error

if TYPE_CHECKING:
    from .app import App

PROXY_TIMEOUT = 30.0
FORWARDED_REQUEST_HEADERS = ("Content-Type", "Accept", "Accept-Encoding-Disabled")
FORWARDED_RESPONSE_HEADERS = ("Content-Type",)
RELATIVE_TIME_RE = re.compile(r"^now(?:-(\d+)([smhdw]))?$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def register(app: App) -> None:
    api = ProxyApi(app)
    add = app.router.add
    for method in ("GET", "POST", "DELETE"):
        add(
            method,
            "/api/datasources/proxy/uid/{uid}/{route*}",
            api.proxy_by_uid,
            "Viewer",
            "datasources:query",
            locked=False,
        )
        if app.major < 13:  # numeric-id proxy: behind datasourceLegacyIdApi in Grafana 13, off by default
            add(method, "/api/datasources/proxy/{id}/{route*}", api.proxy_by_id, "Viewer", "datasources:query",
                locked=False)
    add("POST", "/api/ds/query", api.query, "Viewer", "datasources:query", locked=False)


def upstream_headers(ds: dict[str, Any]) -> dict[str, str]:
    """Credentials and custom headers Grafana adds from the datasource settings."""
    headers: dict[str, str] = {}
    if ds["basic_auth"]:
        secret = ds["secure"].get("basicAuthPassword", "")
        pair = f"{ds['basic_auth_user']}:{secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    json_data = ds["json_data"] or {}
    index = 1
    while f"httpHeaderName{index}" in json_data:
        name = str(json_data[f"httpHeaderName{index}"])
        headers[name] = str(ds["secure"].get(f"httpHeaderValue{index}", ""))
        index += 1
    return headers


def parse_time(raw: Any, now: float) -> float:
    """Epoch seconds from Grafana's time strings: epoch milliseconds, 'now' or 'now-5m'."""
    text = str(raw or "now").strip()
    if text.isdigit():
        return int(text) / 1000.0
    relative = RELATIVE_TIME_RE.match(text)
    if not relative:
        raise error(400, f"invalid time range: {text}")
    if relative.group(1) is None:
        return now
    return now - int(relative.group(1)) * UNIT_SECONDS[relative.group(2)]


class ProxyApi:
    def __init__(self, app: App) -> None:
        self.app = app
        self.store = app.store

    def _datasource(self, org_id: int, **match: Any) -> dict[str, Any]:
        with self.store.lock:
            ds = self.store.find("datasources", org_id=org_id, **match)
            if ds is None:
                raise error(404, "Unable to find datasource")
            return json.loads(json.dumps(ds))  # a private copy, used outside the lock

    def proxy_by_uid(self, request: Request) -> Response:
        ds = self._datasource(request.org_id, uid=request.params["uid"])
        return self._forward(request, ds)

    def proxy_by_id(self, request: Request) -> Response:
        ds = self._datasource(request.org_id, id=as_int(request.params["id"], -1))
        return self._forward(request, ds)

    def _forward(self, request: Request, ds: dict[str, Any]) -> Response:
        if not ds["url"]:
            raise error(400, "Datasource has no URL")
        target = ds["url"].rstrip("/") + "/" + request.params["route"].lstrip("/")
        query = [(k, v) for k, v in request.query if k != "targetOrgId"]
        if query:
            target += "?" + urllib.parse.urlencode(query)
        headers = {name: request.header(name) or "" for name in FORWARDED_REQUEST_HEADERS if request.header(name)}
        headers.update(upstream_headers(ds))
        upstream = urllib.request.Request(target, data=request.body or None, method=request.method, headers=headers)
        try:
            with urllib.request.urlopen(upstream, timeout=PROXY_TIMEOUT) as reply:
                return self._passthrough(reply.status, reply.headers, reply.read())
        except urllib.error.HTTPError as exc:
            return self._passthrough(exc.code, exc.headers, exc.read())
        except (urllib.error.URLError, OSError) as exc:
            raise error(502, "Bad Gateway", error=str(exc)) from exc

    @staticmethod
    def _passthrough(status: int, headers: Any, body: bytes) -> Response:
        content_type = headers.get("Content-Type", "application/octet-stream")
        # Proxied bodies belong to the upstream service, not to Grafana's API: not validated.
        return Response(status, raw=body, content_type=content_type, passthrough=True)

    # -- /api/ds/query --

    def query(self, request: Request) -> Response:
        body = request.json()
        now = time.time()
        start = parse_time(body.get("from"), now)
        end = parse_time(body.get("to"), now)
        results: dict[str, Any] = {}
        failed = False
        for raw in body.get("queries") or []:
            ref_id = str(raw.get("refId") or "A")
            try:
                results[ref_id] = self._one_query(request, raw, ref_id, start, end)
            except ApiError as exc:
                failed = True
                text = exc.body.get("message") if isinstance(exc.body, dict) else str(exc)
                results[ref_id] = {"error": text, "errorSource": "downstream", "status": exc.status}
        return Response(207 if failed else 200, {"results": results})

    def _one_query(
        self, request: Request, raw: dict[str, Any], ref_id: str, start: float, end: float
    ) -> dict[str, Any]:
        ref = raw.get("datasource") or {}
        if isinstance(ref, dict) and ref.get("uid"):
            ds = self._datasource(request.org_id, uid=str(ref["uid"]))
        elif raw.get("datasourceId"):
            ds = self._datasource(request.org_id, id=as_int(raw["datasourceId"], -1))
        else:
            raise error(400, "query is missing a datasource")
        if ds["type"] == "influxdb" and (ds["json_data"] or {}).get("version") == "Flux":
            return {"status": 200, "frames": self._flux(ds, raw, ref_id, start, end)}
        if ds["type"] != "prometheus":
            raise error(
                400,
                f"double: /api/ds/query supports prometheus and influxdb (Flux) datasources only, "
                f"not {ds['type']}; use the datasource proxy",
            )
        return {"status": 200, "frames": self._prometheus(ds, raw, ref_id, start, end)}

    def _flux(
        self, ds: dict[str, Any], raw: dict[str, Any], ref_id: str, start: float, end: float
    ) -> list[dict[str, Any]]:
        """Grafana's Flux backend (pkg/tsdb/influxdb/flux, Grafana 13): the query's v.timeRangeStart,
        v.timeRangeStop, v.windowPeriod, v.defaultBucket and v.organization replaced as macros.go does, then
        POST <url>/api/v2/query?org=<organization> with the datasource's token, as influxdb-client-go's QueryAPI
        does. The frames are the annotated CSV's tables, one per table, its columns as fields (Grafana's
        converters.go also names and types the value fields; the double keeps the CSV's column names)."""
        json_data = ds["json_data"] or {}
        org = str(json_data.get("organization") or "")
        if not org:
            raise error(400, "missing organization in datasource configuration")
        flux = flux_macros(str(raw.get("query") or ""), start, end, as_int(raw.get("intervalMs"), 1000),
                           str(json_data.get("defaultBucket") or ""), org)
        url = ds["url"].rstrip("/") + "/api/v2/query?" + urllib.parse.urlencode({"org": org})
        headers = {"Content-Type": "application/json", "Accept": "application/csv"}
        token = ds["secure"].get("token", "")
        if token:
            headers["Authorization"] = f"Token {token}"
        body = json.dumps({"query": flux, "type": "flux",
                           "dialect": {"annotations": ["datatype", "group", "default"]}}).encode()
        upstream = urllib.request.Request(url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(upstream, timeout=PROXY_TIMEOUT) as reply:
                text = reply.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise error(exc.code, f"influxdb answered {exc.code}: {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise error(502, f"influxdb not reachable: {exc}") from exc
        return frames_from_flux_csv(text, ref_id, flux)

    def _prometheus(
        self, ds: dict[str, Any], raw: dict[str, Any], ref_id: str, start: float, end: float
    ) -> list[dict[str, Any]]:
        expr = str(raw.get("expr") or "")
        if not expr:
            raise error(400, "query expr is empty")
        base = ds["url"].rstrip("/")
        if raw.get("range") and not raw.get("instant"):
            step = max(
                as_int(raw.get("intervalMs"), 15000) / 1000.0,
                (end - start) / max(as_int(raw.get("maxDataPoints"), 1000), 1),
                1.0,
            )
            params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:.3f}"}
            url = f"{base}/api/v1/query_range?" + urllib.parse.urlencode(params)
        else:
            url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": f"{end:.3f}"})
        upstream = urllib.request.Request(url, headers=upstream_headers(ds))
        try:
            with urllib.request.urlopen(upstream, timeout=PROXY_TIMEOUT) as reply:
                payload = json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise error(exc.code, f"prometheus answered {exc.code}: {detail}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise error(502, f"prometheus not reachable: {exc}") from exc
        return frames_from_prometheus(payload, ref_id, expr)


def flux_macros(flux: str, start: float, end: float, interval_ms: int, default_bucket: str, org: str) -> str:
    """The Flux macros Grafana's backend replaces (pkg/tsdb/influxdb/flux/macros.go): the time range as RFC 3339,
    the interval as a Go duration string (whole seconds here), the default bucket and organization quoted."""
    def rfc3339(epoch: float) -> str:
        return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    seconds = max(interval_ms // 1000, 1)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    window = f"{hours}h{minutes}m{secs}s" if hours else f"{minutes}m{secs}s" if minutes else f"{secs}s"
    replacements = {"timeRangeStart": rfc3339(start), "timeRangeStop": rfc3339(end), "windowPeriod": window,
                    "defaultBucket": f'"{default_bucket}"', "organization": f'"{org}"'}
    return re.sub(r"\bv\.(timeRangeStart|timeRangeStop|windowPeriod|defaultBucket|organization)\b",
                  lambda match: replacements[match.group(1)], flux)


def frames_from_flux_csv(text: str, ref_id: str, flux: str) -> list[dict[str, Any]]:
    """One frame per table of InfluxDB's annotated CSV: blocks are separated by an empty line, each has its
    #datatype row, a header row, then rows whose third column is the table number."""
    frames: list[dict[str, Any]] = []
    for block in re.split(r"\r?\n\s*\r?\n", text.strip()):
        rows = list(csv.reader(io.StringIO(block)))
        datatypes = next((row for row in rows if row and row[0] == "#datatype"), [])
        data = [row for row in rows if row and not row[0].startswith("#")]
        if len(data) < 2:
            continue
        header, tables = data[0], {}
        for row in data[1:]:
            tables.setdefault(row[2], []).append(row)
        columns = [(i, name, datatypes[i] if i < len(datatypes) else "string")
                   for i, name in enumerate(header) if i > 2 and name]
        for table_rows in tables.values():
            fields, values = [], []
            for index, name, datatype in columns:
                kind = ("time" if datatype.startswith("dateTime") else
                        "number" if datatype in ("double", "long", "unsignedLong") else
                        "boolean" if datatype == "boolean" else "string")
                fields.append({"name": name, "type": kind})
                values.append([_flux_value(row[index] if index < len(row) else "", kind) for row in table_rows])
            frames.append({"schema": {"refId": ref_id, "meta": {"executedQueryString": flux}, "fields": fields},
                           "data": {"values": values}})
    return frames


def _flux_value(text: str, kind: str) -> Any:
    if text == "":
        return None
    if kind == "time":
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    if kind == "number":
        return float(text)
    if kind == "boolean":
        return text == "true"
    return text


def frames_from_prometheus(payload: dict[str, Any], ref_id: str, expr: str) -> list[dict]:
    """One data frame per series, shaped like Grafana's JSON frames (schema + values)."""
    data = payload.get("data") or {}
    frames = []
    series = data.get("result") or []
    if data.get("resultType") == "scalar":
        series = [{"metric": {}, "value": series}]
    for item in series:
        points = item.get("values") or ([item["value"]] if item.get("value") else [])
        labels = {k: str(v) for k, v in (item.get("metric") or {}).items()}
        frames.append(
            {
                "schema": {
                    "refId": ref_id,
                    "meta": {"type": "timeseries-multi", "typeVersion": [0, 1], "executedQueryString": f"Expr: {expr}"},
                    "fields": [
                        {"name": "Time", "type": "time", "typeInfo": {"frame": "time.Time"}},
                        {"name": "Value", "type": "number", "typeInfo": {"frame": "float64"}, "labels": labels},
                    ],
                },
                "data": {"values": [[int(float(p[0]) * 1000) for p in points], [float(p[1]) for p in points]]},
            }
        )
    return frames
