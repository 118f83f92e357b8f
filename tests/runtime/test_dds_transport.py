"""The DDS adapter carries every message type intact between processes, the ROS 2 way."""


import subprocess
import sys
import time
from pathlib import Path

from cyclonedds.builtin import BuiltinDataReader, BuiltinTopicDcpsPublication
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from ros2_types import RosImage
from samples import TYPES, assert_same, make_sample

from dvfo_core.runtime.dds import DdsNode, Executor, participant

HERE = Path(__file__).parent


def _start_publisher(types: list[str], count: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(HERE / "publisher_process.py"), "--count", str(count), *types],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_every_message_type_crosses_processes_intact(dds_domain: int) -> None:
    node = DdsNode("test_listener")
    received: dict[str, list] = {t: [] for t in TYPES}
    for type_name in TYPES:
        topic = f"/test/{type_name.split('/')[-1].lower()}"
        node.subscribe(type_name, topic, received[type_name].append)
    count = 3
    proc = _start_publisher(TYPES, count)
    ex = Executor([node])
    ex.spin(20.0, until=lambda: all(len(v) >= count for v in received.values()))
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    for type_name in TYPES:
        got = received[type_name]
        assert len(got) == count, f"{type_name}: {len(got)} of {count}"
        for seq, msg in enumerate(got, start=1):
            assert_same(msg, make_sample(type_name, seq), type_name)
    # the 1 MB uint8[] of FeatureMap arrived whole
    assert len(received["dvfo_msgs/msg/FeatureMap"][0].data) == 1_000_000


def test_independent_ros2_style_subscriber_receives_image(dds_domain: int) -> None:
    """What a real ROS 2 node sees: plain cyclonedds types named the ROS 2 way."""
    dp = participant()
    reader = DataReader(dp, Topic(dp, "rt/test/image", RosImage))
    proc = _start_publisher(["sensor_msgs/msg/Image"], 1)
    got: list[RosImage] = []
    end = time.monotonic() + 20
    while not got and time.monotonic() < end:
        got = [s for s in reader.take(N=4) if isinstance(s, RosImage)]
        time.sleep(0.02)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert len(got) == 1
    expected = make_sample("sensor_msgs/msg/Image", 1)
    img = got[0]
    assert (img.height, img.width, img.encoding, img.step) == (500, 500, "rgb8", 1500)
    assert img.header.frame_id == "camera_1"
    assert img.header.stamp.sec == expected.header.stamp.sec
    assert bytes(img.data) == expected.data.tobytes()


def test_project_writers_advertise_no_type_information(dds_domain: int) -> None:
    """rmw_cyclonedds_cpp sends no TypeInformation; neither may we (other vendors never match)."""
    node = DdsNode("test_typeinfo")
    node.publisher("dvfo_msgs/msg/Telemetry", "/test/typeinfo")
    node.publisher("sensor_msgs/msg/Image", "/test/typeinfo_image")
    # a second node in the same process, the same type on another topic (Cyclone shares the sertype)
    DdsNode("test_typeinfo_2").publisher("dvfo_msgs/msg/Telemetry", "/test/typeinfo_again")
    from cyclonedds.domain import DomainParticipant

    observer = DomainParticipant(dds_domain)
    reader = BuiltinDataReader(observer, BuiltinTopicDcpsPublication)
    seen = {}
    end = time.monotonic() + 10
    while len(seen) < 3 and time.monotonic() < end:
        for s in reader.take(N=64):
            if s.topic_name.startswith("rt/test/typeinfo"):
                seen[s.topic_name] = s
        time.sleep(0.05)
    assert set(seen) == {"rt/test/typeinfo", "rt/test/typeinfo_image", "rt/test/typeinfo_again"}
    assert seen["rt/test/typeinfo"].type_name == "dvfo_msgs::msg::dds_::Telemetry_"
    for sample in seen.values():
        assert sample.type_id is None, f"{sample.topic_name} advertises {sample.type_id}"
