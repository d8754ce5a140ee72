"""Grafana TEST DOUBLE: a small stand-in for Grafana's HTTP API, used only by the collection's tests.

It is not Grafana. It keeps state in memory (optionally in a JSON file), and checks every request
and response it handles against Grafana's own OpenAPI spec.
"""

DOUBLE_VERSION = "12.1.0-double"
DOUBLE_COMMIT = "double"
