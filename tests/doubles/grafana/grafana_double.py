"""Grafana TEST DOUBLE: entry point.

This is NOT Grafana. It stands in for Grafana's HTTP API in the data2ai.grafana_stack tests and
validates every request and response against Grafana's OpenAPI spec.

    python3 tests/doubles/grafana/grafana_double.py --host 127.0.0.1 --port 3000 \
        --data-dir "$(mktemp -d)" --skip-backend-check
    python3 tests/doubles/grafana/grafana_double.py cli --config grafana.ini admin reset-admin-password NEW
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))

from grafana_double_lib.cli import cli_main
from grafana_double_lib.settings import StartupError, load_settings

if TYPE_CHECKING:
    from grafana_double_lib.server import DoubleHTTPServer

BANNER = """\
==========================================================================
  GRAFANA TEST DOUBLE {version} -- this is NOT Grafana.
  A stand-in for Grafana's HTTP API used by the data2ai.grafana_stack tests.
  Every request and response is checked against Grafana's OpenAPI spec:
    {spec}
  Listening on {scheme}://{host}:{port}   data: {data}
  Backends: {backends}
=========================================================================="""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Grafana TEST DOUBLE (not Grafana).")
    parser.add_argument("--host", default=None, help="bind address (default [server] http_addr or 0.0.0.0)")
    parser.add_argument(
        "--port", type=int, default=None, help="port, 0 for any free one (default GF_SERVER_HTTP_PORT or 3000)"
    )
    parser.add_argument(
        "--spec",
        type=Path,
        default=None,
        help="Grafana openapi3.json (default $GRAFANA_DOUBLE_SPEC, the repo's "
        "shared spec, then /usr/share/grafana-double/openapi3.json)",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="state directory (default GF_PATHS_DATA or /var/lib/grafana)"
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="grafana.ini (default GF_PATHS_CONFIG or /etc/grafana/grafana.ini)"
    )
    parser.add_argument(
        "--provisioning",
        type=Path,
        default=None,
        help="provisioning dir (default GF_PATHS_PROVISIONING or /etc/grafana/provisioning)",
    )
    parser.add_argument(
        "--skip-backend-check", action="store_true", help="do not probe PostgreSQL/Redis; /api/health reports ok"
    )
    parser.add_argument("--no-persist", action="store_true", help="keep state in memory only")
    parser.add_argument(
        "--grafana-version",
        default=None,
        help="Grafana version to behave as and report in /api/health: 12.x (legacy APIs) or 13.x (also /apis "
        "dashboards and folders, no numeric-id datasource routes); default $GRAFANA_DOUBLE_VERSION or 12.3.0",
    )
    return parser.parse_args(argv)


def build_server(args: argparse.Namespace) -> DoubleHTTPServer:
    # Imported here so that `grafana_double.py cli ...` starts without loading openapi-core.
    from grafana_double_lib import DEFAULT_GRAFANA_VERSION, VERSION_ENV
    from grafana_double_lib.app import App, log
    from grafana_double_lib.backends import BackendMonitor
    from grafana_double_lib.provisioning import provision_from_files
    from grafana_double_lib.server import DoubleHTTPServer, tls_context
    from grafana_double_lib.spec_guard import SpecGuard, default_spec_path
    from grafana_double_lib.state import Store

    environ = dict(os.environ)
    config = args.config or Path(environ.get("GF_PATHS_CONFIG", "/etc/grafana/grafana.ini"))
    settings = load_settings(config, environ)
    data_dir = args.data_dir or Path(settings.get("paths", "data"))
    provisioning = args.provisioning or Path(
        environ.get("GF_PATHS_PROVISIONING") or settings.get("paths", "provisioning")
    )
    spec = args.spec or default_spec_path()
    host = args.host or settings.get("server", "http_addr") or "0.0.0.0"
    port = args.port if args.port is not None else int(settings.get("server", "http_port") or 3000)
    tls = tls_context(settings)  # before anything else, like Grafana's refusal to start without a certificate
    store = Store(None if args.no_persist else data_dir)
    backends = BackendMonitor(settings, skip=args.skip_backend_check)
    version = args.grafana_version or environ.get(VERSION_ENV) or DEFAULT_GRAFANA_VERSION
    if not re.match(r"^(1[0-3])\.\d+\.\d+", version):
        raise StartupError(f"--grafana-version {version!r}: the double knows Grafana 10.x to 13.x")
    app = App(settings, store, SpecGuard(spec), backends, version=version)
    app.provisioning_root = provisioning
    provision_from_files(app, provisioning)
    server = DoubleHTTPServer((host, port), app, tls=tls)
    log(
        BANNER.format(
            version=version,
            spec=spec,
            scheme=server.scheme,
            host=host,
            port=server.server_address[1],
            data="(memory only)" if args.no_persist else data_dir,
            backends=backends.describe(),
        )
    )
    if not args.skip_backend_check:
        status = backends.status()
        log(f"double: backend check at start: {'ok' if status.healthy else 'FAILING'} {status.details}")
    return server


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["cli"]:
        return cli_main(argv[1:], os.environ)
    try:
        server = build_server(parse_args(argv))
    except StartupError as exc:
        # Grafana refuses to start on an invalid provisioning file or setting; so does the double.
        print(f"double: failed to start: {exc}", file=sys.stderr, flush=True)
        return 1
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
