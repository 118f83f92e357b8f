"""dvfo record writes a rosbag2 MCAP bag of a live graph; rosbags reads it; dvfo train learns from it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from graph_helpers import Collector, write_params
from rosbags.rosbag2 import Reader

from dvfo_core.graph import load_graph
from dvfo_core.launcher import Launch
from dvfo_core.runtime.msgs import typestore

pytestmark = pytest.mark.slow


def test_record_read_with_rosbags_and_train_from_it(tmp_path: Path, collector: Collector) -> None:
    params = write_params(tmp_path, camera={"rate_hz": 8.0})
    bag = tmp_path / "run1"
    launch = Launch(load_graph("all"), params)
    try:
        assert collector.spin_until(lambda: len(collector.results) >= 3, 180), launch.poll()
        rec = subprocess.run(
            [sys.executable, "-m", "dvfo_core.cli", "record", "--out", str(bag), "--duration", "8"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        launch.shutdown()
    assert rec.returncode == 0, rec.stderr
    assert (bag / "metadata.yaml").is_file() and list(bag.glob("*.mcap"))

    store = typestore()
    counts: dict[str, int] = {}
    with Reader(bag) as reader:  # plain rosbags, as any ROS 2 tool reads it
        for conn, _t, raw in reader.messages():
            msg = store.deserialize_cdr(raw, conn.msgtype)
            counts[conn.topic] = counts.get(conn.topic, 0) + 1
            if conn.topic == "/dvfo/telemetry":
                assert msg.device == "jetson-nano" and msg.latency_ms > 0
    assert counts.get("/dvfo/telemetry", 0) >= 20, counts
    assert counts.get("/dvfo/result", 0) >= 20 and counts.get("/dvfo/action", 0) >= 20

    policy = tmp_path / "from_bag.npz"
    train = subprocess.run(
        [
            sys.executable,
            "-m",
            "dvfo_core.cli",
            "train",
            "--device",
            "jetson-nano",
            "--model",
            "resnet18",
            "--bag",
            str(bag),
            "--steps",
            "300",
            "--out",
            str(policy),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert train.returncode == 0, train.stderr[-2000:]
    assert policy.is_file()
