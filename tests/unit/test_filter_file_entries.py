"""The file_entries filter: stack_container's files option from sources and destinations."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.data2ai.grafana_stack.plugins.filter.file_entries import file_entries


def test_sources_pair_with_destinations_in_order_with_the_common_options() -> None:
    assert file_entries(["rules/a.yml", "/srv/rules/b.rules"], ["rules/a.yml", "rules/b.yml"], validate="check %s") == [
        {"src": "rules/a.yml", "dest": "rules/a.yml", "validate": "check %s"},
        {"src": "/srv/rules/b.rules", "dest": "rules/b.yml", "validate": "check %s"}]


def test_a_source_without_its_destination_is_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="2 source"):
        file_entries(["a", "b"], ["a"])
