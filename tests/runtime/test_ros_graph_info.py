"""DDS-adapter nodes announce themselves on ``ros_discovery_info`` as rmw does (Jazzy and later
layout), which is how ROS 2 tools find nodes (tests/ros checks it against rclpy itself)."""

from __future__ import annotations

import time

from cyclonedds.core import Policy, Qos
from cyclonedds.sub import DataReader
from rosbags.typesys import Stores, get_typestore

from dvfo_core.runtime.dds import DdsNode, dds_topic
from dvfo_core.runtime.dds_graph import DISCOVERY_TOPIC, PARTICIPANT_INFO, announcer


def _read_latest(node: DdsNode, timeout_s: float = 5.0) -> object:
    topic, _cls = dds_topic(node.dp, PARTICIPANT_INFO, DISCOVERY_TOPIC)
    qos = Qos(Policy.Reliability.Reliable(0), Policy.Durability.TransientLocal, Policy.History.KeepLast(1))
    reader = DataReader(node.dp, topic, qos=qos)
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        samples = [s for s in reader.take(10) if hasattr(s, "gid")]
        if samples:
            return samples[-1]
        time.sleep(0.05)
    raise AssertionError("nothing on ros_discovery_info")


def test_a_node_and_its_endpoints_are_announced_by_guid(dds_domain: int) -> None:
    node = DdsNode("announced", namespace="/robot1")
    pub = node.publisher("std_msgs/msg/String", "chatter")
    sub = node.subscribe("std_msgs/msg/String", "heard", lambda _m: None)
    info = _read_latest(node)
    assert bytes(info.gid.data) == node.dp.guid.bytes
    entry = next(n for n in info.node_entities_info_seq if n.node_name == "announced")
    assert entry.node_namespace == "/robot1"
    writers = {bytes(g.data) for g in entry.writer_gid_seq}
    readers = {bytes(g.data) for g in entry.reader_gid_seq}
    assert pub._writer.guid.bytes in writers and sub.reader.guid.bytes in readers
    assert len(writers) >= 3, "the parameter services' reply writers are the node's too"
    node.destroy()


def test_wire_bytes_are_ros_2_kilted_participant_entities_info(dds_domain: int) -> None:
    node = DdsNode("announced")
    msg = announcer(node.dp).message()
    store = get_typestore(Stores.ROS2_KILTED)
    ours = msg.serialize(use_version_2=False)
    theirs = store.deserialize_cdr(ours, PARTICIPANT_INFO)
    assert bytes(theirs.gid.data) == node.dp.guid.bytes  # 16 bytes, not Humble's 24
    assert [n.node_name for n in theirs.node_entities_info_seq] == ["announced"]
    reference = store.serialize_cdr(theirs, PARTICIPANT_INFO)
    assert ours[: len(reference)] == reference and len(ours) - len(reference) < 4  # Cyclone pads to 4
    node.destroy()
