#!/bin/sh
# TEST DOUBLE launcher installed as /tempo: runs the Python Tempo double
# of data2ai.grafana_stack, NOT Grafana Tempo.
PYTHONPATH=/usr/share/data2ai-doubles PYTHONDONTWRITEBYTECODE=1 exec python3 -m tempo "$@"
