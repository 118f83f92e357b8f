"""A head with the shipped checkpoints runs the channel split at every shipped split point, and the
tail finishes each map with the checkpoint of its split point."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dvfo_core.camera import dataset
from dvfo_core.device.network import BandwidthTrace, NetworkModel
from dvfo_core.edge_pipeline import Accountant, EdgePipeline
from dvfo_core.split.checkpoint_header import shipped_checkpoints
from dvfo_core.split.runner import SplitRunner
from dvfo_core.tail_server import TailRequest, TailServer
from dvfo_core.world.actions import FrameAction
from dvfo_core.world.build import WorldSpec, build_world

MODEL = "resnet18"


@pytest.fixture(scope="module")
def runners() -> dict[str, SplitRunner]:
    """The shipped ResNet-18 runner of every split point (layer2 is the default, layer1 the early one)."""
    return {split: SplitRunner.from_checkpoint(path) for split, path in shipped_checkpoints(MODEL).items()}


def test_resnet18_ships_checkpoints_at_two_depths(runners: dict[str, SplitRunner]) -> None:
    default = SplitRunner.from_checkpoint(model=MODEL).split
    assert set(runners) == {"layer1", "layer2"} and default == "layer2"


def test_the_head_runs_the_early_split_with_its_own_checkpoint(runners: dict[str, SplitRunner]) -> None:
    default, early = runners["layer2"], runners["layer1"]
    world = build_world(WorldSpec("jetson-nano", MODEL, default.split))
    link = NetworkModel(BandwidthTrace.constant(8.0, 20.0))
    pipe = EdgePipeline(default, Accountant(world, link), 5.0, other_splits=[early])
    top = world.twin_model.max_levels()
    image = next(dataset("mnist", 64, 64, loop=False)).image
    x = early.preprocess(image)
    for xi in (0.5, 1.0):
        started = pipe.start(image, None, FrameAction(top.cpu, top.gpu, top.emc, xi, "layer1"))
        assert started.payload.shape == early.feature_shape != default.feature_shape
        assert pipe.pending[started.seq].run.planned.route == f"dvfo:layer1:xi={xi:g}"
        cloud = early.cloud_tail(early.decode(started.payload)).numpy()
        result = pipe.on_cloud(started.seq, cloud)
        np.testing.assert_allclose(result.logits, early.infer(x, xi).logits.numpy(), atol=1e-5)
    # unanswered at xi = 1: the early checkpoint's tail on every channel
    started = pipe.start(image, None, FrameAction(top.cpu, top.gpu, top.emc, 1.0, "layer1"))
    (late,) = pipe.expire(math.inf)
    assert late.fallback
    np.testing.assert_allclose(late.logits, early.fallback_tail(early.head(x)).numpy(), atol=1e-5)


def test_the_tail_finishes_each_map_with_the_checkpoint_of_its_split(runners: dict[str, SplitRunner]) -> None:
    server = TailServer(lambda model: SplitRunner.from_checkpoint(model=model))
    image = next(dataset("mnist", 64, 64, loop=False)).image
    expected = {}
    for seq, (split, runner) in enumerate(sorted(runners.items())):
        head = runner.head(runner.preprocess(image))
        _, secondary = runner.partition(head, 0.5)
        fields = runner.encode_secondary(head, secondary).to_msg_fields()
        assert server.submit(TailRequest("a", seq, MODEL, split, fields, seq)) is None
        expected[seq] = runner.cloud_tail(runner.decode(fields)).numpy()
    replies = server.process() + server.process()  # one batch per split point
    assert sorted(r.request.frame_seq for r in replies) == [0, 1] and all(r.ok for r in replies)
    for reply in replies:
        np.testing.assert_allclose(reply.logits, expected[reply.request.frame_seq], atol=1e-4)
