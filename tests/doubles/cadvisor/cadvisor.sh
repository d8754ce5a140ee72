#!/bin/sh
# TEST DOUBLE launcher installed as /usr/bin/cadvisor: runs the Python cAdvisor double
# of data2ai.grafana_stack, NOT Google cAdvisor.
PYTHONPATH=/usr/share/data2ai-doubles PYTHONDONTWRITEBYTECODE=1 exec python3 -m cadvisor "$@"
