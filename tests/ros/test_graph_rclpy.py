"""The node graph on ROS 2 itself: camera, head and tail as real rclpy nodes (Fast DDS), alone and
next to DDS-adapter nodes (Cyclone), in both directions. N frames in, N results out, each equal
to running the frame in-process; discovery works with no setting at all (the project's default)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from graph_helpers import Collector, write_params
from ros_helpers import RosCollector, assert_results_equal_in_process

from dvfo_core.graph import NodeEntry, load_graph
from dvfo_core.launcher import Launch

pytestmark = pytest.mark.slow
N = 16
RCLPY = {"DVFO_RUNTIME": "rclpy"}


def _params(tmp_path: Path) -> Path:
    return write_params(
        tmp_path,
        camera={"count": N, "rate_hz": 4.0, "qos": {"image": "default"}, "wait_for_subscribers": True},
        head={"qos": {"image": "default"}, "cloud_timeout_ms": 3000.0},
    )


def _nodes(*names: str) -> list[NodeEntry]:
    return [e for e in load_graph("all") if e.name in names]


def _run(collector: Collector, tmp_path: Path, rclpy_nodes: list[str], dds_nodes: list[str]) -> int:
    """Start the data plane split over the two runtimes, play the governor (xi = 0.5 so that frames
    offload), collect N results; returns how many used the cloud."""
    params = _params(tmp_path)
    launches = []
    try:
        if rclpy_nodes:
            launches.append(Launch(_nodes(*rclpy_nodes), params, env=RCLPY))
        if dds_nodes:
            launches.append(Launch(_nodes(*dds_nodes), params))
        assert collector.spin_until(lambda: collector.node.subscriber_count(collector.action_pub) > 0, 120), (
            "the head never matched the test's action publisher"
        )
        # A writer can match a reader of the other vendor before that reader matches the writer, and
        # a volatile sample sent in between is lost (DDS semantics): say it again until done, as a
        # governor does every frame.
        end = time.monotonic() + 180
        while len(collector.results) < N and time.monotonic() < end:
            collector.send_action(0.5)
            collector.spin_until(lambda: len(collector.results) >= N, 0.5)
        got_all = len(collector.results) >= N
        logs = {name: list(lines) for launch in launches for name, lines in launch.last_lines.items()}
        assert got_all, f"{len(collector.results)} of {N} results; node logs: {logs}"
        collector.spin_until(lambda: False, 1.0)  # anything extra would show up now
    finally:
        codes = {name: code for launch in launches for name, code in launch.shutdown().items()}
    assert codes == dict.fromkeys(codes, 0), f"every node exits 0 on SIGINT: {codes}"
    for launch in launches:
        for name, lines in launch.last_lines.items():
            assert not [x for x in lines if "TypeObject" in x or "Traceback" in x], (name, list(lines))
    return assert_results_equal_in_process(collector, N)


def test_pure_rclpy_graph_n_frames_in_n_results_out(tmp_path: Path, ros_collector: RosCollector) -> None:
    offloaded = _run(ros_collector, tmp_path, ["camera", "head", "tail"], [])
    assert offloaded >= N // 2, "frames after the first action (xi = 0.5) offload to the rclpy tail"


def test_rclpy_edge_with_dds_adapter_cloud_and_monitor(tmp_path: Path, dds_collector: Collector) -> None:
    """Feature maps rclpy -> DDS adapter, cloud results and actions DDS adapter -> rclpy."""
    offloaded = _run(dds_collector, tmp_path, ["camera", "head"], ["tail"])
    assert offloaded >= N // 2


def test_dds_adapter_edge_with_rclpy_cloud_and_monitor(tmp_path: Path, ros_collector: RosCollector) -> None:
    """Feature maps DDS adapter -> rclpy, cloud results, actions and results the other way."""
    offloaded = _run(ros_collector, tmp_path, ["tail"], ["camera", "head"])
    assert offloaded >= N // 2
