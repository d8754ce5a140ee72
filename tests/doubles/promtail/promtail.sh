#!/bin/sh
# TEST DOUBLE launcher installed as /usr/bin/promtail: runs the Python Promtail double
# of data2ai.grafana_stack, NOT Grafana Promtail.
PYTHONPATH=/usr/share/data2ai-doubles PYTHONDONTWRITEBYTECODE=1 exec python3 -m promtail "$@"
