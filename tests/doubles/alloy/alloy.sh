#!/bin/sh
# TEST DOUBLE launcher installed as /bin/alloy: runs the Python Alloy double of data2ai.grafana_stack,
# NOT Grafana Alloy.
PYTHONPATH=/usr/share/data2ai-doubles PYTHONDONTWRITEBYTECODE=1 exec python3 -m alloy "$@"
