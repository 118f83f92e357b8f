"""DDS-adapter nodes announce themselves on ``ros_discovery_info`` as rmw does, which is how ROS 2
tools find nodes (tests/ros checks it against rclpy itself): in the layout of Jazzy and later, or
in Humble's where the robot's ROS 2 is Humble (``ROS_DISTRO=humble``, set by its setup script)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from cyclonedds.core import Policy, Qos
from cyclonedds.sub import DataReader
from rosbags.typesys import Stores, get_typestore

from dvfo_core.runtime.dds import DdsNode, dds_topic
from dvfo_core.runtime.dds_graph import DISCOVERY_TOPIC, PARTICIPANT_INFO, announcer
from dvfo_core.runtime.msgs import graph_store

#: A process of a Humble robot: its announcement's wire bytes, as hex, with its GUIDs.
HUMBLE_PROCESS = """
from dvfo_core.runtime.dds import DdsNode
from dvfo_core.runtime.dds_graph import announcer
node = DdsNode("on_humble")
pub = node.publisher("std_msgs/msg/String", "chatter")
print(announcer(node.dp).message().serialize(use_version_2=False).hex())
print(node.dp.guid.bytes.hex(), pub._writer.guid.bytes.hex())
node.destroy()
"""


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


def test_the_layout_follows_the_robots_ros_distro() -> None:
    assert graph_store({"ROS_DISTRO": "humble"}) == Stores.ROS2_HUMBLE
    for distro in ("jazzy", "kilted", "rolling", ""):
        assert graph_store({"ROS_DISTRO": distro}) == Stores.ROS2_KILTED


def test_on_humble_the_wire_bytes_are_humbles_with_24_byte_gids(dds_domain: int) -> None:
    run = subprocess.run(
        [sys.executable, "-c", HUMBLE_PROCESS], env={**os.environ, "ROS_DISTRO": "humble"},
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    wire, guids = run.stdout.split()[0], run.stdout.split()[1:]
    ours = bytes.fromhex(wire)
    store = get_typestore(Stores.ROS2_HUMBLE)
    theirs = store.deserialize_cdr(ours, PARTICIPANT_INFO)
    participant, writer = (bytes.fromhex(g) for g in guids)
    assert bytes(theirs.gid.data) == participant + bytes(8), "the GUID, then zeros, as Humble's RMWs fill it"
    (entry,) = theirs.node_entities_info_seq
    assert entry.node_name == "on_humble"
    assert writer + bytes(8) in {bytes(g.data) for g in entry.writer_gid_seq}
    reference = store.serialize_cdr(theirs, PARTICIPANT_INFO)
    assert ours[: len(reference)] == reference and len(ours) - len(reference) < 4
