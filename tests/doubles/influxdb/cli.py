"""A very small ``influx`` CLI of the InfluxDB 2 TEST DOUBLE image: ``influx ping`` and ``influx version``.

Every other subcommand exits 1 and says it is not supported by the double.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from common import DOUBLE_NOTICE

from influxdb import VERSION


def main(argv: list[str]) -> int:
    host = "http://localhost:8086"
    args = list(argv)
    if "--host" in args:
        host = args[args.index("--host") + 1]
    command = args[0] if args else "help"
    if command == "version":
        print(f"Influx CLI {VERSION} (git: double) build_date: 1970-01-01T00:00:00Z ({DOUBLE_NOTICE})")
        return 0
    if command == "ping":
        try:
            with urllib.request.urlopen(f"{host.rstrip('/')}/ping", timeout=5) as resp:
                if resp.status == 204:
                    print("OK")
                    return 0
        except (urllib.error.URLError, OSError) as exc:
            print(f"Error: failed to ping {host}: {exc}", file=sys.stderr)
            return 1
        return 1
    print(f"Error: influx {command} is not supported by the InfluxDB 2 test double (only ping, version)",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
