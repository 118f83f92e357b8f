"""The camera publishes nothing until the subscribers it is told to wait for have matched: the
head's image reader, and with ``wait_for_label_subscribers`` also an evaluation monitor's
ground-truth reader (a volatile label written before that reader matched would be lost)."""

from __future__ import annotations

from dvfo_core.runtime.dds import DdsNode, Executor
from dvfo_edge.camera_node import Camera


def _camera(**params: object) -> tuple[DdsNode, Camera]:
    """A configured camera whose own timer stays silent (the test ticks it)."""
    overrides = {"source": "mnist", "rate_hz": 0.1, "width": 32, "height": 32, **params}
    node = DdsNode("camera", overrides=overrides)
    camera = Camera(node)
    camera.on_configure()
    return node, camera


def test_with_an_image_reader_but_no_label_reader_the_camera_waits(dds_domain: int) -> None:
    node, camera = _camera(wait_for_subscribers=True, wait_for_label_subscribers=True)
    head = DdsNode("head")
    images: list = []
    head.subscribe("sensor_msgs/msg/Image", "/camera/image_raw", images.append, "sensor_data")
    executor = Executor([node, head])
    for _ in range(10):
        camera.tick()
        executor.spin_once(0.02)
    assert camera.published == 0 and images == [], "no label reader yet: nothing is published"

    monitor = DdsNode("monitor")
    labels: list = []
    monitor.subscribe("dvfo_msgs/msg/GroundTruth", "/camera/ground_truth", labels.append)
    executor = Executor([node, head, monitor])
    for _ in range(10):
        camera.tick()
        executor.spin_once(0.02)
    executor.spin(2.0, until=lambda: len(labels) == camera.published and len(images) == camera.published)
    assert camera.published == 10
    stamps = [(m.header.stamp.sec, m.header.stamp.nanosec) for m in images]
    assert [(m.header.stamp.sec, m.header.stamp.nanosec) for m in labels] == stamps, (
        "the monitor has the label of every image, from the first"
    )


def test_without_the_label_flag_an_image_reader_is_enough(dds_domain: int) -> None:
    _node, camera = _camera(wait_for_subscribers=True)
    head = DdsNode("head")
    head.subscribe("sensor_msgs/msg/Image", "/camera/image_raw", lambda _m: None, "sensor_data")
    camera.tick()
    assert camera.published == 1
