"""camera: publishes ``sensor_msgs/Image`` on ``/camera/image_raw`` (or, with ``image_transport:
compressed``, ``sensor_msgs/CompressedImage`` on ``/camera/image_raw/compressed``) from a test
pattern, a labelled data set, an image folder, a video file or a rosbag2 replay. Any camera driver
can replace it."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np

from dvfo_core.camera import SOURCES, Frame, open_source
from dvfo_core.errors import ConfigError
from dvfo_core.images import (
    COMPRESSED_FORMATS,
    IMAGE_TRANSPORTS,
    JPEG_QUALITY,
    RAW_ENCODINGS,
    canonical_encoding,
    compress,
    encode,
)
from dvfo_core.runtime.diagnostics import WARN, Diagnostics, Status
from dvfo_core.runtime.node_main import run_node
from dvfo_core.runtime.params import ParamSpec
from dvfo_core.runtime.port import Node

PARAMS = [
    ParamSpec("source", "pattern", "pattern | mnist | digits | folder | video | bag", choices=SOURCES),
    ParamSpec("path", "", "folder, video file or bag for those sources"),
    ParamSpec("bag_topic", "/camera/image_raw", "image topic inside the bag"),
    ParamSpec("rate_hz", 10.0, "frames per second", min=0.1, max=1000.0),
    ParamSpec("width", 224, "output width in pixels (0: keep the source's)", min=0),
    ParamSpec("height", 224, "output height in pixels (0: keep the source's)", min=0),
    ParamSpec("encoding", "rgb8", "sensor_msgs/image_encodings name", choices=list(RAW_ENCODINGS)),
    ParamSpec(
        "image_transport",
        "raw",
        "raw: sensor_msgs/Image on /camera/image_raw; compressed: sensor_msgs/CompressedImage"
        " on /camera/image_raw/compressed",
        choices=list(IMAGE_TRANSPORTS),
    ),
    ParamSpec("compressed.format", "jpeg", "codec of compressed images", choices=list(COMPRESSED_FORMATS)),
    ParamSpec("compressed.jpeg_quality", JPEG_QUALITY, "JPEG quality of compressed images", min=1, max=100),
    ParamSpec("frame_id", "camera", "header.frame_id of the images"),
    ParamSpec("loop", True, "restart the source at its end"),
    ParamSpec("count", 0, "stop after this many frames (0: never)", min=0),
    ParamSpec(
        "wait_for_subscribers",
        False,
        "publish only once a subscriber will receive the images (a match across DDS vendors counts"
        " once it has settled)",
    ),
    ParamSpec(
        "wait_for_label_subscribers",
        False,
        "also wait for a subscriber of /camera/ground_truth (an evaluation monitor that must not miss"
        " the first labels)",
    ),
    ParamSpec("qos.image", "sensor_data", "QoS preset of the image topic"),
]


class Camera:
    """Publishes one frame per timer tick while active, and its true class when the source knows it.

    Lifecycle: configure opens the source, activate starts the stream, deactivate pauses it (the
    source keeps its place), cleanup closes the source.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        p = node.declare_all(PARAMS)
        self.params = p
        self.frames: Iterator[Frame] | None = None
        self.compressed = p["image_transport"] == "compressed"
        image_type, topic = IMAGE_TRANSPORTS[p["image_transport"]]
        self.image_pub = node.publisher(image_type, topic, p["qos.image"])
        # labels are small and must not be lost: reliable, whatever the image QoS
        self.label_pub = node.publisher("dvfo_msgs/msg/GroundTruth", "/camera/ground_truth", "default")
        self.Image = node.msg(image_type)
        self.GroundTruth = node.msg("dvfo_msgs/msg/GroundTruth")
        self.published = 0
        self.exhausted = False
        node.timer(1.0 / p["rate_hz"], self.tick)  # runs while active
        diag = Diagnostics(node, hardware_id=f"camera:{p['source']}")
        diag.add("stream", self.status)

    def on_configure(self) -> None:
        """Open the source (a missing file or bag fails the transition)."""
        p = self.params
        if canonical_encoding(p["encoding"]).startswith("yuv422") and p["width"] % 2 and not self.compressed:
            raise ConfigError(f"camera: {p['encoding']} needs an even width, not {p['width']}")
        self.frames = open_source(p["source"], p["path"], p["width"], p["height"], p["loop"], p["bag_topic"])
        self.published, self.exhausted = 0, False
        self.node.logger.info(
            f"camera: {p['source']} at {p['rate_hz']} Hz, {p['width']}x{p['height']} {p['encoding']}"
            + (f", {p['compressed.format']} compressed" if self.compressed else "")
        )

    def on_cleanup(self) -> None:
        """Close the source."""
        self.frames = None

    def to_msg(self, frame: Frame, stamp: object) -> object:
        """The ``sensor_msgs/Image`` of a frame in the configured encoding, or its
        ``sensor_msgs/CompressedImage`` (``image_transport: compressed``)."""
        p = self.params
        msg = self.Image()
        msg.header.stamp = stamp
        msg.header.frame_id = p["frame_id"]
        if self.compressed:
            data, msg.format = compress(
                frame.image, p["compressed.format"], p["encoding"], p["compressed.jpeg_quality"]
            )
            msg.data = data if self.node.runtime == "rclpy" else np.frombuffer(data, np.uint8)
            return msg
        pixels, step = encode(frame.image, p["encoding"])
        msg.height, msg.width = int(frame.image.shape[0]), int(frame.image.shape[1])
        msg.encoding = p["encoding"]
        msg.is_bigendian = 0
        msg.step = step
        msg.data = pixels.tobytes() if self.node.runtime == "rclpy" else pixels
        return msg

    def tick(self) -> None:
        """Publish the next frame (and its label)."""
        count = self.params["count"]
        if self.frames is None or self.exhausted or (count and self.published >= count):
            return
        if not self.receivers_ready():
            return
        frame = next(self.frames, None)
        if frame is None:
            self.exhausted = True
            self.node.logger.info(f"camera: source ended after {self.published} frames")
            return
        stamp = self.node.stamp()
        image = self.to_msg(frame, stamp)
        if frame.label >= 0:  # first: a signal between the two publishes must not leave a frame
            gt = self.GroundTruth()  # answered without its ground truth
            gt.header.stamp = stamp
            gt.header.frame_id = self.params["frame_id"]
            gt.class_id, gt.source, gt.index = frame.label, self.params["source"], frame.index
            self.label_pub.publish(gt)
        self.image_pub.publish(image)
        self.published += 1

    def receivers_ready(self) -> bool:
        """Whether the subscribers the parameters say to wait for will receive what is published."""
        p, count = self.params, self.node.subscriber_count
        if p["wait_for_subscribers"] and count(self.image_pub) == 0:
            return False
        return not (p["wait_for_label_subscribers"] and count(self.label_pub) == 0)

    def status(self) -> Status:
        """Diagnostics: frames published, whether the source ended."""
        values = {"published": self.published, "source": self.params["source"]}
        if self.exhausted:
            return Status(WARN, "source ended", values)
        return Status(message="streaming", values=values)

    on_shutdown = on_cleanup


#: The logic a container builds for this node (``dvfo launch --container``).
LOGIC = Camera


def main(argv: list[str] | None = None) -> int:
    """``camera_node`` executable."""
    return run_node("camera", LOGIC, argv)


if __name__ == "__main__":
    sys.exit(main())
