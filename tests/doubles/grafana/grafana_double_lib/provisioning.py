"""File provisioning at start, like Grafana: datasources and dashboard providers.

Reads `<provisioning>/datasources/*.y*ml` and `<provisioning>/dashboards/*.y*ml`. Values may use
`$VAR`/`${VAR}` (and `$$` for a literal dollar), expanded from the environment. An invalid
datasource file stops the start, as it stops Grafana; a broken dashboard file is logged and
skipped, as Grafana does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .api_dashboards import DashboardApi
from .api_datasources import DatasourceApi
from .api_folders import FolderApi
from .auth import DEFAULT_ORG_ID
from .settings import StartupError
from .web import ApiError, Response

if TYPE_CHECKING:
    from .app import App

ENV_RE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class ProvisioningError(StartupError):
    """A provisioning file Grafana would refuse at start."""


def _log(text: str) -> None:
    from .app import log

    log(f"double: provisioning: {text}")


def expand_env(value: Any, environ: dict[str, str]) -> Any:
    if isinstance(value, str):
        return ENV_RE.sub(
            lambda m: "$" if m.group(0) == "$$" else environ.get(m.group(1) or m.group(2), ""),
            value,
        )
    if isinstance(value, list):
        return [expand_env(v, environ) for v in value]
    if isinstance(value, dict):
        return {k: expand_env(v, environ) for k, v in value.items()}
    return value


def _yaml_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _load(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ProvisioningError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ProvisioningError(f"{path}: expected a mapping at the top level")
    return expand_env(loaded, dict(os.environ))


def provision_from_files(app: App, root: Path) -> None:
    if not root.is_dir():
        return
    with app.store.lock:
        provision_datasources(app, root / "datasources")
        provision_dashboards(app, root / "dashboards")
        app.store.save()
    for ignored in ("alerting", "notifiers", "plugins", "access-control"):
        for path in _yaml_files(root / ignored):
            _log(f"{path}: {ignored} provisioning files are NOT applied by the double")


def register(app: App) -> None:
    add = app.router.add
    add(
        "POST",
        "/api/admin/provisioning/datasources/reload",
        lambda request: _reload(app, "datasources"),
        "server-admin",
        "provisioning:reload",
    )
    add(
        "POST",
        "/api/admin/provisioning/dashboards/reload",
        lambda request: _reload(app, "dashboards"),
        "server-admin",
        "provisioning:reload",
    )


def _reload(app: App, kind: str) -> Response:
    root = app.provisioning_root
    if root is not None:
        try:
            if kind == "datasources":
                provision_datasources(app, root / "datasources")
            else:
                provision_dashboards(app, root / "dashboards")
        except ProvisioningError as exc:
            return Response(500, {"message": f"Failed to reload {kind} config", "error": str(exc)})
    return Response(200, {"message": f"{kind.capitalize()} config reloaded"})


# -- datasources ---------------------------------------------------------------------------------


def provision_datasources(app: App, directory: Path) -> None:
    api = DatasourceApi(app)
    for path in _yaml_files(directory):
        config = _load(path)
        wanted = config.get("datasources") or []
        _check_single_default(path, wanted)
        for item in config.get("deleteDatasources") or []:
            org_id = int(item.get("orgId") or DEFAULT_ORG_ID)
            ds = app.store.find("datasources", org_id=org_id, name=item.get("name"))
            if ds is not None:
                app.store.remove("datasources", ds)
                _log(f"deleted datasource {item.get('name')!r} (org {org_id})")
        for item in wanted:
            _provision_datasource(app, api, path, item)


def _check_single_default(path: Path, items: list[dict[str, Any]]) -> None:
    defaults: dict[int, int] = {}
    for item in items:
        if item.get("isDefault"):
            org_id = int(item.get("orgId") or DEFAULT_ORG_ID)
            defaults[org_id] = defaults.get(org_id, 0) + 1
    if any(count > 1 for count in defaults.values()):
        raise ProvisioningError(
            f"{path}: datasource.yaml config is invalid. Only one datasource per organization can be marked as default"
        )


def _provision_datasource(app: App, api: DatasourceApi, path: Path, item: dict[str, Any]) -> None:
    if not item.get("name") or not item.get("type"):
        raise ProvisioningError(f"{path}: every datasource needs a name and a type")
    org_id = int(item.get("orgId") or DEFAULT_ORG_ID)
    if app.store.find("orgs", id=org_id) is None:
        raise ProvisioningError(f"{path}: datasource {item['name']!r}: org {org_id} not found")
    cmd = dict(item)
    cmd.setdefault("access", "proxy")
    read_only = not bool(item.get("editable"))
    existing = app.store.find("datasources", org_id=org_id, name=item["name"])
    try:
        if existing is None:
            api.add(org_id, cmd, read_only=read_only)
            _log(f"added datasource {item['name']!r} (org {org_id})")
        else:
            cmd.pop("version", None)
            api.update(existing, cmd, from_api=False)
            existing["read_only"] = read_only
            _log(f"updated datasource {item['name']!r} (org {org_id})")
    except ApiError as exc:
        raise ProvisioningError(f"{path}: datasource {item['name']!r}: {exc.body}") from exc


# -- dashboards ----------------------------------------------------------------------------------


def provision_dashboards(app: App, directory: Path) -> None:
    for path in _yaml_files(directory):
        config = _load(path)
        for provider in config.get("providers") or []:
            if (provider.get("type") or "file") != "file":
                _log(f"{path}: provider type {provider.get('type')!r} is not supported, skipped")
                continue
            _run_provider(app, path, provider)


def _run_provider(app: App, path: Path, provider: dict[str, Any]) -> None:
    options = provider.get("options") or {}
    source = Path(str(options.get("path") or ""))
    org_id = int(provider.get("orgId") or DEFAULT_ORG_ID)
    if not source.exists():
        _log(f"{path}: provider {provider.get('name')!r}: path {source} does not exist")
        return
    files = [source] if source.is_file() else sorted(source.rglob("*.json"))
    for file in files:
        folder_uid = _provider_folder(app, org_id, provider, source, file)
        _provision_dashboard(app, org_id, provider, file, folder_uid)


def _provider_folder(app: App, org_id: int, provider: dict[str, Any], source: Path, file: Path) -> str:
    options = provider.get("options") or {}
    title = str(provider.get("folder") or "")
    uid = str(provider.get("folderUid") or "")
    if options.get("foldersFromFilesStructure") and source.is_dir() and file.parent != source:
        title, uid = file.parent.name, ""
    if not title and not uid:
        return ""
    folders = FolderApi(app)
    found = (
        folders.find(org_id, uid)
        if uid
        else next(
            (f for f in app.store.where("folders", org_id=org_id, parent_uid="") if f["title"] == title),
            None,
        )
    )
    if found is None:
        found = folders.add(org_id, title=title or uid, uid=uid, parent_uid="", description="", login="provisioning")
    return str(found["uid"])


def _provision_dashboard(app: App, org_id: int, provider: dict[str, Any], file: Path, folder_uid: str) -> None:
    raw = file.read_bytes()
    try:
        data = json.loads(raw)
    except ValueError as exc:
        _log(f"{file}: invalid dashboard JSON, skipped: {exc}")
        return
    if not isinstance(data, dict):
        _log(f"{file}: dashboard JSON is not an object, skipped")
        return
    checksum = hashlib.sha256(raw).hexdigest()
    api = DashboardApi(app)
    existing = api.find(org_id, str(data.get("uid") or "")) if data.get("uid") else None
    if existing is not None and existing.get("checksum") == checksum and existing.get("folder_uid") == folder_uid:
        return
    data.pop("id", None)
    try:
        dash = api.store_dashboard(
            org_id=org_id,
            data=data,
            folder_uid=folder_uid,
            overwrite=True,
            note="provisioned",
            login="provisioning",
            provisioned=str(file),
        )
    except ApiError as exc:
        _log(f"{file}: dashboard refused: {exc.body}")
        return
    dash["checksum"] = checksum
    dash["allow_ui_updates"] = bool(provider.get("allowUiUpdates"))
    dash["allow_ui_deletes"] = not bool(provider.get("disableDeletion"))
    _log(f"dashboard {dash['title']!r} (uid {dash['uid']}) from {file}")
