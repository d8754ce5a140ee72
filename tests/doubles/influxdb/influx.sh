#!/bin/sh
# TEST DOUBLE launcher installed as /usr/local/bin/influx (only `ping` and `version`), NOT the influx CLI.
PYTHONPATH=/usr/share/data2ai-doubles PYTHONDONTWRITEBYTECODE=1 exec python3 -m influxdb.cli "$@"
