#!/bin/sh
# TEST DOUBLE launcher installed as /usr/bin/loki: runs the Python Loki double
# of data2ai.grafana_stack, NOT Grafana Loki.
PYTHONPATH=/usr/share/data2ai-doubles PYTHONDONTWRITEBYTECODE=1 exec python3 -m loki "$@"
