"""Fixtures of the Zenoh link tests: a fleet's certificates and a router on a free loopback port."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dvfo_core.link.certs import init_fleet, issue_robot
from dvfo_core.link.router import open_router

ROBOTS = ("alpha", "beta")


def free_endpoint() -> str:
    """A TLS endpoint on a loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tls/127.0.0.1:{s.getsockname()[1]}"


def wait_for(done: Callable[[], Any], timeout_s: float = 10.0) -> Any:
    """Poll ``done()`` until it is truthy or the time-out; returns its last value."""
    end = time.monotonic() + timeout_s
    while not (value := done()) and time.monotonic() < end:
        time.sleep(0.01)
    return value


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
