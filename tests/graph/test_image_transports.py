"""The head reads images as cameras send them (YUV, compressed), and survives ones it cannot read.

Nodes run as separate processes over DDS; the test stands in for the rest of the graph.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from graph_helpers import Collector, write_params

from dvfo_core.camera import dataset
from dvfo_core.graph import load_graph
from dvfo_core.images import compress, encode, msg_to_rgb
from dvfo_core.launcher import Launch
from dvfo_core.runtime.port import stamp_to_ns
from dvfo_core.split.runner import SplitRunner

pytestmark = pytest.mark.slow
N = 4


def _nodes(*names: str) -> list:
    return [e for e in load_graph("edge") if e.name in names]


def _as_head_reads_it(image: np.ndarray, encoding: str, transport: str) -> np.ndarray:
    """The camera's message for ``image``, read back as the head reads it."""
    if transport == "compressed":
        data, fmt = compress(image, "jpeg", encoding)
        return msg_to_rgb(_Msg(format=fmt, data=data))
    data, step = encode(image, encoding)
    h, w = image.shape[:2]
    return msg_to_rgb(_Msg(height=h, width=w, encoding=encoding, step=step, data=data))


class _Msg:
    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


@pytest.mark.parametrize(
    ("encoding", "transport"), [("uyvy", "raw"), ("rgb8", "compressed")], ids=["uyvy", "compressed-jpeg"]
)
def test_camera_in_uyvy_or_jpeg_head_answers_every_frame(
    tmp_path: Path, collector: Collector, encoding: str, transport: str
) -> None:
    params = write_params(
        tmp_path,
        camera={
            "count": N,
            "rate_hz": 2.0,
            "encoding": encoding,
            "image_transport": transport,
            "compressed": {"format": "jpeg"},
            "wait_for_subscribers": True,
            "qos": {"image": "default"},
        },
        head={"image_transport": transport, "qos": {"image": "default"}},
    )
    launch = Launch(_nodes("camera", "head"), params)  # no tail: the head runs edge-only
    try:
        got_all = collector.spin_until(lambda: len(collector.results) >= N, 180)
        assert got_all, f"{len(collector.results)} of {N} results; node logs: {dict(launch.last_lines)}"
        collector.spin_until(lambda: False, 1.0)  # anything extra would show up now
        assert launch.poll() == {"camera": None, "head": None}
    finally:
        launch.shutdown()
    assert sorted(r.frame_seq for r in collector.results) == list(range(1, N + 1))
    images = {f.index: f.image for f in dataset("mnist", 64, 64, loop=False)}
    runner = SplitRunner.from_checkpoint(model="resnet18")
    for r in collector.results:
        label = collector.labels[stamp_to_ns(r.header.stamp)]
        seen = runner.preprocess(_as_head_reads_it(images[label.index], encoding, transport))
        expected = runner.fuse(runner.plain(seen), None, 0.0)
        np.testing.assert_allclose(r.logits, expected.logits.numpy(), atol=0.05, rtol=0.02)
        assert r.class_id == expected.class_id and not r.cloud_used


def _statuses(arrays: list[Any], name: str) -> list[Any]:
    return [s for a in arrays for s in a.status if s.name == name]


def test_unsupported_encoding_one_diagnostics_error_and_the_head_goes_on(
    tmp_path: Path, collector: Collector
) -> None:
    diagnostics: list[Any] = []
    collector.node.subscribe("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", diagnostics.append)
    image_pub = collector.node.publisher("sensor_msgs/msg/Image", "/camera/image_raw", "default")
    image_cls = collector.node.msg("sensor_msgs/msg/Image")
    error = collector.node.msg("diagnostic_msgs/msg/DiagnosticStatus").ERROR

    def frame(encoding: str) -> Any:
        msg = image_cls(height=64, width=64, encoding=encoding, step=192)
        msg.header.stamp = collector.node.stamp()
        msg.data = np.random.default_rng(0).integers(0, 256, 64 * 192, dtype=np.uint8)
        return msg

    def head_active() -> bool:
        return any(
            kv.key == "lifecycle_state" and kv.value == "active"
            for s in _statuses(diagnostics, "head: inference")
            for kv in s.values
        )

    params = write_params(tmp_path, head={"qos": {"image": "default"}})
    launch = Launch(_nodes("head"), params)
    try:
        assert collector.spin_until(head_active, 180), f"head not active: {dict(launch.last_lines)}"
        for _ in range(5):
            image_pub.publish(frame("bayer_rggb8"))
            collector.spin_until(lambda: False, 0.1)
        for _ in range(3):
            image_pub.publish(frame("rgb8"))
            collector.spin_until(lambda: False, 0.1)
        assert collector.spin_until(lambda: len(collector.results) == 3, 60), dict(launch.last_lines)
        seen = len(diagnostics)
        collector.spin_until(lambda: len(diagnostics) >= seen + 2, 5)  # the periodic reports after it
        assert launch.poll() == {"head": None}, "the head is still running"
    finally:
        launch.shutdown()
    errors = [s for a in diagnostics for s in a.status if s.level == error]
    assert len(errors) == 1, [(s.name, s.message) for s in errors]
    assert errors[0].name == "head: image input" and "'bayer_rggb8'" in errors[0].message
    last = {kv.key: kv.value for kv in _statuses(diagnostics, "head: inference")[-1].values}
    assert last["bad_images"] == "5" and last["bad_encodings"] == "bayer_rggb8"
    logged = [line for line in launch.last_lines["head"] if "bayer_rggb8" in line]
    assert len(logged) == 1, "one log line for the encoding, however many frames"
