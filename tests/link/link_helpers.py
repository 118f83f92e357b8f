"""Helpers of the Zenoh link tests."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any


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
