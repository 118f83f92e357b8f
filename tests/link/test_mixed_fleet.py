"""A mixed fleet: robot beta on DDS and robot alpha on Zenoh are served by the same tail pool."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from link_helpers import free_endpoint, wait_for

from dvfo_core.camera import dataset
from dvfo_core.graph import load_graph
from dvfo_core.launcher import Launch, node_command
from dvfo_core.link.certs import robot_identity, worker_identity
from dvfo_core.link.plan import ZenohPlan, cloud_commands, link_args
from dvfo_core.link.zenoh_link import Connector, RobotLink, client_config
from dvfo_core.runtime.dds import DdsNode, Executor
from dvfo_core.runtime.msgs import from_cdr, message_class, to_cdr
from dvfo_core.split.runner import SplitRunner

pytestmark = pytest.mark.slow
N = 6


def _frames(robot_id: str) -> list:
    """N FeatureMaps of real images (xi = 0.5) from ``robot_id``, and the tail logits each must get."""
    runner = SplitRunner.from_checkpoint(model="resnet18")
    images = dataset("mnist", 64, 64, loop=False)
    frames = []
    for seq in range(1, N + 1):
        head = runner.head(runner.preprocess(next(images).image))
        _, secondary = runner.partition(head, 0.5)
        fm = message_class("dvfo_msgs/msg/FeatureMap")(robot_id=robot_id, frame_seq=seq)
        fm.model, fm.split, fm.xi = runner.model, runner.split, 0.5
        for key, value in runner.encode_secondary(head, secondary).to_msg_fields().items():
            setattr(fm, key, value)
        decoded = runner.decode(fm, model=runner.model, split=runner.split)
        frames.append((fm, runner.cloud_tail(decoded).detach().numpy()))
    return frames


def test_one_pool_serves_a_dds_robot_and_a_zenoh_robot(tmp_path: Path, certs: Path, dds_domain: int) -> None:
    frames = {robot: _frames(robot) for robot in ("alpha", "beta")}
    plan = ZenohPlan(certs, listen=free_endpoint(), workers=1)
    (tail,) = load_graph("cloud")
    commands = cloud_commands(plan, tail, tail.params, [])  # the router and worker1 (Zenoh only)
    # worker2 also serves the DDS LAN: the pool's one DDS-serving worker
    args = link_args(worker_identity(certs), plan.listen)
    args[args.index("offload.link:=zenoh")] = "offload.link:=dds+zenoh"
    commands["worker2"] = node_command(tail, tail.params, ["-r", "__ns:=/worker2", *args])
    beta = DdsNode("beta_head")  # robot beta speaks DDS on the LAN
    beta_pub = beta.publisher("dvfo_msgs/msg/FeatureMap", "/dvfo/feature_map")
    beta_results: list = []
    beta.subscribe("dvfo_msgs/msg/CloudResult", "/dvfo/cloud_result", beta_results.append)
    executor = Executor([beta])
    # robot alpha connects out to the router, as a head does: retrying until the router is up
    connector = Connector(
        client_config([plan.listen], robot_identity(certs, "alpha")), lambda s: RobotLink(s, "alpha")
    )
    cloud = Launch([], tail.params, commands=commands)
    try:
        alpha = wait_for(lambda: connector.link, 60)
        assert wait_for(lambda: len(alpha.workers()) == 2, 120), f"logs: {dict(cloud.last_lines)}"
        end = time.monotonic() + 60
        while beta_pub.matched_count() == 0 and time.monotonic() < end:
            executor.spin_once(0.1)
        for (a_fm, _), (b_fm, _) in zip(frames["alpha"], frames["beta"], strict=True):
            alpha.send(to_cdr(a_fm))
            beta_pub.publish(b_fm)
        alpha_results: list = []
        end = time.monotonic() + 60
        while (len(alpha_results) < N or len(beta_results) < N) and time.monotonic() < end:
            alpha_results += [from_cdr("dvfo_msgs/msg/CloudResult", b) for b in alpha.results()]
            executor.spin_once(0.05)
        executor.spin(1.0)  # a second answer to any frame would arrive now
        alpha_results += [from_cdr("dvfo_msgs/msg/CloudResult", b) for b in alpha.results()]
    finally:
        connector.close()
        cloud.shutdown()
        beta.destroy()
    for robot, results in (("alpha", alpha_results), ("beta", beta_results)):
        assert sorted(r.frame_seq for r in results) == list(range(1, N + 1)), f"{robot}: one answer per frame"
        assert all(r.ok and r.robot_id == robot for r in results)
        expected = {int(fm.frame_seq): logits for fm, logits in frames[robot]}
        for r in results:
            np.testing.assert_allclose(r.logits, expected[r.frame_seq], atol=1e-3, rtol=1e-3)
