"""Fixtures of the link tests: a fleet's certificates, a router on a free loopback port, the split
model and well-formed frames to break."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fuzz_cases import ROBOT, templates
from link_helpers import free_endpoint

from dvfo_core.camera import dataset
from dvfo_core.link.certs import init_fleet, issue_robot
from dvfo_core.link.router import open_router
from dvfo_core.split.runner import SplitRunner

ROBOTS = ("alpha", "beta")


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fleet: CA, router, workers, and robots alpha and beta."""
    directory = tmp_path_factory.mktemp("certs")
    init_fleet(directory)
    for robot in ROBOTS:
        issue_robot(directory, robot)
    return directory


@pytest.fixture
def router(certs: Path) -> Iterator[str]:
    """A router of the fleet on a free port; yields its endpoint."""
    endpoint = free_endpoint()
    session = open_router(certs, [endpoint])
    yield endpoint
    session.close()


@pytest.fixture(scope="module")
def runner() -> SplitRunner:
    """The shipped resnet18 split, as the tail serves it."""
    return SplitRunner.from_checkpoint(model="resnet18")


@pytest.fixture(scope="module")
def frames(runner: SplitRunner) -> list[dict[str, Any]]:
    """Well-formed FeatureMap fields of robot alpha: 3 real images in every encoding."""
    images = [f.image for f, _ in zip(dataset("mnist", 64, 64, loop=False), range(3), strict=False)]
    return templates(runner, images, ROBOT)
