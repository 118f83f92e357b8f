"""The rclpy adapter on ROS 2 itself: messages, parameters, lifecycle and signals as the port
promises, with the same validation as the DDS adapter."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor

from dvfo_core.errors import ConfigError
from dvfo_core.runtime import make_node
from dvfo_core.runtime.params import ParameterError, ParamSpec
from dvfo_core.runtime.ros import RosNode, get_message


@pytest.fixture
def rclpy_runtime(monkeypatch: pytest.MonkeyPatch, dds_domain: int) -> Iterator[None]:
    monkeypatch.setenv("DVFO_RUNTIME", "rclpy")
    yield
    rclpy.try_shutdown()


def test_message_classes_come_from_the_rosidl_packages_without_rosidl_runtime_py() -> None:
    from sensor_msgs.msg import Image

    from dvfo_msgs.msg import FeatureMap

    assert get_message("dvfo_msgs/msg/FeatureMap") is FeatureMap
    assert get_message("sensor_msgs/Image") is Image
    with pytest.raises(ConfigError, match="no Python package"):
        get_message("no_such_msgs/msg/Thing")
    with pytest.raises(ConfigError, match="has no Nothing"):
        get_message("std_msgs/msg/Nothing")
    with pytest.raises(ConfigError, match="expected pkg/msg/Name"):
        get_message("Header")


def test_rclpy_keeps_its_hands_off_the_signals(rclpy_runtime: None) -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    node = make_node("probe")
    assert node.runtime == "rclpy"
    assert {sig: signal.getsignal(sig) for sig in before} == before, "the node decides how to stop"
    node.destroy()
    assert not rclpy.ok(), "the last node of the process shuts rclpy down"


def test_two_nodes_in_one_process_each_get_their_own_parameters(rclpy_runtime: None) -> None:
    spec = ParamSpec("eta", 0.5, "energy weight", min=0.0, max=1.0)
    first = make_node("first", overrides={"eta": 0.25})
    second = make_node("second", overrides={"eta": 0.75})
    try:
        assert first.declare(spec) == 0.25 and second.declare(spec) == 0.75
        second.set_param("eta", 0.9)
        assert second.param("eta") == 0.9
        with pytest.raises(ParameterError, match=r"above the maximum 1\.0"):
            second.set_param("eta", 1.5)
        assert second.param("eta") == 0.9, "a rejected value changes nothing"
    finally:
        first.destroy()
        second.destroy()


def test_topics_between_two_rclpy_nodes_carry_numpy_sized_payloads(rclpy_runtime: None) -> None:
    a, b = RosNode("sender"), RosNode("receiver")
    got: list = []
    b.subscribe("dvfo_msgs/msg/FeatureMap", "/dvfo/feature_map", got.append)
    pub = a.publisher("dvfo_msgs/msg/FeatureMap", "/dvfo/feature_map")
    executor = SingleThreadedExecutor()
    executor.add_node(a.rclpy_node)
    executor.add_node(b.rclpy_node)
    try:
        while a.subscriber_count(pub) == 0:
            executor.spin_once(timeout_sec=0.1)
        msg = a.msg("dvfo_msgs/msg/FeatureMap")(frame_seq=7, encoding="int8+zstd")
        payload = os.urandom(1 << 20)
        msg.data = payload
        msg.scale = [0.5, 0.25]
        pub.publish(msg)
        for _ in range(100):
            if got:
                break
            executor.spin_once(timeout_sec=0.1)
        assert got and got[0].frame_seq == 7 and bytes(got[0].data) == payload
        assert list(got[0].scale) == [0.5, 0.25]
    finally:
        executor.shutdown()
        a.destroy()
        b.destroy()


class _Logic:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def on_configure(self) -> None:
        self.calls.append("configure")

    def on_activate(self) -> None:
        self.calls.append("activate")

    def on_deactivate(self) -> None:
        self.calls.append("deactivate")

    def on_shutdown(self) -> None:
        self.calls.append("shutdown")


def test_a_managed_node_runs_the_logic_through_rcl_lifecycle(rclpy_runtime: None) -> None:
    node = make_node("managed", managed=True)
    logic = _Logic()
    node.manage(logic)
    assert node.lifecycle_state == "unconfigured"
    assert node.change_state("configure") and node.change_state("activate")
    assert node.lifecycle_state == "active"
    assert node.change_state("deactivate") and node.change_state("shutdown")
    assert node.lifecycle_state == "finalized"
    assert logic.calls == ["configure", "activate", "deactivate", "shutdown"]
    node.destroy()
