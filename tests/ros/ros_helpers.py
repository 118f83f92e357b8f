"""Helpers of the tests on ROS 2 itself: an rclpy monitor node and the end-to-end check."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from graph_helpers import Collector
from rclpy.executors import SingleThreadedExecutor

from dvfo_core.camera import dataset
from dvfo_core.runtime.msgs import as_array
from dvfo_core.runtime.port import stamp_to_ns
from dvfo_core.runtime.ros import RosNode
from dvfo_core.split.runner import SplitRunner


class RosCollector(Collector):
    """:class:`graph_helpers.Collector` (results, ground truth, telemetry; can act as governor) as a
    real rclpy node on Fast DDS."""

    def __init__(self) -> None:  # the same subscriptions, on an rclpy node
        self.node = RosNode("test_collector_rclpy")
        self.subscribe_all()
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node.rclpy_node)

    def spin_until(self, done: Callable[[], bool], timeout_s: float) -> bool:
        """Spin until ``done()`` or the time-out; returns ``done()``."""
        end = time.monotonic() + timeout_s
        while not done() and time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.1)
        return done()

    def close(self) -> None:
        """Destroy the node (the last rclpy node of the process also shuts rclpy down)."""
        self.executor.shutdown()
        self.node.destroy()


def assert_results_equal_in_process(collector: Collector, n: int | None = None, tail_up: bool = True) -> int:
    """Every frame answered once, with its ground truth, one telemetry message each, every result
    equal to running the same frame in-process (within the codec's quantisation tolerance).
    ``n``: exactly frames 1..n. ``tail_up``: the tail was up throughout, so no offloaded frame fell
    back (that would mean a feature map or an answer was lost); a frame the head ran edge-only
    while the tail's matches settled is ``xi = 0``. Returns how many frames used the cloud."""
    results = collector.results
    seqs = sorted(r.frame_seq for r in results)
    if n is not None:
        assert seqs == list(range(1, n + 1)), f"frames lost or answered twice: {seqs}"
    assert len(seqs) == len(set(seqs)), f"a frame was answered twice: {seqs}"
    unlabelled = [r.frame_seq for r in results if stamp_to_ns(r.header.stamp) not in collector.labels]
    assert not unlabelled, f"ground truth lost for frames {unlabelled}"
    assert len(collector.telemetry) == len(results), "one telemetry message per frame"
    images = {f.index: f.image for f in dataset("mnist", 64, 64, loop=False)}
    runner = SplitRunner.from_checkpoint(model="resnet18")
    offloaded = 0
    wrong = []
    for r in sorted(results, key=lambda r: r.frame_seq):
        assert r.energy_j > 0 and r.latency_ms > 0 and r.head_ms > 0
        label = collector.labels[stamp_to_ns(r.header.stamp)]
        x, xi = runner.preprocess(images[label.index]), float(r.xi)
        if xi == 0:  # the plain local model (the head does not run SCA then)
            expected = runner.fuse(runner.plain(x), None, 0.0)
        elif r.fallback:  # the edge's channels alone, as the head publishes when the cloud is late
            out = runner.head(x)
            primary, _secondary = runner.partition(out, xi)
            expected = runner.fuse(runner.edge_tail(out, primary), None, xi)
        else:  # the split with the codec's round trip, as in-process
            expected = runner.infer(x, xi)
        logits = as_array(r.logits, np.dtype(np.float32))
        if not np.allclose(logits, expected.logits.numpy(), atol=0.05, rtol=0.02) or (
            r.class_id != expected.class_id
        ):
            diff = float(np.abs(logits - expected.logits.numpy()).max())
            wrong.append((int(r.frame_seq), xi, bool(r.cloud_used), bool(r.fallback), diff))
        assert not (tail_up and r.fallback and xi > 0), f"frame {r.frame_seq} was offloaded and fell back"
        offloaded += int(r.cloud_used)
    assert not wrong, f"results unlike in-process (seq, xi, cloud_used, fallback, max diff): {wrong}"
    return offloaded
