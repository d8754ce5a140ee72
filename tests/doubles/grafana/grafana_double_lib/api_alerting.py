"""Alerting provisioning API (pkg/services/ngalert/api/api_provisioning.go), per request org.

Provenance: a request carrying any X-Disable-Provenance header writes provenance "" (the resource
stays editable in the UI); without it the resource is stored with provenance "api". A change or
delete whose provenance differs from the stored one is refused with 409, unless nothing was stored.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from .auth import new_uid
from .state import now_iso
from .web import ApiError, Request, Response, error, errutil, message, ok

if TYPE_CHECKING:
    from .app import App

BASE = "/api/v1/provisioning"
PROVENANCE_API = "api"
PROVENANCE_NONE = ""
DEFAULT_RECEIVER = "grafana-default-email"
DEFAULT_GROUP_INTERVAL = 60
RULE_UID_RE = re.compile(r"^[a-zA-Z0-9\-_]{1,40}$")
REDACTED = "[REDACTED]"

# Settings Grafana stores encrypted and shows redacted, per integration type.
SECURE_SETTINGS: dict[str, tuple[str, ...]] = {
    "alertmanager": ("basicAuthPassword",),
    "discord": ("url",),
    "googlechat": ("url",),
    "kafka": ("password",),
    "line": ("token",),
    "opsgenie": ("apiKey",),
    "pagerduty": ("integrationKey",),
    "pushover": ("userKey", "apiToken"),
    "sensugo": ("apikey",),
    "slack": ("url", "token"),
    "teams": (),
    "telegram": ("bottoken",),
    "threema": ("api_secret",),
    "victorops": ("url",),
    "webhook": ("password", "authorization_credentials"),
    "wecom": ("url", "secret"),
}

# Settings an integration cannot work without, per type (the rest is optional).
REQUIRED_SETTINGS: dict[str, tuple[tuple[str, ...], ...]] = {
    "webhook": (("url",),),
    "email": (("addresses",),),
    "slack": (("url", "token"),),
    "pagerduty": (("integrationKey",),),
    "discord": (("url",),),
    "googlechat": (("url",),),
    "teams": (("url",),),
    "alertmanager": (("url",),),
}


def default_policy() -> dict[str, Any]:
    return {"receiver": DEFAULT_RECEIVER, "group_by": ["grafana_folder", "alertname"]}


def provenance_of(request: Request) -> str:
    # Any X-Disable-Provenance header counts, whatever its value (SEMANTICS.md section 11).
    return PROVENANCE_NONE if request.header("X-Disable-Provenance") is not None else PROVENANCE_API


def check_provenance(stored: str, wanted: str, operation: str) -> None:
    if stored and stored != wanted:
        raise errutil(
            409,
            "alerting.provenanceMismatch",
            f"cannot {operation} with provided provenance '{wanted}', needs '{stored}'",
        )


def empty_404() -> ApiError:
    return ApiError(404, None)


def register(app: App) -> None:
    api = AlertingApi(app)
    add = app.router.add
    add("GET", f"{BASE}/alert-rules", api.list_rules, "Admin", "alert.provisioning:read")
    add("POST", f"{BASE}/alert-rules", api.create_rule, "Admin", "alert.provisioning:write")
    add("GET", f"{BASE}/alert-rules/{{uid}}", api.get_rule, "Admin", "alert.provisioning:read")
    add("PUT", f"{BASE}/alert-rules/{{uid}}", api.update_rule, "Admin", "alert.provisioning:write")
    add("DELETE", f"{BASE}/alert-rules/{{uid}}", api.delete_rule, "Admin", "alert.provisioning:write")
    group = f"{BASE}/folder/{{folderUid}}/rule-groups/{{group}}"
    add("GET", group, api.get_group, "Admin", "alert.provisioning:read")
    add("PUT", group, api.put_group, "Admin", "alert.provisioning:write")
    add("DELETE", group, api.delete_group, "Admin", "alert.provisioning:write")
    add("GET", f"{BASE}/contact-points", api.list_contact_points, "Admin", "alert.provisioning:read")
    add("POST", f"{BASE}/contact-points", api.create_contact_point, "Admin", "alert.provisioning:write")
    add("PUT", f"{BASE}/contact-points/{{uid}}", api.update_contact_point, "Admin", "alert.provisioning:write")
    add("DELETE", f"{BASE}/contact-points/{{uid}}", api.delete_contact_point, "Admin", "alert.provisioning:write")
    add("GET", f"{BASE}/policies", api.get_policies, "Admin", "alert.provisioning:read")
    add("PUT", f"{BASE}/policies", api.put_policies, "Admin", "alert.provisioning:write")
    add("DELETE", f"{BASE}/policies", api.reset_policies, "Admin", "alert.provisioning:write")
    add("GET", f"{BASE}/mute-timings", api.list_mute_timings, "Admin", "alert.provisioning:read")
    add("POST", f"{BASE}/mute-timings", api.create_mute_timing, "Admin", "alert.provisioning:write")
    add("GET", f"{BASE}/mute-timings/{{name}}", api.get_mute_timing, "Admin", "alert.provisioning:read")
    add("PUT", f"{BASE}/mute-timings/{{name}}", api.update_mute_timing, "Admin", "alert.provisioning:write")
    add("DELETE", f"{BASE}/mute-timings/{{name}}", api.delete_mute_timing, "Admin", "alert.provisioning:write")
    add("GET", f"{BASE}/templates", api.list_templates, "Admin", "alert.provisioning:read")
    add("GET", f"{BASE}/templates/{{name}}", api.get_template, "Admin", "alert.provisioning:read")
    add("PUT", f"{BASE}/templates/{{name}}", api.put_template, "Admin", "alert.provisioning:write")
    add("DELETE", f"{BASE}/templates/{{name}}", api.delete_template, "Admin", "alert.provisioning:write")


class AlertingApi:
    def __init__(self, app: App) -> None:
        self.app = app
        self.store = app.store

    # ---------------------------------------------------------------- org defaults

    def ensure_defaults(self, org_id: int) -> None:
        """Every org starts with the default email contact point and root policy."""
        policies = self.store.data["policies"]
        if str(org_id) in policies:
            return
        policies[str(org_id)] = {"tree": default_policy(), "provenance": PROVENANCE_NONE}
        self.store.items("contact_points").append(
            {
                "org_id": org_id,
                "uid": new_uid(),
                "name": DEFAULT_RECEIVER,
                "type": "email",
                "settings": {"addresses": "<example@email.com>"},
                "disableResolveMessage": False,
                "provenance": PROVENANCE_NONE,
            }
        )
        self.store.dirty = True

    # ---------------------------------------------------------------- alert rules

    def _rules(self, org_id: int) -> list[dict[str, Any]]:
        return list(self.store.where("alert_rules", org_id=org_id))

    def _rule(self, org_id: int, uid: str) -> dict[str, Any] | None:
        return self.store.find("alert_rules", org_id=org_id, uid=uid)

    def rule_dto(self, rule: dict[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(rule["body"])
        body.update(
            id=rule["id"],
            uid=rule["uid"],
            orgID=rule["org_id"],
            folderUID=rule["folder_uid"],
            ruleGroup=rule["rule_group"],
            provenance=rule["provenance"],
            updated=rule["updated"],
        )
        return body

    def _validate_rule(self, org_id: int, body: dict[str, Any]) -> None:
        if not str(body.get("title") or "").strip():
            raise error(400, "invalid alert rule: title is empty")
        folder_uid = str(body.get("folderUID") or "")
        if self.store.find("folders", org_id=org_id, uid=folder_uid) is None:
            raise error(400, f"invalid alert rule: folder '{folder_uid}' does not exist")
        ref_ids = [str(q.get("refId") or "") for q in body.get("data") or []]
        if not ref_ids:
            raise error(400, "invalid alert rule: no queries or expressions are found")
        if body.get("condition") not in ref_ids:
            raise error(
                400, f"invalid alert rule: condition {body.get('condition')} does not exist, must be one of {ref_ids}"
            )

    def _store_rule(
        self, org_id: int, body: dict[str, Any], provenance: str, existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        self._validate_rule(org_id, body)
        kept = {
            k: v
            for k, v in body.items()
            if k not in ("id", "uid", "orgID", "folderUID", "ruleGroup", "provenance", "updated")
        }
        folder_uid = str(body["folderUID"])
        group = str(body["ruleGroup"])
        key = f"{org_id}/{folder_uid}/{group}"
        self.store.data["rule_groups"].setdefault(key, {"interval": DEFAULT_GROUP_INTERVAL})
        if existing is None:
            uid = str(body.get("uid") or new_uid())
            if not RULE_UID_RE.match(uid):
                raise error(
                    400,
                    f"invalid alert rule: cannot create rule with UID '{uid}': "
                    "UID must contain only letters, digits, - and _",
                )
            if self._rule(org_id, uid) is not None:
                raise error(400, f"failed to create alert rule: a rule with UID '{uid}' already exists")
            existing = {"id": self.store.next_id("alert_rule"), "uid": uid, "org_id": org_id}
            self.store.items("alert_rules").append(existing)
        existing.update(folder_uid=folder_uid, rule_group=group, provenance=provenance, body=kept, updated=now_iso())
        return existing

    def list_rules(self, request: Request) -> Response:
        return ok([self.rule_dto(r) for r in self._rules(request.org_id)])

    def get_rule(self, request: Request) -> Response:
        rule = self._rule(request.org_id, request.params["uid"])
        if rule is None:
            raise empty_404()
        return ok(self.rule_dto(rule))

    def create_rule(self, request: Request) -> Response:
        body = request.json()
        rule = self._store_rule(request.org_id, body, provenance_of(request), None)
        return Response(201, self.rule_dto(rule))

    def update_rule(self, request: Request) -> Response:
        rule = self._rule(request.org_id, request.params["uid"])
        if rule is None:
            raise empty_404()
        provenance = provenance_of(request)
        check_provenance(rule["provenance"], provenance, "update")
        self._store_rule(request.org_id, request.json(), provenance, rule)
        return ok(self.rule_dto(rule))

    def delete_rule(self, request: Request) -> Response:
        rule = self._rule(request.org_id, request.params["uid"])
        if rule is not None:
            check_provenance(rule["provenance"], provenance_of(request), "delete")
            self.store.remove("alert_rules", rule)
        return Response(204)

    # ---------------------------------------------------------------- rule groups

    def _group_rules(self, org_id: int, folder_uid: str, group: str) -> list[dict[str, Any]]:
        return [r for r in self._rules(org_id) if r["folder_uid"] == folder_uid and r["rule_group"] == group]

    def _group_dto(self, org_id: int, folder_uid: str, group: str) -> dict[str, Any]:
        key = f"{org_id}/{folder_uid}/{group}"
        interval = self.store.data["rule_groups"].get(key, {}).get("interval", DEFAULT_GROUP_INTERVAL)
        return {
            "title": group,
            "folderUid": folder_uid,
            "interval": interval,
            "rules": [self.rule_dto(r) for r in self._group_rules(org_id, folder_uid, group)],
        }

    def get_group(self, request: Request) -> Response:
        folder_uid, group = request.params["folderUid"], request.params["group"]
        if not self._group_rules(request.org_id, folder_uid, group):
            raise empty_404()
        return ok(self._group_dto(request.org_id, folder_uid, group))

    def put_group(self, request: Request) -> Response:
        org_id = request.org_id
        folder_uid, group = request.params["folderUid"], request.params["group"]
        body = request.json()
        interval = int(body.get("interval") or 0)
        if interval <= 0 or interval % 10:
            raise error(400, "invalid rule group: interval must be a positive multiple of 10s")
        if self.store.find("folders", org_id=org_id, uid=folder_uid) is None:
            raise error(400, f"invalid rule group: folder '{folder_uid}' does not exist")
        provenance = provenance_of(request)
        current = {r["uid"]: r for r in self._group_rules(org_id, folder_uid, group)}
        incoming = [dict(r, folderUID=folder_uid, ruleGroup=group) for r in body.get("rules") or []]
        for rule_body in incoming:
            existing = self._rule(org_id, str(rule_body.get("uid") or ""))
            if existing is not None:
                check_provenance(existing["provenance"], provenance, "update")
        for uid, rule in current.items():
            if uid not in {str(r.get("uid") or "") for r in incoming}:
                check_provenance(rule["provenance"], provenance, "delete")
        for rule_body in incoming:
            self._validate_rule(org_id, rule_body)
        for uid, rule in current.items():
            if uid not in {str(r.get("uid") or "") for r in incoming}:
                self.store.remove("alert_rules", rule)
        for rule_body in incoming:
            existing = self._rule(org_id, str(rule_body.get("uid") or ""))
            self._store_rule(org_id, rule_body, provenance, existing)
        self.store.data["rule_groups"][f"{org_id}/{folder_uid}/{group}"] = {"interval": interval}
        return ok(self._group_dto(org_id, folder_uid, group))

    def delete_group(self, request: Request) -> Response:
        org_id = request.org_id
        folder_uid, group = request.params["folderUid"], request.params["group"]
        rules = self._group_rules(org_id, folder_uid, group)
        if not rules:
            raise errutil(404, "alerting.rule-group-not-found", "rule group not found")
        provenance = provenance_of(request)
        for rule in rules:
            check_provenance(rule["provenance"], provenance, "delete")
        for rule in rules:
            self.store.remove("alert_rules", rule)
        self.store.data["rule_groups"].pop(f"{org_id}/{folder_uid}/{group}", None)
        return Response(204)

    # ---------------------------------------------------------------- contact points

    def _contact_points(self, org_id: int) -> list[dict[str, Any]]:
        self.ensure_defaults(org_id)
        return sorted(self.store.where("contact_points", org_id=org_id), key=lambda c: (c["name"].lower(), c["uid"]))

    @staticmethod
    def contact_point_dto(cp: dict[str, Any], decrypt: bool) -> dict[str, Any]:
        settings = copy.deepcopy(cp["settings"])
        if not decrypt:
            for key in SECURE_SETTINGS.get(cp["type"], ()):
                if settings.get(key):
                    settings[key] = REDACTED
        return {
            "uid": cp["uid"],
            "name": cp["name"],
            "type": cp["type"],
            "settings": settings,
            "disableResolveMessage": cp["disableResolveMessage"],
            "provenance": cp["provenance"],
        }

    @staticmethod
    def _validate_contact_point(body: dict[str, Any]) -> None:
        if not str(body.get("name") or "").strip():
            raise error(400, "invalid object specification: name is required")
        settings = body.get("settings") or {}
        for alternatives in REQUIRED_SETTINGS.get(str(body.get("type")), ()):
            if not any(settings.get(key) for key in alternatives):
                raise error(
                    400,
                    f"invalid object specification: failed to validate integration "
                    f"'{body.get('name')}' (type {body.get('type')}): could not find "
                    f"{' or '.join(alternatives)} property in settings",
                )

    def list_contact_points(self, request: Request) -> Response:
        name = request.arg("name")
        decrypt = (request.arg("decrypt") or "").lower() == "true"
        points = [c for c in self._contact_points(request.org_id) if not name or c["name"] == name]
        return ok([self.contact_point_dto(c, decrypt) for c in points])

    def create_contact_point(self, request: Request) -> Response:
        org_id = request.org_id
        self.ensure_defaults(org_id)
        body = request.json()
        self._validate_contact_point(body)
        uid = str(body.get("uid") or new_uid())
        if self.store.find("contact_points", org_id=org_id, uid=uid):
            raise error(400, f"contact point with uid '{uid}' already exists")
        cp = {
            "org_id": org_id,
            "uid": uid,
            "name": str(body["name"]),
            "type": str(body["type"]),
            "settings": copy.deepcopy(body.get("settings") or {}),
            "disableResolveMessage": bool(body.get("disableResolveMessage")),
            "provenance": provenance_of(request),
        }
        self.store.items("contact_points").append(cp)
        return Response(202, self.contact_point_dto(cp, decrypt=False))

    def update_contact_point(self, request: Request) -> Response:
        org_id = request.org_id
        self.ensure_defaults(org_id)
        cp = self.store.find("contact_points", org_id=org_id, uid=request.params["uid"])
        if cp is None:
            raise errutil(404, "alerting.notifications.contact-points.notFound", "contact point not found")
        body = request.json()
        self._validate_contact_point(body)
        provenance = provenance_of(request)
        check_provenance(cp["provenance"], provenance, "update")
        settings = copy.deepcopy(body.get("settings") or {})
        for key in SECURE_SETTINGS.get(str(body["type"]), ()):
            # Omitted or redacted secure settings keep the stored value.
            if settings.get(key) in (None, REDACTED) and cp["settings"].get(key):
                settings[key] = cp["settings"][key]
        old_name = cp["name"]
        cp.update(
            name=str(body["name"]),
            type=str(body["type"]),
            settings=settings,
            disableResolveMessage=bool(body.get("disableResolveMessage")),
            provenance=provenance,
        )
        if old_name != cp["name"] and not any(self.store.where("contact_points", org_id=org_id, name=old_name)):
            self._rename_receiver(org_id, old_name, cp["name"])
        return message("contactpoint updated", code=202)

    def _rename_receiver(self, org_id: int, old: str, new: str) -> None:
        def walk(route: dict[str, Any]) -> None:
            if route.get("receiver") == old:
                route["receiver"] = new
            for child in route.get("routes") or []:
                walk(child)

        walk(self.store.data["policies"][str(org_id)]["tree"])

    def delete_contact_point(self, request: Request) -> Response:
        org_id = request.org_id
        self.ensure_defaults(org_id)
        cp = self.store.find("contact_points", org_id=org_id, uid=request.params["uid"])
        if cp is not None:
            check_provenance(cp["provenance"], provenance_of(request), "delete")
            last_of_name = len(list(self.store.where("contact_points", org_id=org_id, name=cp["name"]))) == 1
            if last_of_name and cp["name"] in self._receivers_in_use(org_id):
                raise errutil(
                    409,
                    "alerting.notifications.contact-points.referenced",
                    "contact point is currently used by a notification policy",
                )
            self.store.remove("contact_points", cp)
        return message("contactpoint deleted", code=202)

    def _receivers_in_use(self, org_id: int) -> set[str]:
        names: set[str] = set()

        def walk(route: dict[str, Any]) -> None:
            if route.get("receiver"):
                names.add(route["receiver"])
            for child in route.get("routes") or []:
                walk(child)

        walk(self.store.data["policies"][str(org_id)]["tree"])
        return names

    # ---------------------------------------------------------------- policies

    def get_policies(self, request: Request) -> Response:
        self.ensure_defaults(request.org_id)
        stored = self.store.data["policies"][str(request.org_id)]
        tree = copy.deepcopy(stored["tree"])
        tree["provenance"] = stored["provenance"]
        return ok(tree)

    def put_policies(self, request: Request) -> Response:
        org_id = request.org_id
        self.ensure_defaults(org_id)
        stored = self.store.data["policies"][str(org_id)]
        provenance = provenance_of(request)
        check_provenance(stored["provenance"], provenance, "update")
        tree = request.json()
        self._validate_tree(org_id, tree)
        tree = {k: v for k, v in tree.items() if k != "provenance"}
        self.store.data["policies"][str(org_id)] = {"tree": tree, "provenance": provenance}
        return message("policies updated", code=202)

    def _validate_tree(self, org_id: int, tree: dict[str, Any]) -> None:
        if not tree.get("receiver"):
            raise error(400, "invalid object specification: root route must specify a default receiver")
        receivers = {c["name"] for c in self._contact_points(org_id)}
        timings = {m["name"] for m in self.store.where("mute_timings", org_id=org_id)}

        def walk(route: dict[str, Any]) -> None:
            receiver = route.get("receiver")
            if receiver and receiver not in receivers:
                raise error(400, f"invalid object specification: receiver '{receiver}' does not exist")
            for name in route.get("mute_time_intervals") or []:
                if name not in timings:
                    raise error(400, f"invalid object specification: mute time interval '{name}' does not exist")
            for child in route.get("routes") or []:
                walk(child)

        walk(tree)

    def reset_policies(self, request: Request) -> Response:
        org_id = request.org_id
        self.ensure_defaults(org_id)
        stored = self.store.data["policies"][str(org_id)]
        check_provenance(stored["provenance"], provenance_of(request), "delete")
        self.store.data["policies"][str(org_id)] = {"tree": default_policy(), "provenance": PROVENANCE_NONE}
        return Response(202, default_policy())

    # ---------------------------------------------------------------- mute timings

    def _timing(self, org_id: int, name: str) -> dict[str, Any] | None:
        return self.store.find("mute_timings", org_id=org_id, name=name)

    @staticmethod
    def timing_dto(timing: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": timing["name"],
            "time_intervals": copy.deepcopy(timing["time_intervals"]),
            "provenance": timing["provenance"],
        }

    def list_mute_timings(self, request: Request) -> Response:
        timings = sorted(self.store.where("mute_timings", org_id=request.org_id), key=lambda t: t["name"])
        return ok([self.timing_dto(t) for t in timings])

    def get_mute_timing(self, request: Request) -> Response:
        timing = self._timing(request.org_id, request.params["name"])
        if timing is None:
            raise errutil(404, "alerting.notifications.time-intervals.notFound", "time interval not found")
        return ok(self.timing_dto(timing))

    def create_mute_timing(self, request: Request) -> Response:
        body = request.json()
        name = str(body.get("name") or "").strip()
        if not name:
            raise error(400, "invalid object specification: missing name")
        if self._timing(request.org_id, name) is not None:
            raise errutil(
                409, "alerting.notifications.time-intervals.nameExists", "a time interval with this name already exists"
            )
        timing = {
            "org_id": request.org_id,
            "name": name,
            "time_intervals": copy.deepcopy(body.get("time_intervals") or []),
            "provenance": provenance_of(request),
        }
        self.store.items("mute_timings").append(timing)
        return Response(201, self.timing_dto(timing))

    def update_mute_timing(self, request: Request) -> Response:
        timing = self._timing(request.org_id, request.params["name"])
        if timing is None:
            raise errutil(404, "alerting.notifications.time-intervals.notFound", "time interval not found")
        provenance = provenance_of(request)
        check_provenance(timing["provenance"], provenance, "update")
        body = request.json()
        timing.update(time_intervals=copy.deepcopy(body.get("time_intervals") or []), provenance=provenance)
        return Response(202, self.timing_dto(timing))

    def delete_mute_timing(self, request: Request) -> Response:
        timing = self._timing(request.org_id, request.params["name"])
        if timing is not None:
            check_provenance(timing["provenance"], provenance_of(request), "delete")
            self.ensure_defaults(request.org_id)
            if self._timing_in_use(request.org_id, timing["name"]):
                raise errutil(
                    409,
                    "alerting.notifications.time-intervals.used",
                    "time interval is used by one or many notification policies",
                )
            self.store.remove("mute_timings", timing)
        return Response(204)

    def _timing_in_use(self, org_id: int, name: str) -> bool:
        def walk(route: dict[str, Any]) -> bool:
            if name in (route.get("mute_time_intervals") or []):
                return True
            return any(walk(child) for child in route.get("routes") or [])

        return walk(self.store.data["policies"][str(org_id)]["tree"])

    # ---------------------------------------------------------------- templates

    @staticmethod
    def template_dto(template: dict[str, Any]) -> dict[str, Any]:
        return {"name": template["name"], "template": template["template"], "provenance": template["provenance"]}

    def list_templates(self, request: Request) -> Response:
        templates = sorted(self.store.where("templates", org_id=request.org_id), key=lambda t: t["name"])
        return ok([self.template_dto(t) for t in templates])

    def get_template(self, request: Request) -> Response:
        template = self.store.find("templates", org_id=request.org_id, name=request.params["name"])
        if template is None:
            raise errutil(404, "alerting.notifications.templates.notFound", "template not found")
        return ok(self.template_dto(template))

    def put_template(self, request: Request) -> Response:
        body = request.json()
        content = str(body.get("template") or "")
        if not content.strip():
            raise error(400, "invalid object specification: template must have content")
        name = request.params["name"]
        provenance = provenance_of(request)
        template = self.store.find("templates", org_id=request.org_id, name=name)
        if template is None:
            template = {"org_id": request.org_id, "name": name}
            self.store.items("templates").append(template)
        else:
            check_provenance(template["provenance"], provenance, "update")
        template.update(template=content, provenance=provenance)
        return Response(202, self.template_dto(template))

    def delete_template(self, request: Request) -> Response:
        template = self.store.find("templates", org_id=request.org_id, name=request.params["name"])
        if template is not None:
            check_provenance(template["provenance"], provenance_of(request), "delete")
            self.store.remove("templates", template)
        return Response(204)
