"""Shared fixtures of the edge-pipeline tests."""

from __future__ import annotations

import pytest

from dvfo_core.split.runner import SplitRunner
from dvfo_core.world.build import World, WorldSpec, build_world


@pytest.fixture(scope="session")
def parts() -> tuple[SplitRunner, World]:
    """The shipped ResNet-18 split runner and the Jetson Nano world of its split."""
    runner = SplitRunner.from_checkpoint(model="resnet18")
    return runner, build_world(WorldSpec("jetson-nano", runner.model, runner.split))
