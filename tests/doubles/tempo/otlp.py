"""OTLP JSON helpers for the Tempo TEST DOUBLE: ingest (hex ids) and Tempo's JSON output (base64 ids)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

SPAN_KINDS = ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
              "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"]
STATUS_CODES = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"]
ZIPKIN_KINDS = {"SERVER": 2, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5}


class OTLPError(Exception):
    """A malformed OTLP/Zipkin payload: HTTP 400."""


def parse_id(value: Any, size: int, what: str) -> str:
    """OTLP JSON carries ids as hex; return normalised lowercase hex of ``size`` bytes."""
    if not isinstance(value, str) or not value:
        raise OTLPError(f"{what}: missing or not a string")
    try:
        raw = bytes.fromhex(value)
    except ValueError as exc:
        raise OTLPError(f"{what}: {value!r} is not hex (OTLP JSON encodes ids as hex strings)") from exc
    if len(raw) != size:
        raise OTLPError(f"{what}: invalid length for ID: {len(raw)} bytes, want {size}")
    if raw == bytes(size):
        raise OTLPError(f"{what}: all-zero ids are invalid")
    return raw.hex()


def trace_id_from_path(text: str) -> str:
    """Tempo accepts 1-32 hex digits in the URL and left-pads them with zeros."""
    if not 0 < len(text) <= 32:
        raise OTLPError(f"invalid trace id {text!r}")
    try:
        raw = bytes.fromhex(text.rjust(32, "0"))
    except ValueError as exc:
        raise OTLPError(f"invalid trace id {text!r}: {exc}") from exc
    return raw.hex()


def attr_value(value: dict[str, Any]) -> Any:
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [attr_value(v) for v in value["arrayValue"].get("values", [])]
    return None


def attrs(items: Any) -> dict[str, Any]:
    if not isinstance(items, list):
        return {}
    return {a.get("key"): attr_value(a.get("value") or {}) for a in items if isinstance(a, dict)}


def split_by_trace(body: Any) -> dict[str, list[dict[str, Any]]]:
    """ExportTraceServiceRequest (JSON) -> {trace id hex: [ResourceSpans holding only that trace's spans]}."""
    if not isinstance(body, dict):
        raise OTLPError("request body is not an ExportTraceServiceRequest object")
    out: dict[str, list[dict[str, Any]]] = {}
    for rs in body.get("resourceSpans") or []:
        per_trace: dict[str, dict[str, Any]] = {}
        for ss in (rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or []):
            scope = ss.get("scope") or ss.get("instrumentationLibrary") or {}
            for span in ss.get("spans") or []:
                clean = dict(span)
                trace_id = parse_id(span.get("traceId"), 16, "traceId")
                clean["traceId"] = trace_id
                clean["spanId"] = parse_id(span.get("spanId"), 8, "spanId")
                if span.get("parentSpanId"):
                    clean["parentSpanId"] = parse_id(span["parentSpanId"], 8, "parentSpanId")
                batch = per_trace.setdefault(trace_id, {"resource": rs.get("resource") or {}, "scopeSpans": []})
                scopes = batch["scopeSpans"]
                if not scopes or scopes[-1]["scope"] != scope:
                    scopes.append({"scope": scope, "spans": []})
                scopes[-1]["spans"].append(clean)
        for trace_id, batch in per_trace.items():
            out.setdefault(trace_id, []).append(batch)
    return out


def zipkin_to_otlp(spans: Any) -> dict[str, Any]:
    """Zipkin v2 JSON spans -> an OTLP JSON ExportTraceServiceRequest."""
    if not isinstance(spans, list):
        raise OTLPError("zipkin v2 body must be a JSON array of spans")
    by_service: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        service = (span.get("localEndpoint") or {}).get("serviceName") or "unknown"
        trace_hex = str(span.get("traceId", "")).rjust(32, "0")
        start_ns = int(span.get("timestamp", 0)) * 1000
        otlp_span = {
            "traceId": trace_hex, "spanId": span.get("id"), "name": span.get("name", ""),
            "kind": ZIPKIN_KINDS.get(str(span.get("kind", "")).upper(), 1),
            "startTimeUnixNano": str(start_ns), "endTimeUnixNano": str(start_ns + int(span.get("duration", 0)) * 1000),
            "attributes": [{"key": k, "value": {"stringValue": str(v)}} for k, v in (span.get("tags") or {}).items()],
        }
        if span.get("parentId"):
            otlp_span["parentSpanId"] = span["parentId"]
        by_service.setdefault(service, []).append(otlp_span)
    return {"resourceSpans": [
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": svc}}]},
         "scopeSpans": [{"scope": {"name": "zipkin"}, "spans": items}]}
        for svc, items in by_service.items()
    ]}


def _b64(hex_id: str) -> str:
    return base64.b64encode(binascii.unhexlify(hex_id)).decode()


def _enum(value: Any, names: list[str]) -> Any:
    if isinstance(value, int) and 0 <= value < len(names):
        return names[value]
    return value


def span_for_output(span: dict[str, Any]) -> dict[str, Any]:
    """Tempo marshals its protobuf with jsonpb: ids as base64, enums as names."""
    out = dict(span)
    for key in ("traceId", "spanId", "parentSpanId"):
        if out.get(key):
            out[key] = _b64(out[key])
    if "kind" in out:
        out["kind"] = _enum(out["kind"], SPAN_KINDS)
    status = dict(out.get("status") or {})
    if "code" in status:
        status["code"] = _enum(status["code"], STATUS_CODES)
    out["status"] = status
    return out


def batch_for_output(batch: dict[str, Any]) -> dict[str, Any]:
    return {"resource": batch.get("resource") or {},
            "scopeSpans": [{"scope": ss.get("scope") or {}, "spans": [span_for_output(s) for s in ss["spans"]]}
                           for ss in batch.get("scopeSpans", [])]}


def iter_spans(batches: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """[(resource attributes, span)] for every span of a trace."""
    return [(attrs((b.get("resource") or {}).get("attributes")), span)
            for b in batches for ss in b.get("scopeSpans", []) for span in ss.get("spans", [])]
