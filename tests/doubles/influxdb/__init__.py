"""TEST DOUBLE of InfluxDB 2 OSS for the data2ai.grafana_stack tests (not the real InfluxDB)."""

VERSION = "v2.7.12-double"
