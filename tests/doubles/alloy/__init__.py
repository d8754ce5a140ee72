"""Alloy TEST DOUBLE (data2ai.grafana_stack tests): NOT Grafana Alloy."""
