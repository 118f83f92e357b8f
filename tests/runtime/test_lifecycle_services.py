"""Managed DDS nodes: `ros2 lifecycle` services on the rmw wire, callback gating, transition events."""

from __future__ import annotations

import threading
import time

import pytest

from dvfo_core.errors import ConfigError
from dvfo_core.runtime.dds import DdsNode, Executor
from dvfo_core.runtime.diagnostics import Diagnostics, Status
from dvfo_core.runtime.lifecycle_services import LifecycleClient, all_state_labels
from dvfo_core.runtime.msgs import message_class, to_rosbags, typestore
from dvfo_core.runtime.services import service_topics


class Counter:
    """Counts messages and timer ticks; configure can be made to fail."""

    def __init__(self, node: DdsNode) -> None:
        self.messages = 0
        self.ticks = 0
        self.configured = 0
        self.refuse = False
        node.subscribe("std_msgs/msg/String", "/chatter", self.on_msg)
        node.timer(0.01, self.on_tick)
        Diagnostics(node, period_s=0.05).add("counting", lambda: Status(message="counting"))

    def on_msg(self, _msg: object) -> None:
        self.messages += 1

    def on_tick(self) -> None:
        self.ticks += 1

    def on_configure(self) -> None:
        if self.refuse:
            raise ConfigError("no checkpoint")
        self.configured += 1


@pytest.fixture
def managed(dds_domain: int):
    node = DdsNode("head", namespace="/robot1")
    logic = Counter(node)
    node.manage(logic)
    outside = DdsNode("outside")
    events: list = []
    diagnostics: list = []
    outside.subscribe("lifecycle_msgs/msg/TransitionEvent", "/robot1/head/transition_event", events.append)
    outside.subscribe("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", diagnostics.append)
    chatter = outside.publisher("std_msgs/msg/String", "/chatter")
    executor = Executor([node, outside])
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    yield node, logic, chatter, events, diagnostics
    executor.stop()
    thread.join(timeout=2)


def _publish_for(pub, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pub.publish(pub.msg_class(data="hi"))
        time.sleep(0.01)


def test_wire_names_and_request_layout_follow_rmw() -> None:
    assert service_topics("head", "change_state", "/robot1") == (
        "rq/robot1/head/change_stateRequest",
        "rr/robot1/head/change_stateReply",
    )
    req = message_class("lifecycle_msgs/srv/GetState_Request")
    assert req.__idl_typename__ == "lifecycle_msgs::srv::dds_::GetState_Request_"
    msg = req(client_guid=7, sequence_number=3)  # an empty request carries rosidl's one placeholder byte
    reference = bytes(typestore().serialize_cdr(to_rosbags(msg), "lifecycle_msgs/srv/GetState_Request"))
    assert msg.serialize() == reference and len(reference) == 4 + 8 + 8 + 1
    assert all_state_labels()[:4] == ["unconfigured", "inactive", "active", "finalized"]


def test_ros2_lifecycle_get_set_list_over_dds(managed) -> None:
    node, logic, _chatter, events, _diag = managed
    client = LifecycleClient("head", "robot1", timeout_s=10)
    assert client.get() == "unconfigured"
    assert client.available() == ["configure", "shutdown"]
    assert not client.set("activate"), "not available from unconfigured"
    logic.refuse = True
    assert not client.set("configure") and client.get() == "unconfigured"
    logic.refuse = False
    assert client.set("configure") and client.get() == "inactive" and logic.configured == 1
    assert client.available() == ["cleanup", "activate", "shutdown"]
    assert client.set("activate") and node.lifecycle_state == "active"
    deadline = time.monotonic() + 5
    while len(events) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [(e.start_state.label, e.goal_state.label, e.transition.label) for e in events[-2:]] == [
        ("unconfigured", "inactive", "configure"),
        ("inactive", "active", "activate"),
    ]


def test_callbacks_run_only_while_active_and_diagnostics_always(managed) -> None:
    node, logic, chatter, _events, diagnostics = managed
    _publish_for(chatter, 0.5)
    assert logic.messages == 0 and logic.ticks == 0, "unconfigured: subscriptions and timers are gated"
    assert diagnostics and diagnostics[-1].status[0].message == "unconfigured: not processing"
    assert node.change_state("configure") and node.change_state("activate")
    _publish_for(chatter, 0.5)
    assert logic.messages > 10 and logic.ticks > 10
    time.sleep(0.1)
    assert diagnostics[-1].status[0].message == "counting"
    assert node.change_state("deactivate")
    seen_messages, seen_ticks = logic.messages, logic.ticks
    _publish_for(chatter, 0.3)
    assert (logic.messages, logic.ticks) == (seen_messages, seen_ticks), "inactive: nothing runs"
    values = {kv.key: kv.value for kv in diagnostics[-1].status[0].values}
    assert values["lifecycle_state"] == "inactive"
