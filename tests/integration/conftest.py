"""The integration tests' shared fixture: cleanup of labelled Docker resources, by name prefix."""

from __future__ import annotations

import pytest
from stack_testlib import remove_labelled


@pytest.fixture
def labelled_cleanup():
    """Yields a function that registers a name prefix; everything labelled for tests under it is removed
    after the test, even when it failed."""
    prefixes: list[str] = []
    yield prefixes.append
    for prefix in prefixes:
        remove_labelled(prefix)
