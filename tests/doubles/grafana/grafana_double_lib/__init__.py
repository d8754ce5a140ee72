"""Grafana TEST DOUBLE: a small stand-in for Grafana's HTTP API, used only by the collection's tests.

It is not Grafana. It keeps state in memory (optionally in a JSON file), and checks every request
and response it handles against Grafana's own OpenAPI spec.
"""

# The Grafana version the double behaves as and reports (`--grafana-version`, `$GRAFANA_DOUBLE_VERSION`).
DEFAULT_GRAFANA_VERSION = "12.3.0"
VERSION_ENV = "GRAFANA_DOUBLE_VERSION"
DOUBLE_COMMIT = "double"
