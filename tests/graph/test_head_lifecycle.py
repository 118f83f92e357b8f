"""The head as a managed node: deactivating it finishes every frame still waiting for the cloud."""

from __future__ import annotations

import numpy as np
from graph_helpers import Collector

from dvfo_core.runtime.dds import DdsNode
from dvfo_edge.head_node import Head


def test_deactivate_finishes_waiting_frames_edge_only(collector: Collector) -> None:
    node = DdsNode(
        "head",
        overrides={
            "shape_link": False,
            "cloud_timeout_ms": 60_000.0,
            "deadline_guard": False,
            "link": "steady-2mbps",
        },
    )
    head = Head(node)
    node.manage(head)
    assert node.change_state("configure") and node.change_state("activate")
    collector.executor.add(node)
    offloaded: list = []  # a cloud that takes the feature maps and never answers
    collector.node.subscribe("dvfo_msgs/msg/FeatureMap", "/dvfo/feature_map", offloaded.append)
    collector.node.publisher("dvfo_msgs/msg/CloudResult", "/dvfo/cloud_result")  # (could answer)
    image_pub = collector.node.publisher("sensor_msgs/msg/Image", "/camera/image_raw", "sensor_data")
    assert collector.spin_until(
        lambda: head.cloud_up() and collector.node.subscriber_count(image_pub) > 0, 10
    )
    collector.send_action(xi=0.5)
    assert collector.spin_until(lambda: head.action.xi == 0.5, 10)

    rng = np.random.default_rng(0)
    for _ in range(4):
        msg = collector.node.msg("sensor_msgs/msg/Image")(height=64, width=64, encoding="rgb8", step=192)
        msg.header.stamp = collector.node.stamp()
        msg.data = rng.integers(0, 255, 64 * 64 * 3, dtype=np.uint8)
        image_pub.publish(msg)
        collector.spin_until(lambda: False, 0.1)
    assert collector.spin_until(lambda: len(offloaded) == 4, 20)
    assert collector.results == [] and len(head.pipeline.pending) == 4, "waiting for the cloud"

    assert node.change_state("deactivate")
    assert collector.spin_until(lambda: len(collector.results) == 4, 10)
    assert sorted(r.frame_seq for r in collector.results) == [1, 2, 3, 4]
    assert all(r.fallback and not r.cloud_used for r in collector.results)
    assert head.pipeline.pending == {}
    assert node.change_state("cleanup") and head.pipeline is None
