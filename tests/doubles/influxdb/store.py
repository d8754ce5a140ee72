"""Metadata (orgs, buckets, users, tokens) and points of the InfluxDB 2 TEST DOUBLE.

Not bolt/TSM: metadata is a JSON file next to the configured bolt path and points are
JSON lines in the engine path, so a restarted container keeps its setup and data.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from influxdb.lineprotocol import Point

META_FILE = "influxd-double-meta.json"
POINTS_FILE = "influxd-double-points.jsonl"
RESOURCE_TYPES = ["authorizations", "buckets", "dashboards", "orgs", "sources", "tasks", "telegrafs", "users",
                  "variables", "scrapers", "secrets", "labels", "views", "documents", "notificationRules",
                  "notificationEndpoints", "checks", "dbrp", "notebooks", "annotations", "remotes", "replications"]
SeriesKey = tuple[str, tuple[tuple[str, str], ...], str]


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_id() -> str:
    return secrets.token_hex(8)


def new_token() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(64)).decode()


def shard_group_duration(every_seconds: int) -> int:
    """InfluxDB's default shard group duration for a retention period."""
    if every_seconds == 0 or every_seconds > 180 * 86400:
        return 7 * 86400
    if every_seconds < 2 * 86400:
        return 3600
    return 86400


def retention_rules(every_seconds: int) -> list[dict[str, Any]]:
    return [{"type": "expire", "everySeconds": int(every_seconds),
             "shardGroupDurationSeconds": shard_group_duration(int(every_seconds))}]


def hash_password(password: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 100_000).hex()
    return f"{salt}${digest}"


def check_password(password: str, stored: str) -> bool:
    salt = stored.split("$", 1)[0]
    return secrets.compare_digest(hash_password(password, salt), stored)


