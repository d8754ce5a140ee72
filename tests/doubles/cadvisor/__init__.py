"""TEST DOUBLE of Google cAdvisor for the data2ai.grafana_stack tests (not the real cAdvisor)."""
