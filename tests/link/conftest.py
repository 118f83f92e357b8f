"""Fixtures of the Zenoh link tests: a fleet's certificates and a router on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from link_helpers import free_endpoint

from dvfo_core.link.certs import init_fleet, issue_robot
from dvfo_core.link.router import open_router

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
