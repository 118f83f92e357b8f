"""The head as a managed node: deactivating it finishes every frame still waiting for the cloud, and
on a real link the deadline guard finishes a frame the cloud leaves unanswered by its deadline."""

from __future__ import annotations

from typing import Any

import numpy as np
from graph_helpers import Collector

from dvfo_core.runtime.dds import DdsNode
from dvfo_edge.head_node import Head

#: a real link (no modelled shaping) and a time-out no test waits for
REAL_LINK = {"shape_link": False, "cloud_timeout_ms": 60_000.0, "link": "steady-2mbps"}


def _offloading_head(collector: Collector, **overrides: Any) -> tuple[DdsNode, Head, list, Any]:
    """An active head offloading half the channels to a cloud that takes the feature maps and never
    answers; returns the node, the head, the feature maps sent and the image publisher."""
    node = DdsNode("head", overrides={**REAL_LINK, **overrides})
    head = Head(node)
    node.manage(head)
    assert node.change_state("configure") and node.change_state("activate")
    collector.executor.add(node)
    offloaded: list = []
    collector.node.subscribe("dvfo_msgs/msg/FeatureMap", "/dvfo/feature_map", offloaded.append)
    collector.node.publisher("dvfo_msgs/msg/CloudResult", "/dvfo/cloud_result")  # (could answer)
    image_pub = collector.node.publisher("sensor_msgs/msg/Image", "/camera/image_raw", "sensor_data")
    assert collector.spin_until(
        lambda: head.cloud_up() and collector.node.subscriber_count(image_pub) > 0, 10
    )
    collector.send_action(xi=0.5)
    assert collector.spin_until(lambda: head.action.xi == 0.5, 10)
    return node, head, offloaded, image_pub


def _send_images(collector: Collector, image_pub: Any, n: int) -> None:
    rng = np.random.default_rng(0)
    for _ in range(n):
        msg = collector.node.msg("sensor_msgs/msg/Image")(height=64, width=64, encoding="rgb8", step=192)
        msg.header.stamp = collector.node.stamp()
        msg.data = rng.integers(0, 255, 64 * 64 * 3, dtype=np.uint8)
        image_pub.publish(msg)
        collector.spin_until(lambda: False, 0.1)


def test_deactivate_finishes_waiting_frames_edge_only(collector: Collector) -> None:
    node, head, offloaded, image_pub = _offloading_head(collector, deadline_guard=False)
    _send_images(collector, image_pub, 4)
    assert collector.spin_until(lambda: len(offloaded) == 4, 20)
    assert collector.results == [] and len(head.pipeline.pending) == 4, "waiting for the cloud"

    assert node.change_state("deactivate")
    assert collector.spin_until(lambda: len(collector.results) == 4, 10)
    assert sorted(r.frame_seq for r in collector.results) == [1, 2, 3, 4]
    assert all(r.fallback and not r.cloud_used for r in collector.results)
    assert head.pipeline.pending == {}
    assert node.change_state("cleanup") and head.pipeline is None


def test_the_deadline_guard_finishes_an_unanswered_frame_long_before_the_time_out(
    collector: Collector,
) -> None:
    node, head, offloaded, image_pub = _offloading_head(collector, deadline_ms=400.0)
    assert head.world.cost.deadline_s == 0.4
    _send_images(collector, image_pub, 1)
    assert collector.spin_until(lambda: len(offloaded) == 1, 20)
    assert offloaded[0].deadline_ms == 400.0
    # the guard gives up at the deadline less the rescue, not after the 60 s time-out
    assert collector.spin_until(lambda: len(collector.results) == 1, 20)
    (result,) = collector.results
    assert result.fallback and not result.cloud_used and head.pipeline.pending == {}
    assert node.change_state("deactivate") and node.change_state("cleanup")
