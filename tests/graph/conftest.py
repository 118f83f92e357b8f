"""Fixtures of the node-graph tests (separate processes over DDS)."""

from __future__ import annotations

import pytest
from graph_helpers import Collector


@pytest.fixture
def collector(dds_domain: int) -> Collector:
    """A collector on this test's domain."""
    return Collector()
