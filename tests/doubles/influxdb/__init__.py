"""TEST DOUBLE of InfluxDB 2 OSS for the data2ai.grafana_stack tests (not the real InfluxDB)."""

# The InfluxDB version the double mimics; influxd's flags are in upstream/<UPSTREAM_VERSION>.json.
UPSTREAM_VERSION = "2.9.1"
VERSION = f"v{UPSTREAM_VERSION}-double"
