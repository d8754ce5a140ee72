"""Shared code for the data2ai.grafana_stack TEST DOUBLES.

Nothing in this package is a real Grafana Labs, Google or InfluxData component:
it is the small skeleton (HTTP server, Prometheus text metrics, readiness,
YAML/flag config, logfmt logging, Docker Engine API client) that the test
doubles for Loki, Tempo, Promtail, cAdvisor and InfluxDB 2 are built on.
"""

DOUBLE_NOTICE = "TEST DOUBLE (data2ai.grafana_stack tests), not the real component"
