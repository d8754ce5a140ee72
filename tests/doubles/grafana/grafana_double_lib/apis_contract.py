"""A small contract for the Grafana 13 `/apis` dashboards and folders endpoints, which the 9.5 spec lacks.

Derived from Grafana's documentation (grafana/grafana docs/sources/developer-resources/api-reference/http-api/
apis.md, dashboard.md and folder.md: paths, the object envelope, metadata fields, the grafana.app/folder and
grafana.app/message annotations, 201 on create, the Status body of delete) and from the Kubernetes API conventions
Grafana's apiserver follows (k8s.io/apimachinery ObjectMeta, ListMeta and metav1.Status, whose failures carry
`reason` and `code`). Written for the double, not copied: only the fields the double serves or accepts.

Bodies are checked with jsonschema (already installed with openapi-core). Requests are strict about the envelope
(unknown top-level or metadata keys are refused) and leave the dashboard spec free, as Grafana's v1 dashboard
spec is unstructured JSON; the folder spec is `{title, description}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from jsonschema import Draft202012Validator

DASHBOARD_GROUP = "dashboard.grafana.app"
FOLDER_GROUP = "folder.grafana.app"
API_VERSION = "v1"

_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

_REQUEST_METADATA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "generateName": {"type": "string", "minLength": 1},
        "namespace": {"type": "string"},
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer"},
        "creationTimestamp": {"type": "string"},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
        "managedFields": {"type": "array"},
        "finalizers": {"type": "array", "items": {"type": "string"}},
    },
}

_RESPONSE_METADATA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "namespace": {"type": "string", "pattern": "^(default|org-[0-9]+)$"},
        "uid": {"type": "string", "minLength": 1},
        "resourceVersion": {"type": "string", "pattern": "^[0-9]+$"},
        "generation": {"type": "integer", "minimum": 1},
        "creationTimestamp": {"type": "string"},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
    },
}

_FOLDER_SPEC = {
    "type": "object",
    "additionalProperties": False,
    "required": ["title"],
    "properties": {"title": {"type": "string"}, "description": {"type": "string"}},
}


def _object(group: str, kind: str, metadata: dict[str, Any], spec: dict[str, Any], request: bool) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["metadata", "spec"] if request else ["kind", "apiVersion", "metadata", "spec"],
        "properties": {
            "kind": {"const": kind},
            "apiVersion": {"const": f"{group}/{API_VERSION}"},
            "metadata": metadata,
            "spec": spec,
            "status": {"type": "object"},
        },
    }
    return schema


def _list(group: str, kind: str, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["kind", "apiVersion", "metadata", "items"],
        "properties": {
            "kind": {"const": f"{kind}List"},
            "apiVersion": {"const": f"{group}/{API_VERSION}"},
            "metadata": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"resourceVersion": {"type": "string"}, "continue": {"type": "string"}},
            },
            "items": {"type": "array", "items": item},
        },
    }


STATUS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kind", "apiVersion", "metadata", "status"],
    "properties": {
        "kind": {"const": "Status"},
        "apiVersion": {"const": "v1"},
        "metadata": {"type": "object"},
        "status": {"enum": ["Success", "Failure"]},
        "message": {"type": "string"},
        "reason": {"type": "string"},
        "details": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string"},
                "group": {"type": "string"},
                "kind": {"type": "string"},
                "uid": {"type": "string"},
            },
        },
        "code": {"type": "integer"},
    },
}

DASHBOARD_REQUEST = _object(DASHBOARD_GROUP, "Dashboard", _REQUEST_METADATA, {"type": "object"}, request=True)
DASHBOARD = _object(DASHBOARD_GROUP, "Dashboard", _RESPONSE_METADATA, {"type": "object"}, request=False)
DASHBOARD_LIST = _list(DASHBOARD_GROUP, "Dashboard", DASHBOARD)
FOLDER_REQUEST = _object(FOLDER_GROUP, "Folder", _REQUEST_METADATA, _FOLDER_SPEC, request=True)
FOLDER = _object(FOLDER_GROUP, "Folder", _RESPONSE_METADATA, _FOLDER_SPEC, request=False)
FOLDER_LIST = _list(FOLDER_GROUP, "Folder", FOLDER)


@dataclass(frozen=True)
class Contract:
    """What one /apis operation accepts and answers; any status >= 400 answers a failure Status."""

    request: Mapping[str, Any] | None
    responses: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)

    def check_request(self, body: bytes) -> list[str]:
        if self.request is None:
            return [] if not body else ["this operation takes no body"]
        return _errors(self.request, body, "request")

    def check_response(self, status: int, body: bytes) -> list[str]:
        schema = STATUS if status >= 400 else self.responses.get(status)
        if schema is None:
            return [f"status {status} is not an answer of this operation"]
        errors = _errors(schema, body, "response")
        if status >= 400 and not errors and json.loads(body).get("code") != status:
            errors.append(f"response: Status.code is not {status}")
        return errors


def _errors(schema: Mapping[str, Any], body: bytes, what: str) -> list[str]:
    try:
        document = json.loads(body) if body else None
    except ValueError as exc:
        return [f"{what} body is not JSON: {exc}"]
    found = sorted(Draft202012Validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{what} body {'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in found]


CREATE_DASHBOARD = Contract(DASHBOARD_REQUEST, {201: DASHBOARD})
UPDATE_DASHBOARD = Contract(DASHBOARD_REQUEST, {200: DASHBOARD})
GET_DASHBOARD = Contract(None, {200: DASHBOARD})
LIST_DASHBOARDS = Contract(None, {200: DASHBOARD_LIST})
DELETE_OBJECT = Contract(None, {200: STATUS})
CREATE_FOLDER = Contract(FOLDER_REQUEST, {201: FOLDER})
UPDATE_FOLDER = Contract(FOLDER_REQUEST, {200: FOLDER})
GET_FOLDER = Contract(None, {200: FOLDER})
LIST_FOLDERS = Contract(None, {200: FOLDER_LIST})