class MetaStore:
    def __init__(self, directory: Path) -> None:
        self.path = directory / META_FILE
        self.lock = threading.RLock()
        self.data: dict[str, Any] = {"orgs": [], "buckets": [], "users": [], "authorizations": [], "setup": False}

    def load(self) -> bool:
        if not self.path.exists():
            return False
        self.data = json.loads(self.path.read_text(encoding="utf-8"))
        return True

    def save(self) -> None:
        with self.lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)

    # --- lookups ---------------------------------------------------------------------

    def find(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        with self.lock:
            return [item for item in self.data[kind] if all(item.get(k) == v for k, v in match.items())]

    def one(self, kind: str, **match: Any) -> dict[str, Any] | None:
        found = self.find(kind, **match)
        return found[0] if found else None

    def by_token(self, token: str) -> dict[str, Any] | None:
        with self.lock:
            for auth in self.data["authorizations"]:
                if secrets.compare_digest(auth["token"], token):
                    return auth
        return None

    # --- creation --------------------------------------------------------------------

    def create_org(self, name: str, description: str = "") -> dict[str, Any]:
        stamp = now_iso()
        org = {"id": new_id(), "name": name, "description": description, "createdAt": stamp, "updatedAt": stamp}
        with self.lock:
            self.data["orgs"].append(org)
            self.save()
        return org

    def create_bucket(self, org_id: str, name: str, every_seconds: int, kind: str = "user",
                      description: str = "") -> dict[str, Any]:
        stamp = now_iso()
        bucket = {"id": new_id(), "orgID": org_id, "type": kind, "name": name, "description": description,
                  "retentionRules": retention_rules(every_seconds), "createdAt": stamp, "updatedAt": stamp}
        with self.lock:
            self.data["buckets"].append(bucket)
            self.save()
        return bucket

    def create_user(self, name: str, password: str) -> dict[str, Any]:
        user = {"id": new_id(), "name": name, "status": "active", "password": hash_password(password)}
        with self.lock:
            self.data["users"].append(user)
            self.save()
        return user

    def create_authorization(self, org_id: str, user_id: str, permissions: list[dict[str, Any]],
                             description: str = "", token: str | None = None,
                             status: str = "active") -> dict[str, Any]:
        stamp = now_iso()
        auth = {"id": new_id(), "token": token or new_token(), "status": status, "description": description,
                "orgID": org_id, "userID": user_id, "permissions": permissions, "createdAt": stamp,
                "updatedAt": stamp}
        with self.lock:
            self.data["authorizations"].append(auth)
            self.save()
        return auth

    def update(self, kind: str, item_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        with self.lock:
            item = self.one(kind, id=item_id)
            if item is None:
                return None
            item.update(changes)
            item["updatedAt"] = now_iso()
            self.save()
            return item

    def delete(self, kind: str, item_id: str) -> bool:
        with self.lock:
            before = len(self.data[kind])
            self.data[kind] = [i for i in self.data[kind] if i["id"] != item_id]
            if len(self.data[kind]) == before:
                return False
            self.save()
            return True


def operator_permissions() -> list[dict[str, Any]]:
    return [{"action": action, "resource": {"type": rtype}} for rtype in RESOURCE_TYPES
            for action in ("read", "write")]


class PointStore:
    """Points per bucket: {bucket id: {(measurement, tags, field): {ts: (type, value)}}}."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / POINTS_FILE
        self.lock = threading.RLock()
        self.series: dict[str, dict[SeriesKey, dict[int, tuple[str, Any]]]] = {}
        self.types: dict[str, dict[tuple[str, str], str]] = {}

    def load(self) -> int:
        if not self.path.exists():
            return 0
        count = 0
        with self.path.open(encoding="utf-8") as handle:
            for raw in handle:
                try:
                    rec = json.loads(raw)
                except ValueError:
                    continue
                if rec.get("delete"):
                    self.series.pop(rec["b"], None)
                    self.types.pop(rec["b"], None)
                    continue
                key = (rec["m"], tuple(tuple(t) for t in rec["tags"]), rec["f"])
                self.series.setdefault(rec["b"], {}).setdefault(key, {})[int(rec["t"])] = (rec["ty"], rec["v"])
                self.types.setdefault(rec["b"], {})[(rec["m"], rec["f"])] = rec["ty"]
                count += 1
        return count

    def field_conflict(self, bucket_id: str, point: Point) -> str | None:
        known = self.types.get(bucket_id, {})
        for name, (kind, _value) in point.fields.items():
            existing = known.get((point.measurement, name))
            if existing and existing != kind:
                return (f'field type conflict: input field "{name}" on measurement "{point.measurement}" is type '
                        f"{kind}, already exists as type {existing}")
        return None

    def write(self, bucket_id: str, points: list[Point]) -> None:
        with self.lock, self.path.open("a", encoding="utf-8") as handle:
            for point in points:
                for name, (kind, value) in point.fields.items():
                    key = (point.measurement, point.tags, name)
                    self.series.setdefault(bucket_id, {}).setdefault(key, {})[point.ts] = (kind, value)
                    self.types.setdefault(bucket_id, {})[(point.measurement, name)] = kind
                    handle.write(json.dumps({"b": bucket_id, "m": point.measurement, "tags": point.tags, "f": name,
                                             "t": point.ts, "ty": kind, "v": value}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def drop_bucket(self, bucket_id: str) -> None:
        with self.lock, self.path.open("a", encoding="utf-8") as handle:
            self.series.pop(bucket_id, None)
            self.types.pop(bucket_id, None)
            handle.write(json.dumps({"b": bucket_id, "delete": True}) + "\n")

    def read(self, bucket_id: str, start_ns: int, stop_ns: int) -> list[tuple[SeriesKey, list[tuple[int, str, Any]]]]:
        with self.lock:
            out = []
            for key, points in self.series.get(bucket_id, {}).items():
                rows = sorted((ts, kind, value) for ts, (kind, value) in points.items() if start_ns <= ts < stop_ns)
                if rows:
                    out.append((key, rows))
            return sorted(out, key=lambda item: item[0])

    def enforce_retention(self, cutoffs: dict[str, int]) -> int:
        """Drop points older than each bucket's cutoff (ns); rewrite the points file."""
        dropped = 0
        with self.lock:
            for bucket_id, cutoff in cutoffs.items():
                for points in self.series.get(bucket_id, {}).values():
                    for ts in [ts for ts in points if ts < cutoff]:
                        del points[ts]
                        dropped += 1
            if dropped:
                tmp = self.path.with_suffix(".tmp")
                with tmp.open("w", encoding="utf-8") as handle:
                    for bucket_id, series in self.series.items():
                        for (measurement, tags, name), points in series.items():
                            for ts, (kind, value) in points.items():
                                handle.write(json.dumps({"b": bucket_id, "m": measurement, "tags": tags, "f": name,
                                                         "t": ts, "ty": kind, "v": value}) + "\n")
                os.replace(tmp, self.path)
        return dropped
