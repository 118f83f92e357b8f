"""Shared fixtures: each test that touches DDS gets its own domain id, so tests never cross-talk."""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))  # shared helpers such as ros2_types
torch.set_num_threads(1)  # 2 cores shared with the node processes the tests start

_counter = itertools.count(os.getpid() % 231)


@pytest.fixture
def dds_domain(monkeypatch: pytest.MonkeyPatch) -> int:
    """A fresh ROS_DOMAIN_ID for this test (and the subprocesses it starts)."""
    domain = 1 + next(_counter) % 231  # ROS 2 allows 0..232; 0 is everyone's default
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domain))
    return domain
