"""camera -> head over Zenoh (mutual TLS, through a router) -> a pool of tail workers -> head.

The same checks as the DDS graph test (tests/graph/test_graph_e2e.py): every frame the head takes
gets one result, the fused results of offloaded frames equal the in-process split (so the DDS
results); and a worker killed mid-run loses no frame.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from link_helpers import free_endpoint

sys.path.insert(0, str(Path(__file__).parents[1] / "graph"))
from graph_helpers import Collector, write_params

from dvfo_core.camera import dataset
from dvfo_core.graph import load_graph
from dvfo_core.launcher import Launch
from dvfo_core.link.plan import ZenohPlan, cloud_commands, head_args
from dvfo_core.runtime.port import stamp_to_ns
from dvfo_core.split.runner import SplitRunner

pytestmark = pytest.mark.slow
N = 16
DEEP = "default:1000"  #: QoS of /dvfo/result here


def _start(tmp_path: Path, certs: Path, robot_id: str, cloud_timeout_ms: float) -> tuple[Launch, Launch]:
    """A router with two workers, and camera + head of ``robot_id`` (a continuous 4 Hz camera)."""
    plan = ZenohPlan(certs, listen=free_endpoint(), workers=2, robot_id=robot_id)
    params = write_params(
        tmp_path,
        # images queue deep enough for a head that a loaded machine slows below 4 Hz for a while:
        # a frame overwritten in its reader would never be taken, and the checks count every frame
        camera={"count": 0, "rate_hz": 4.0, "qos": {"image": "default:50"}},
        # a steady modelled link fast enough for the profiled layer2 map at xi = 0.5 (24 kB) within the
        # Nano's deadline: the shipped wifi-fades (or 2 Mbps) would let the deadline guard finish a
        # frame edge-only, and the checks hold every offloaded frame to the cloud's answer
        head={
            "qos": {"image": "default:50", "result": DEEP},
            "cloud_timeout_ms": cloud_timeout_ms,
            "link": "steady-8mbps",
        },
    )
    cloud = _cloud(plan, params)
    try:
        return cloud, _edge(plan, params)
    except BaseException:
        cloud.shutdown()
        raise


def _cloud(plan: ZenohPlan, params: Path) -> Launch:
    """The router and the plan's workers, as `dvfo launch cloud --link zenoh` starts them."""
    (tail,) = load_graph("cloud")
    return Launch([], params, commands=cloud_commands(plan, tail, params, []))


def _edge(plan: ZenohPlan, params: Path) -> Launch:
    """camera and head (the test plays the governor), the head on the plan's link."""
    entries = [e for e in load_graph("edge") if e.name != "governor"]
    return Launch(entries, params, overrides={"head": head_args(plan)})


@pytest.fixture
def collector(dds_domain: int) -> Collector:
    """Results, ground truth and telemetry on this test's DDS domain; also watches /dvfo/feature_map."""
    collector = Collector()
    # results through a deep reliable queue: on a loaded machine the test's own reader may lag, and
    # keep-last-10 would drop results between the head and the test, not on the path under test
    collector.results = []
    collector.node.subscribe("dvfo_msgs/msg/InferenceResult", "/dvfo/result", collector.results.append, DEEP)
    collector.dds_frames = []  # type: ignore[attr-defined]
    collector.node.subscribe("dvfo_msgs/msg/FeatureMap", "/dvfo/feature_map", collector.dds_frames.append)  # type: ignore[attr-defined]
    return collector


def test_frames_round_trip_over_zenoh_equal_to_the_in_process_split(
    tmp_path: Path, certs: Path, collector: Collector
) -> None:
    cloud, edge = _start(tmp_path, certs, "alpha", cloud_timeout_ms=3000.0)

    def offloaded() -> list:
        return [r for r in collector.results if r.cloud_used]

    try:
        assert collector.spin_until(lambda: collector.node.subscriber_count(collector.action_pub) > 0, 120)
        collector.send_action(0.5)
        got = collector.spin_until(lambda: len(offloaded()) >= N, 180)
        logs = {**cloud.last_lines, **edge.last_lines}
        assert got, f"{len(offloaded())} of {N} frames answered over Zenoh; logs: {logs}"
        # a frame still waiting for its worker may be answered after a later one: every frame up to
        # the latest answered has its result while the graph runs (not the frames cut short by the stop)
        last = max(r.frame_seq for r in collector.results)
        first_seq = min(r.frame_seq for r in collector.results)
        collector.spin_until(
            lambda: {r.frame_seq for r in collector.results} >= set(range(first_seq, last + 1)), 60
        )
        results = [r for r in collector.results if r.frame_seq <= last]
    finally:
        edge.shutdown()
        cloud.shutdown()
    seqs = sorted(r.frame_seq for r in results)
    assert seqs == list(range(seqs[0], seqs[-1] + 1)), "every frame the head took has one result"
    images = {f.index: f.image for f in dataset("mnist", 64, 64, loop=False)}
    runner = SplitRunner.from_checkpoint(model="resnet18")
    for r in [r for r in results if r.cloud_used]:
        label = collector.labels[stamp_to_ns(r.header.stamp)]
        expected = runner.infer(runner.preprocess(images[label.index]), float(r.xi))
        np.testing.assert_allclose(r.logits, expected.logits.numpy(), atol=0.05, rtol=0.02)
        assert r.class_id == expected.class_id and not r.fallback
    first = min(r.frame_seq for r in results if r.cloud_used)
    assert not any(r.fallback for r in results if r.frame_seq >= first), "no frame waited in vain"
    assert collector.dds_frames == [], "no feature map went over DDS"  # type: ignore[attr-defined]


def test_a_worker_killed_mid_run_loses_no_frame(tmp_path: Path, certs: Path, collector: Collector) -> None:
    # a generous time-out: on a loaded machine the survivor's answers must not count as lost
    cloud, edge = _start(tmp_path, certs, "beta", cloud_timeout_ms=5000.0)
    try:
        assert collector.spin_until(lambda: collector.node.subscriber_count(collector.action_pub) > 0, 120)
        collector.send_action(0.5)
        assert collector.spin_until(lambda: sum(r.cloud_used for r in collector.results) >= 4, 180)
        cloud.procs["worker1"].kill()  # SIGKILL: no goodbye, frames in its hands are gone
        killed_at = len(collector.results)
        assert collector.spin_until(lambda: len(collector.results) >= killed_at + 16, 180)
        after = collector.results[killed_at + 8 :]  # the head has seen the worker go by then
        seen = [
            (r.frame_seq, r.cloud_used, r.fallback, round(r.wait_ms))
            for r in collector.results[killed_at - 4 :]
        ]
        assert sum(r.cloud_used for r in after) >= len(after) // 2, f"the other worker took over: {seen}"
    finally:
        edge.shutdown()
        cloud.shutdown()
    collector.spin_until(lambda: False, 2.0)
    seqs = sorted(r.frame_seq for r in collector.results)
    assert len(seqs) == len(set(seqs)), "a frame was answered twice"
    assert seqs == list(range(seqs[0], seqs[-1] + 1)), "a frame was lost"
