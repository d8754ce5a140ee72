#!/bin/sh
# TEST DOUBLE launcher installed as /usr/local/bin/influxd: runs the Python InfluxDB 2 double
# of data2ai.grafana_stack, NOT InfluxDB.
PYTHONPATH=/usr/share/data2ai-doubles PYTHONDONTWRITEBYTECODE=1 exec python3 -m influxdb "$@"
