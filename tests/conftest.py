"""Shared fixtures: each test that touches DDS gets its own domain id, so tests never cross-talk."""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))  # shared helpers such as ros2_types
torch.set_num_threads(1)  # 2 cores shared with the node processes the tests start

_counter = itertools.count(os.getpid() % 231)

#: tests/ros run the nodes on ROS 2 itself (rclpy, dvfo_msgs built by colcon): they are collected
#: only where rclpy imports (``make test-ros``, in .venv-ros). Where it is absent they are not
#: collected at all; nothing inside a test turns a failure into a skip.
RCLPY = importlib.util.find_spec("rclpy") is not None
collect_ignore = [] if RCLPY else ["ros"]


def pytest_report_header(config: pytest.Config) -> str:
    """Say whether tests/ros are part of this run."""
    if RCLPY:
        return "tests/ros: collected (rclpy imports)"
    return "tests/ros: not collected, rclpy is absent here (`make test-ros` runs them in .venv-ros)"


@pytest.fixture
def dds_domain(monkeypatch: pytest.MonkeyPatch) -> int:
    """A fresh ROS_DOMAIN_ID for this test (and the subprocesses it starts)."""
    domain = 1 + next(_counter) % 231  # ROS 2 allows 0..232; 0 is everyone's default
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domain))
    return domain
