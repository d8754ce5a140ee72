"""TEST DOUBLE of Grafana Tempo for the data2ai.grafana_stack tests (not the real Tempo)."""
