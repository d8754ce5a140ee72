"""TEST DOUBLE of Grafana Loki for the data2ai.grafana_stack tests (not the real Loki)."""
