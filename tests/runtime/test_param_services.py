"""ROS 2 parameter services over the DDS adapter: what `ros2 param get/set` does, validated."""

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
