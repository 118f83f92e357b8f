"""What a ROS 2 tool sees of the camera node: plain cyclonedds types named the ROS 2 way."""

import time
from pathlib import Path

from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from graph_helpers import write_params
from ros2_types import RosDiagnosticArray, RosImage

from dvfo_core.graph import load_graph
from dvfo_core.launcher import Launch
from dvfo_core.runtime.dds import participant, to_dds_qos
from dvfo_core.runtime.qos import parse_qos


def test_camera_image_and_diagnostics_as_a_ros2_tool_sees_them(tmp_path: Path, dds_domain: int) -> None:
    params = write_params(tmp_path, camera={"source": "pattern", "width": 32, "height": 24, "rate_hz": 20.0})
    camera = [e for e in load_graph("edge") if e.name == "camera"]
    dp = participant()
    images = DataReader(
        dp, Topic(dp, "rt/camera/image_raw", RosImage), qos=to_dds_qos(parse_qos("sensor_data"))
    )
    diags = DataReader(
        dp, Topic(dp, "rt/diagnostics", RosDiagnosticArray), qos=to_dds_qos(parse_qos("default"))
    )
    launch = Launch(camera, params)
    got_images: list[RosImage] = []
    got_diags: list[RosDiagnosticArray] = []
    try:
        end = time.monotonic() + 60
        while (len(got_images) < 5 or not got_diags) and time.monotonic() < end:
            got_images += [s for s in images.take(N=16) if isinstance(s, RosImage)]
            got_diags += [s for s in diags.take(N=16) if isinstance(s, RosDiagnosticArray)]
            time.sleep(0.05)
    finally:
        launch.shutdown()
    assert len(got_images) >= 5
    img = got_images[0]
    assert (img.width, img.height, img.encoding, img.step) == (32, 24, "rgb8", 96)
    assert len(img.data) == 32 * 24 * 3
    assert img.header.frame_id == "camera" and img.header.stamp.sec > 1_600_000_000
    status = got_diags[0].status[0]
    assert status.name == "camera: stream" and status.level == 0
    assert {kv.key for kv in status.values} >= {"published", "source"}
