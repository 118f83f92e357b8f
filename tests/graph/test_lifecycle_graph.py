"""Node executables are managed nodes: autostart, `dvfo lifecycle`, a failed configure as exit 2."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from graph_helpers import Collector, write_params

from dvfo_core.graph import load_graph
from dvfo_core.launcher import Launch
from dvfo_core.runtime.lifecycle_services import LifecycleClient


def _images_within(collector: Collector, images: list, seconds: float) -> int:
    before = len(images)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        collector.executor.spin_once(0.05)
    return len(images) - before


def test_without_autostart_the_camera_waits_for_dvfo_lifecycle(tmp_path: Path, collector: Collector) -> None:
    params = write_params(tmp_path, camera={"source": "pattern", "rate_hz": 20.0, "autostart": False})
    images: list = []
    collector.node.subscribe("sensor_msgs/msg/Image", "/camera/image_raw", images.append, "sensor_data")
    launch = Launch([e for e in load_graph("edge") if e.name == "camera"], params, quiet=True)
    try:
        client = LifecycleClient("camera", timeout_s=60)
        assert client.get() == "unconfigured"
        assert _images_within(collector, images, 0.5) == 0
        cli = subprocess.run(
            [sys.executable, "-m", "dvfo_core.cli", "lifecycle", "set", "/camera", "configure"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert cli.returncode == 0 and "Transitioning successful" in cli.stdout, cli.stderr
        assert client.get() == "inactive" and _images_within(collector, images, 0.5) == 0
        assert client.set("activate")
        assert _images_within(collector, images, 1.0) >= 5, "active: the stream runs"
        assert client.set("deactivate") and client.get() == "inactive"
        _images_within(collector, images, 0.2)  # what was already on the wire
        assert _images_within(collector, images, 0.5) == 0, "inactive: the stream pauses"
        wrong = subprocess.run(
            [sys.executable, "-m", "dvfo_core.cli", "lifecycle", "set", "camera", "configure"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert wrong.returncode != 0
        assert "'configure' is not available from 'inactive' (available: cleanup, activate, shutdown)" in (
            wrong.stderr
        )
    finally:
        launch.shutdown()


def test_a_failed_autostart_exits_2_with_the_reason(tmp_path: Path, dds_domain: int) -> None:
    params = write_params(tmp_path, camera={"source": "folder", "path": str(tmp_path / "missing")})
    proc = subprocess.run(
        [sys.executable, "-m", "dvfo_edge.camera_node", "--ros-args", "--params-file", str(params)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "on_configure failed: camera:" in proc.stderr and "does not exist" in proc.stderr
    assert "camera: error: configure failed" in proc.stderr
