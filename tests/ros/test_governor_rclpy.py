"""The governor as a real rclpy lifecycle node: decides per frame from telemetry, takes run-time
parameters, pins the clocks of a (fixture) Jetson while active and restores them."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from ros_helpers import RosCollector

from dvfo_core.device.twin import TwinModel
from dvfo_core.runtime import make_node
from dvfo_core.runtime.params import ParameterError
from dvfo_edge.governor_node import GovernorNode

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sysfs"


def _telemetry(collector: RosCollector, seq: int, latency_ms: float = 60.0) -> object:
    tel = collector.node.msg("dvfo_msgs/msg/Telemetry")(frame_seq=seq, device="jetson-nano", backend="twin")
    tel.latency_ms, tel.head_ms, tel.edge_tail_ms = latency_ms, 20.0, 30.0
    tel.bandwidth_mbps, tel.rtt_ms = 2.0, 20.0
    tel.power_w, tel.energy_j, tel.temperature_c = 5.0, 0.3, 45.0
    return tel


@pytest.fixture
def rclpy_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVFO_RUNTIME", "rclpy")


def test_governor_decides_per_frame_and_takes_runtime_parameters(
    rclpy_runtime: None, ros_collector: RosCollector
) -> None:
    node = make_node("governor", overrides={"method": "edge_only_max", "eta": 0.5}, managed=True)
    gov = GovernorNode(node)
    node.manage(gov)
    assert node.change_state("configure") and node.change_state("activate")
    actions: list = []
    ros_collector.node.subscribe("dvfo_msgs/msg/DvfsAction", "/dvfo/action", actions.append)
    tel_pub = ros_collector.node.publisher("dvfo_msgs/msg/Telemetry", "/dvfo/telemetry")
    ros_collector.executor.add_node(node.rclpy_node)
    try:
        assert ros_collector.spin_until(lambda: ros_collector.node.subscriber_count(tel_pub) > 0, 10)
        for seq in range(1, 6):
            tel_pub.publish(_telemetry(ros_collector, seq))
        assert ros_collector.spin_until(lambda: len(actions) >= 5 and actions[-1].frame_seq == 6, 10)
        assert all(a.method == "edge_only_max" and not a.safe_fallback for a in actions[-5:])

        tel_pub.publish(_telemetry(ros_collector, 6, latency_ms=math.nan))  # a broken reading
        assert ros_collector.spin_until(lambda: actions[-1].frame_seq == 7, 10)
        top = TwinModel("jetson-nano").max_levels()
        last = actions[-1]
        assert last.xi == 0.0
        assert (last.cpu_level, last.gpu_level, last.emc_level) == (top.cpu, top.gpu, top.emc)

        node.set_param("eta", 0.9)
        assert gov.governor.eta == 0.9
        with pytest.raises(ParameterError, match="above the maximum"):
            node.set_param("eta", 1.5)
    finally:
        ros_collector.executor.remove_node(node.rclpy_node)
        assert node.change_state("shutdown")
        node.destroy()


def test_sysfs_clocks_pinned_while_active_and_restored(rclpy_runtime: None, tmp_path: Path) -> None:
    root = tmp_path / "nano"
    shutil.copytree(FIXTURES / "jetson-nano", root, symlinks=True)
    gpu_min = next(root.rglob("devfreq/*/min_freq"))
    before = gpu_min.read_text()
    node = make_node(
        "governor",
        overrides={"method": "edge_only_default", "backend": "sysfs", "sysfs_root": str(root)},
        managed=True,
    )
    node.manage(GovernorNode(node))
    try:
        assert node.change_state("configure") and gpu_min.read_text() == before
        assert node.change_state("activate")
        assert gpu_min.read_text() != before, "the governor pinned the GPU clock"
        assert node.change_state("deactivate") and gpu_min.read_text() == before
        assert node.change_state("activate") and gpu_min.read_text() != before
        assert node.change_state("shutdown") and node.lifecycle_state == "finalized"
        assert gpu_min.read_text() == before, "restored on shutdown straight from active"
    finally:
        node.destroy()
