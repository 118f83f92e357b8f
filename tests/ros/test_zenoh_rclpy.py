"""A robot on ROS 2 itself offloads over Zenoh: camera and head as real rclpy nodes (Fast DDS on the
robot), the head's feature maps through a mutual-TLS Zenoh router to a tail worker, the answers back
the same way. Every offloaded frame's result equals the in-process split; no feature map crosses DDS."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "link"))  # link_helpers
from graph_helpers import write_params
from link_helpers import free_endpoint
from ros_helpers import RosCollector

from dvfo_core.camera import dataset
from dvfo_core.graph import load_graph
from dvfo_core.launcher import Launch
from dvfo_core.link.certs import init_fleet, issue_robot
from dvfo_core.link.plan import ZenohPlan, cloud_commands, head_args
from dvfo_core.runtime.port import stamp_to_ns
from dvfo_core.split.runner import SplitRunner

pytestmark = pytest.mark.slow
N = 8
DEEP = "default:1000"


def test_an_rclpy_robot_offloads_over_zenoh_with_mutual_tls(
    tmp_path: Path, ros_collector: RosCollector
) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    init_fleet(certs)
    issue_robot(certs, "gamma")
    plan = ZenohPlan(certs, listen=free_endpoint(), workers=1, robot_id="gamma")
    params = write_params(
        tmp_path,
        camera={"count": 0, "rate_hz": 4.0, "qos": {"image": "default:50"}},
        # the modelled link fits the profiled layer2 map at xi = 0.5 within the deadline (no frame
        # finished edge-only by the guard); a time-out no answer takes on a loaded machine
        head={
            "qos": {"image": "default:50", "result": DEEP},
            "cloud_timeout_ms": 3000.0,
            "link": "steady-8mbps",
        },
    )
    (tail,) = load_graph("cloud")
    cloud = Launch([], params, commands=cloud_commands(plan, tail, params, []))
    edge = None
    collector = ros_collector
    results: list = []
    feature_maps: list = []
    collector.node.subscribe("dvfo_msgs/msg/InferenceResult", "/dvfo/result", results.append, DEEP)
    collector.node.subscribe("dvfo_msgs/msg/FeatureMap", "/dvfo/feature_map", feature_maps.append)

    def offloaded() -> list:
        return [r for r in results if r.cloud_used]

    try:
        entries = [e for e in load_graph("edge") if e.name != "governor"]
        edge = Launch(entries, params, overrides={"head": head_args(plan)}, env={"DVFO_RUNTIME": "rclpy"})
        assert collector.spin_until(lambda: collector.node.subscriber_count(collector.action_pub) > 0, 120)
        collector.send_action(0.5)
        got = collector.spin_until(lambda: len(offloaded()) >= N, 180)
        logs = {**cloud.last_lines, **edge.last_lines}
        assert got, f"{len(offloaded())} of {N} frames answered over Zenoh; logs: {logs}"
    finally:
        codes = {**(edge.shutdown() if edge is not None else {}), **cloud.shutdown()}
    assert codes == dict.fromkeys(codes, 0), f"every process exits 0 on SIGINT: {codes}"
    images = {f.index: f.image for f in dataset("mnist", 64, 64, loop=False)}
    runner = SplitRunner.from_checkpoint(model="resnet18")
    for r in offloaded():
        label = collector.labels[stamp_to_ns(r.header.stamp)]
        expected = runner.infer(runner.preprocess(images[label.index]), float(r.xi))
        logits = np.asarray(r.logits, dtype=np.float32)
        np.testing.assert_allclose(logits, expected.logits.numpy(), atol=0.05, rtol=0.02)
        assert r.class_id == expected.class_id and not r.fallback
    assert feature_maps == [], "no feature map went over DDS"
