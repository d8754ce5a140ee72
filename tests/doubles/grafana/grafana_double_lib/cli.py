"""`grafana cli` as far as the collection uses it: `admin reset-admin-password`.

Grafana's CLI writes the new password straight into the database. The double keeps its state in
the running process, so the CLI first asks the running double (over loopback, on its own debug
endpoint) and only edits the state file when no double is running.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping, TextIO

from .auth import set_password
from .settings import Settings, load_settings
from .state import Store, now_iso

RESET_ENDPOINT = "/__double__/cli/reset-admin-password"
MIN_PASSWORD_LENGTH = 4
SUCCESS = "Admin password changed successfully \u2714"


def reset_in_store(store: Store, admin_login: str, password: str, user_id: int = 0) -> bool:
    """Set the admin's password in a store; False when there is no such user."""
    user = store.find("users", id=user_id) if user_id else store.find("users", login=admin_login)
    if user is None:
        user = store.find("users", id=1)
    if user is None or user["is_service_account"]:
        return False
    set_password(user, password)
    user["updated"] = now_iso()
    store.save()
    return True


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grafana cli", description="Grafana TEST DOUBLE cli")
    parser.add_argument("--homepath", default="")
    parser.add_argument("--config", default="")
    parser.add_argument("--configOverrides", default="")
    parser.add_argument("area", choices=["admin"])
    parser.add_argument("command", choices=["reset-admin-password"])
    parser.add_argument("password", nargs="?", default=None)
    parser.add_argument("--password-from-stdin", action="store_true")
    parser.add_argument("--user-id", type=int, default=0)
    return parser


def _ask_running_double(settings: Settings, password: str, user_id: int) -> bool | None:
    """True/False from a running double, None when none answers on the configured port."""
    port = settings.get("server", "http_port") or "3000"
    body = json.dumps({"password": password, "userId": user_id}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{RESET_ENDPOINT}",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=5) as reply:
            return bool(reply.status == 200)
    except urllib.error.HTTPError:
        return False
    except OSError:
        return None


def cli_main(argv: list[str], environ: Mapping[str, str], stdin: TextIO = sys.stdin) -> int:
    args = _parser().parse_args(argv)
    password = stdin.read().rstrip("\r\n") if args.password_from_stdin else args.password
    if not password:
        print("Error: New password is required", file=sys.stderr)
        return 1
    if len(password) < MIN_PASSWORD_LENGTH:
        print("Error: New password is too short", file=sys.stderr)
        return 1
    config = Path(args.config or environ.get("GF_PATHS_CONFIG", "/etc/grafana/grafana.ini"))
    settings = load_settings(config, environ)
    answered = _ask_running_double(settings, password, args.user_id)
    if answered is None:
        data_dir = Path(environ.get("GF_PATHS_DATA") or settings.get("paths", "data"))
        answered = reset_in_store(Store(data_dir), settings.get("security", "admin_user"), password, args.user_id)
    if not answered:
        print("Error: failed to update user password: user not found", file=sys.stderr)
        return 1
    print(SUCCESS)
    return 0
