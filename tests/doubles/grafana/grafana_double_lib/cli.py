"""`grafana cli` as far as the collection uses it: `admin reset-admin-password`.

Like Grafana's CLI (pkg/cmd/grafana-cli/commands/cli.go and utils/command_line.go), `--homepath`,
`--config` and `--configOverrides` are global flags of `grafana cli`: they come before the subcommand and
no environment variable sets them. `GF_PATHS_CONFIG` is read only by the image's run.sh, which passes it
to `grafana server`. Without `--config` the CLI loads `<homepath>/conf/defaults.ini` (the double's
settings.DEFAULTS) and `<homepath>/conf/custom.ini` if present, then `GF_<SECTION>_<KEY>` variables, so
it may act on another database than the server (pkg/setting: NewCfgFromArgs with an empty Config).

Grafana's CLI writes the new password into the database it is configured for. The double keeps the
server's state in the running process, so the CLI first asks the running double (over loopback, on its
own debug endpoint), which accepts only when both are configured for the same database
(settings.database_key). Otherwise the CLI edits the state of its own database: the server's state
file when no double runs and it belongs to that database, else a state file of that other database,
created (with org 1 and the admin, as Grafana's migrations do) when missing.
"""

from __future__ import annotations

import argparse
import json
import re
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping, TextIO

from .auth import ensure_bootstrap, set_password
from .settings import DEFAULTS, Settings, database_key, load_settings
from .state import STATE_FILE_NAME, Store, now_iso

RESET_ENDPOINT = "/__double__/cli/reset-admin-password"
MIN_PASSWORD_LENGTH = 4
SUCCESS = "Admin password changed successfully \u2714"
OTHER_DATABASE_STATE = "grafana-double-cli-{slug}.json"


class CliUsageError(Exception):
    """Wrong arguments: urfave/cli prints the problem and exits 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise CliUsageError(message)


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
    """`grafana cli [global flags] admin reset-admin-password [flags] [password]`."""
    parser = _Parser(prog="grafana cli", description="Grafana TEST DOUBLE cli")
    parser.add_argument("--homepath", default="", help="path to Grafana's home (default: working directory)")
    parser.add_argument("--config", default="", help="path to the config file")
    parser.add_argument("--configOverrides", default="", help="configuration options to override defaults")
    areas = parser.add_subparsers(dest="area", required=True, parser_class=_Parser)
    admin = areas.add_parser("admin")
    commands = admin.add_subparsers(dest="command", required=True, parser_class=_Parser)
    reset = commands.add_parser("reset-admin-password")
    reset.add_argument("password", nargs="?", default=None)
    reset.add_argument("--password-from-stdin", action="store_true")
    reset.add_argument("--user-id", type=int, default=0)
    return parser


def cli_settings(config: str, homepath: str, environ: Mapping[str, str]) -> Settings:
    """The settings `grafana cli` runs with: `--config`, else conf/custom.ini under the home path."""
    if config:
        return load_settings(Path(config), environ)
    home = Path(homepath) if homepath else Path.cwd()
    # conf/defaults.ini is settings.DEFAULTS; conf/custom.ini only exists if someone put it there.
    return load_settings(home / "conf" / "custom.ini", environ)


def _ask_running_double(settings: Settings, database: str, password: str, user_id: int) -> bool | None:
    """True/False from a running double of the same database, None when none answers for it."""
    port = settings.get("server", "http_port") or DEFAULTS[("server", "http_port")]
    tls = settings.get("server", "protocol").strip().lower() == "https"
    body = json.dumps({"password": password, "userId": user_id, "database": database}).encode()
    request = urllib.request.Request(
        f"{'https' if tls else 'http'}://127.0.0.1:{port}{RESET_ENDPOINT}",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if tls:
        # The double's own debug endpoint on loopback, in the same container: the double's side channel, not
        # something Grafana's CLI does, so its certificate (made for the public name) is not checked here.
        handlers.append(urllib.request.HTTPSHandler(context=ssl._create_unverified_context()))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=5) as reply:
            return bool(reply.status == 200)
    except urllib.error.HTTPError as exc:
        return None if exc.code == 409 else False  # 409: that server uses another database
    except OSError:
        return None


def offline_store(settings: Settings, database: str) -> Store:
    """The state of the CLI's database when no double of that database runs."""
    data_dir = Path(settings.get("paths", "data"))
    server_state = Store(data_dir)
    if server_state.loaded_from_disk and server_state.database in ("", database):
        return server_state
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", database).strip("_")[:80]
    store = Store(data_dir, OTHER_DATABASE_STATE.format(slug=slug))
    if store.path != data_dir / STATE_FILE_NAME and store.is_empty:
        store.database = database
        ensure_bootstrap(
            store,
            settings.get("security", "admin_user"),
            settings.get("security", "admin_password"),
            settings.get("security", "admin_email"),
        )
    return store


def _password(args: argparse.Namespace, stdin: TextIO) -> str:
    password = stdin.read().rstrip("\r\n") if args.password_from_stdin else args.password
    if not password:
        raise CliUsageError("New password is required")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CliUsageError("New password is too short")
    return str(password)


def cli_main(argv: list[str], environ: Mapping[str, str], stdin: TextIO = sys.stdin) -> int:
    try:
        args = _parser().parse_args(argv)
        password = _password(args, stdin)
    except CliUsageError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    settings = cli_settings(args.config, args.homepath, environ)
    database = database_key(settings)
    answered = _ask_running_double(settings, database, password, args.user_id)
    if answered is None:
        store = offline_store(settings, database)
        answered = reset_in_store(store, settings.get("security", "admin_user"), password, args.user_id)
    if not answered:
        print("Error: failed to update user password: user not found", file=sys.stderr)
        return 1
    print(SUCCESS)
    return 0
