"""ROS 2 parameter services over the DDS adapter: what `ros2 param get/set/list/describe` do, validated,
with rclpy's semantics (tests/ros/test_param_parity.py holds the two runtimes to the same answers)."""

from __future__ import annotations

import threading

import pytest

from dvfo_core.errors import ConfigError
from dvfo_core.runtime.dds import DdsNode, Executor
from dvfo_core.runtime.msgs import message_class, to_rosbags, typestore
from dvfo_core.runtime.param_services import ParameterClient
from dvfo_core.runtime.params import ParamSpec
from dvfo_core.runtime.services import service_topics


@pytest.fixture
def running_node(dds_domain: int):
    node = DdsNode("governor", namespace="/robot1")
    node.declare_all(
        [
            ParamSpec("eta", 0.5, min=0.0, max=1.0),
            ParamSpec("method", "dvfo", choices=["dvfo", "edge_only_max"]),
            ParamSpec("models", ["resnet18"]),
        ]
    )
    seen: list = []
    node.on_param_change(lambda name, value: seen.append((name, value)))
    executor = Executor([node])
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    yield node, seen
    executor.stop()
    thread.join(timeout=2)


def test_service_names_follow_rmw() -> None:
    assert service_topics("governor", "set_parameters", "/robot1") == (
        "rq/robot1/governor/set_parametersRequest",
        "rr/robot1/governor/set_parametersReply",
    )
    req = message_class("rcl_interfaces/srv/SetParameters_Request")
    assert req.__idl_typename__ == "rcl_interfaces::srv::dds_::SetParameters_Request_"
    # the wrapper is the rmw_cyclonedds request header followed by the request, as rosbags encodes it
    msg = req(client_guid=7, sequence_number=3)
    assert msg.serialize()[4:20] == (7).to_bytes(8, "little") + (3).to_bytes(8, "little")
    reference = bytes(typestore().serialize_cdr(to_rosbags(msg), "rcl_interfaces/srv/SetParameters_Request"))
    assert msg.serialize()[: len(reference)] == reference


def test_get_and_set_through_the_services(running_node) -> None:
    node, seen = running_node
    client = ParameterClient("governor", "robot1", timeout_s=10)
    assert client.get("eta") == 0.5
    assert client.set("eta", 0.8) == (True, "")
    assert node.param("eta") == 0.8 and client.get("eta") == 0.8
    ok, reason = client.set("eta", 3)
    assert not ok and "parameter governor.eta: 3.0 is above the maximum 1.0" in reason
    ok, reason = client.set("method", "cloud_only")
    assert not ok and "is not one of" in reason
    assert client.set("method", "edge_only_max") == (True, "")
    assert client.get("models") == ["resnet18"]
    assert client.get("nope") is None
    assert seen == [("eta", 0.8), ("method", "edge_only_max")]


def test_absent_node_is_one_clear_error(dds_domain: int) -> None:
    with pytest.raises(ConfigError, match="node 'ghost' is not running"):
        ParameterClient("ghost", timeout_s=0.5).get("eta")


@pytest.fixture
def nested_node(dds_domain: int):
    node = DdsNode("camera")
    node.declare_all(
        [
            ParamSpec("rate_hz", 10.0, "frames per second", min=0.1, max=1000.0),
            ParamSpec("qos.image", "sensor_data", "QoS preset of the image topic"),
            ParamSpec("compressed.format", "jpeg", "codec", choices=["jpeg", "png"]),
            ParamSpec("compressed.jpeg.quality", 90, "JPEG quality", read_only=True),
        ]
    )
    executor = Executor([node])
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    yield node
    executor.stop()
    thread.join(timeout=2)


def test_list_answers_names_and_prefixes_by_depth_as_rclpy_does(nested_node: DdsNode) -> None:
    client = ParameterClient("camera", timeout_s=10)
    names = ["rate_hz", "qos.image", "compressed.format", "compressed.jpeg.quality"]
    everything = (names, ["qos", "compressed", "compressed.jpeg"])
    assert client.list_names() == everything, "no prefix, depth 0: every level"
    assert client.list_names([], 1) == (["rate_hz"], [])
    assert client.list_names([], 2) == (names[:3], ["qos", "compressed"])
    assert client.list_names(["compressed"], 0) == (names[2:], ["compressed", "compressed.jpeg"])
    assert client.list_names(["compressed"], 1) == (["compressed.format"], ["compressed"])
    assert client.list_names(["rate_hz", "nope"], 0) == (["rate_hz"], [])


def test_describe_and_types_say_what_is_declared_and_nothing_for_an_unknown_name(
    nested_node: DdsNode,
) -> None:
    client = ParameterClient("camera", timeout_s=10)
    rate, fmt, quality = client.describe(["rate_hz", "compressed.format", "compressed.jpeg.quality"])
    assert (rate.name, rate.type, rate.description, rate.additional_constraints, rate.read_only) == (
        "rate_hz", 3, "frames per second", "min 0.1; max 1000.0", False
    )
    assert (fmt.type, fmt.additional_constraints) == (4, "one of jpeg, png")
    assert (quality.type, quality.read_only) == (2, True)
    assert client.types(["rate_hz", "qos.image", "compressed.jpeg.quality"]) == [3, 4, 2]
    # rclpy's semantics: one undeclared name and the whole answer is empty
    assert client.describe(["rate_hz", "nope"]) == [] and client.types(["nope"]) == []
    assert client.get("nope") is None
