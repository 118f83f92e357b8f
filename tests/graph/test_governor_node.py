"""The governor node on the DDS adapter: lifecycle, run-time parameters, safe fallback, clocks
restored."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from graph_helpers import Collector

from dvfo_core.device.twin import TwinModel
from dvfo_core.runtime.dds import DdsNode
from dvfo_core.runtime.params import ParameterError
from dvfo_edge.governor_node import GovernorNode

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sysfs"


def _telemetry(node: DdsNode, seq: int, latency_ms: float = 60.0, mbps: float = 2.0) -> object:
    tel = node.msg("dvfo_msgs/msg/Telemetry")(frame_seq=seq, device="jetson-nano", backend="twin")
    tel.latency_ms, tel.head_ms, tel.edge_tail_ms, tel.bandwidth_mbps, tel.rtt_ms = (
        latency_ms,
        20.0,
        30.0,
        mbps,
        20,
    )
    tel.power_w, tel.energy_j, tel.temperature_c = 5.0, 0.3, 45.0
    return tel


def _managed(node: DdsNode) -> GovernorNode:
    gov = GovernorNode(node)
    node.manage(gov)
    return gov


def _bring_up(node: DdsNode) -> GovernorNode:
    gov = _managed(node)
    assert node.change_state("configure") and node.change_state("activate")
    return gov


def test_governor_decides_per_frame_and_takes_runtime_parameters(collector: Collector) -> None:
    node = DdsNode("governor", overrides={"method": "dvfo", "eta": 0.5})
    gov = _bring_up(node)
    actions: list = []
    collector.node.subscribe("dvfo_msgs/msg/DvfsAction", "/dvfo/action", actions.append)
    tel_pub = collector.node.publisher("dvfo_msgs/msg/Telemetry", "/dvfo/telemetry")
    collector.executor.add(node)
    assert collector.spin_until(lambda: collector.node.subscriber_count(tel_pub) > 0, 10)
    for seq in range(1, 6):
        tel_pub.publish(_telemetry(collector.node, seq))
    assert collector.spin_until(lambda: len(actions) >= 5, 10)
    assert [a.frame_seq for a in actions[-5:]] == [2, 3, 4, 5, 6]  # decided for the next frame
    assert all(a.method == "dvfo" and not a.safe_fallback and a.decision_ms < 50 for a in actions[-5:])

    tel_pub.publish(_telemetry(collector.node, 6, latency_ms=math.nan))  # NaN in telemetry
    assert collector.spin_until(lambda: actions[-1].frame_seq == 7, 10)
    top = TwinModel("jetson-nano").max_levels()
    assert actions[-1].safe_fallback and actions[-1].xi == 0.0
    assert (actions[-1].cpu_level, actions[-1].gpu_level, actions[-1].emc_level) == (
        top.cpu,
        top.gpu,
        top.emc,
    )

    node.set_param("eta", 0.9)
    assert gov.governor.eta == 0.9
    with pytest.raises(ParameterError, match="above the maximum"):
        node.set_param("eta", 1.5)
    with pytest.raises(ParameterError, match="not one of"):
        node.set_param("method", "cloud_only")
    with pytest.raises(Exception, match="no policy file"):
        node.set_param("policy", "/nonexistent/policy.npz")
    assert gov.governor.method == "dvfo" and node.param("policy") == ""  # unchanged after rejections
    node.set_param("method", "edge_only_max")
    tel_pub.publish(_telemetry(collector.node, 7))
    assert collector.spin_until(lambda: actions[-1].frame_seq == 8, 10)
    last = actions[-1]
    assert last.method == "edge_only_max" and last.xi == 0.0 and last.eta == pytest.approx(0.9)
    with pytest.raises(Exception, match="fixed while the node is configured"):
        node.set_param("device", "jetson-xavier-nx")
    node.change_state("shutdown")


def test_policy_for_another_device_is_refused(collector: Collector, tmp_path: Path) -> None:
    from dvfo_core.learning.policy import shipped_policy_path

    nano_policy = str(shipped_policy_path("jetson-nano", "resnet18", "MAXN"))
    node = DdsNode("governor", overrides={"device": "jetson-agx-orin", "policy": nano_policy})
    _managed(node)
    assert not node.change_state("configure"), "configure fails: the policy is for another board"
    assert node.lifecycle_state == "unconfigured"
    node.set_param("policy", "")  # unconfigured: world-shaping parameters may change
    node.set_param("method", "edge_only_max")
    assert node.change_state("configure") and node.lifecycle_state == "inactive"
    node.change_state("shutdown")


def test_sysfs_clocks_pinned_while_active_and_restored_on_deactivate(
    collector: Collector, tmp_path: Path
) -> None:
    root = tmp_path / "nano"
    shutil.copytree(FIXTURES / "jetson-nano", root, symlinks=True)
    gpu_min = next(root.rglob("devfreq/*/min_freq"))
    before = gpu_min.read_text()
    node = DdsNode(
        "governor",
        overrides={"method": "edge_only_default", "backend": "sysfs", "sysfs_root": str(root)},
    )
    gov = _managed(node)
    assert node.change_state("configure")  # probes the board: tables read, nothing written
    assert not gov.device.read_only and gpu_min.read_text() == before
    assert node.change_state("activate")  # decides and applies the first frame's clocks
    twin = TwinModel("jetson-nano")
    wanted = twin.clocks(twin.default_levels()).gpu_hz
    expected = min(gov.device.table.gpu_hz, key=lambda f: abs(f - wanted))
    assert int(gpu_min.read_text()) == expected != int(before), "the governor pinned the GPU clock"
    assert node.change_state("deactivate")
    assert gpu_min.read_text() == before, "clocks restored on deactivate"
    assert node.change_state("activate") and int(gpu_min.read_text()) == expected
    assert node.change_state("shutdown") and node.lifecycle_state == "finalized"
    assert gpu_min.read_text() == before, "clocks restored on shutdown straight from active"
