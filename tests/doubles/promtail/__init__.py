"""TEST DOUBLE of Grafana Promtail for the data2ai.grafana_stack tests (not the real Promtail)."""
