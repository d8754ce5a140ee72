"""Entry point of the InfluxDB 2 TEST DOUBLE: ``python3 -m influxdb`` (run as ``influxd``)."""

import sys

from influxdb.server import main

sys.exit(main(sys.argv[1:]))
