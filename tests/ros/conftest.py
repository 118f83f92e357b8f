"""Fixtures of the tests on ROS 2 itself (rclpy on Fast DDS, the Kilted wheels of .venv-ros).

This folder is collected only where rclpy imports (see tests/conftest.py); every test in it is
marked ``ros``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "graph"))  # graph_helpers (DDS side)

from graph_helpers import Collector
from ros_helpers import RosCollector

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this folder ``ros``."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.ros)


@pytest.fixture
def ros_collector(dds_domain: int) -> Iterator[RosCollector]:
    """A monitor node on rclpy (Fast DDS) on this test's domain."""
    collector = RosCollector()
    yield collector
    collector.close()


@pytest.fixture
def dds_collector(dds_domain: int) -> Collector:
    """A monitor node on the DDS adapter (Cyclone) on this test's domain."""
    return Collector()
