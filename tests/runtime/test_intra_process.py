"""Nodes sharing a process (a container) hand messages over as objects; everyone else gets DDS."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cyclonedds.sub import DataReader
from samples import assert_same, make_sample

from dvfo_core.runtime.dds import DdsNode, Executor, dds_topic, participant, to_dds_qos
from dvfo_core.runtime.qos import parse_qos

HERE = Path(__file__).parent


def test_same_process_delivery_is_the_object_itself_and_skips_dds(dds_domain: int) -> None:
    camera, head = DdsNode("camera", intra_process=True), DdsNode("head", intra_process=True)
    got: list = []
    head.subscribe("std_msgs/msg/String", "/chatter", got.append)
    pub = camera.publisher("std_msgs/msg/String", "/chatter")
    assert pub.matched_count() == 1, "the intra-process subscription counts as a match"
    msg = pub.msg_class(data="frame 1")
    pub.publish(msg)
    Executor([camera, head]).spin_once(0.5)
    assert got == [msg] and got[0] is msg, "handed over, not serialised"


def test_an_outside_subscriber_gets_one_dds_copy_and_the_local_one_no_duplicate(dds_domain: int) -> None:
    camera, head = DdsNode("camera", intra_process=True), DdsNode("head", intra_process=True)
    local: list = []
    head.subscribe("std_msgs/msg/String", "/chatter", local.append)
    pub = camera.publisher("std_msgs/msg/String", "/chatter")
    dp = participant()
    topic, cls = dds_topic(dp, "std_msgs/msg/String", "rt/chatter")
    outside = DataReader(dp, topic, qos=to_dds_qos(parse_qos("default")))  # e.g. `ros2 topic echo`
    executor = Executor([camera, head])
    executor.spin(10, until=lambda: pub.matched_count() == 2)
    for i in range(3):
        pub.publish(pub.msg_class(data=f"frame {i}"))
    remote: list = []

    def all_arrived() -> bool:
        remote.extend(s for s in outside.take(N=8) if isinstance(s, cls))
        return len(remote) == 3 and len(local) == 3

    executor.spin(5, until=all_arrived)
    assert [m.data for m in remote] == [m.data for m in local] == ["frame 0", "frame 1", "frame 2"]
    executor.spin(0.3)
    assert len(local) == 3, "the intra-process node ignores the DDS copy of its own process"


def test_keep_last_depth_holds_for_queued_messages(dds_domain: int) -> None:
    camera, head = DdsNode("camera", intra_process=True), DdsNode("head", intra_process=True)
    got: list = []
    head.subscribe("std_msgs/msg/String", "/chatter", got.append, "sensor_data")  # keep last 5
    pub = camera.publisher("std_msgs/msg/String", "/chatter", "sensor_data")
    for i in range(20):
        pub.publish(pub.msg_class(data=str(i)))
    Executor([camera, head]).spin_once(0.5)
    assert [m.data for m in got] == ["15", "16", "17", "18", "19"]


def test_messages_from_other_processes_still_arrive_over_dds(dds_domain: int) -> None:
    head = DdsNode("head", intra_process=True)
    got: list = []
    head.subscribe("sensor_msgs/msg/Image", "/test/image", got.append)
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "publisher_process.py"), "--count", "2", "sensor_msgs/msg/Image"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    Executor([head]).spin(20, until=lambda: len(got) == 2)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    for seq, msg in enumerate(got, start=1):
        assert_same(msg, make_sample("sensor_msgs/msg/Image", seq), "sensor_msgs/msg/Image")


def test_transient_local_samples_are_written_even_before_anyone_listens(dds_domain: int) -> None:
    governor = DdsNode("governor")
    pub = governor.publisher("std_msgs/msg/String", "/latched", "transient_local")
    pub.publish(pub.msg_class(data="last action"))  # nobody matched yet: still kept for late joiners
    late = DdsNode("late_joiner")
    got: list = []
    late.subscribe("std_msgs/msg/String", "/latched", got.append, "transient_local")
    Executor([governor, late]).spin(10, until=lambda: bool(got))
    assert [m.data for m in got] == ["last action"]
