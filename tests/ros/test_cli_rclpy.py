"""`dvfo param` and `dvfo lifecycle` reach a node running on rclpy (through rclpy's own clients:
service calls do not cross DDS vendors, see docs/runtime.md)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def _dvfo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dvfo_core.cli", *args, "--timeout", "20"],
        capture_output=True,
        text=True,
        env={**os.environ, "DVFO_RUNTIME": "rclpy"},
        timeout=120,
    )


def test_param_and_lifecycle_commands_against_an_rclpy_governor(dds_domain: int) -> None:
    node = subprocess.Popen(
        [sys.executable, "-m", "dvfo_edge.governor_node", "--ros-args", "-p", "method:=edge_only_max"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "DVFO_RUNTIME": "rclpy"},
    )
    try:
        assert node.stdout is not None
        for line in node.stdout:  # autostart: configured and active by itself
            if "lifecycle: activate (success)" in line:
                break
        assert _dvfo("param", "set", "governor", "eta", "0.8").returncode == 0
        assert _dvfo("param", "get", "governor", "eta").stdout.strip() == "0.8"
        rejected = _dvfo("param", "set", "governor", "eta", "1.5")
        assert rejected.returncode != 0 and "above the maximum 1.0" in rejected.stderr
        assert _dvfo("lifecycle", "set", "governor", "deactivate").returncode == 0
        assert _dvfo("lifecycle", "get", "governor").stdout.strip() == "inactive"
    finally:
        node.send_signal(2)
        out, _ = node.communicate(timeout=30)
    assert node.returncode == 0, out
    assert "lifecycle: shutdown (success): inactive -> finalized" in out
