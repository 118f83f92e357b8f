"""The image route (``split = "input"``, ``xi = 1``): the model input goes to the cloud, which runs the
plain model; the edge runs the plain model itself when the answer does not come."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dvfo_core.camera import dataset
from dvfo_core.device.network import BandwidthTrace, NetworkModel
from dvfo_core.edge_pipeline import Accountant, EdgePipeline
from dvfo_core.split.codec import PayloadRejectedError, RejectReason, encode
from dvfo_core.split.runner import SplitRunner
from dvfo_core.tail_server import TailRequest, TailServer
from dvfo_core.world.actions import FrameAction
from dvfo_core.world.build import World, WorldSpec, build_world
from dvfo_core.world.routes import INPUT


@pytest.fixture(scope="module")
def runner() -> SplitRunner:
    return SplitRunner.from_checkpoint(model="resnet18")


@pytest.fixture(scope="module")
def world(runner: SplitRunner) -> World:
    return build_world(WorldSpec("jetson-nano", runner.model, runner.split))


def _images(n: int) -> list[np.ndarray]:
    frames = dataset("mnist", 64, 64, loop=False)
    return [next(frames).image for _ in range(n)]


def _image_request(runner: SplitRunner, image: np.ndarray, seq: int) -> TailRequest:
    enc = runner.encode_image(runner.preprocess(image))
    return TailRequest("a", seq, runner.model, INPUT, enc.to_msg_fields(), stamp=seq)


def test_the_cloud_answers_an_image_with_the_plain_models_logits(runner: SplitRunner) -> None:
    images = _images(4)
    server = TailServer(lambda m: runner, max_batch=8)
    for seq, image in enumerate(images):
        assert server.submit(_image_request(runner, image, seq)) is None
    replies = server.process()
    assert [r.batch_size for r in replies] == [4] * 4
    for image, reply in zip(images, replies, strict=True):
        plain = runner.plain(runner.preprocess(image)).numpy()
        assert reply.ok and int(np.argmax(reply.logits)) == int(np.argmax(plain))
        np.testing.assert_allclose(reply.logits, plain, atol=0.1 * np.abs(plain).max())  # int8 input


def test_images_and_feature_maps_queued_together_are_batched_apart(runner: SplitRunner) -> None:
    image = _images(1)[0]
    head = runner.head(runner.preprocess(image))
    _, secondary = runner.partition(head, 0.5)
    fields = runner.encode_secondary(head, secondary).to_msg_fields()
    split_req = TailRequest("a", 1, runner.model, runner.split, fields, 1)
    server = TailServer(lambda m: runner, max_batch=8)
    for req in (_image_request(runner, image, 0), split_req, _image_request(runner, image, 2)):
        server.submit(req)
    first, second = server.process(), server.process()
    assert [r.request.frame_seq for r in first] == [0, 2] and [r.request.frame_seq for r in second] == [1]
    expected = runner.cloud_tail(runner.decode(fields)).numpy()
    np.testing.assert_allclose(second[0].logits, expected, atol=1e-4)


def test_an_image_payload_of_the_wrong_shape_or_missing_a_colour_is_rejected(runner: SplitRunner) -> None:
    x = runner.preprocess(_images(1)[0])[0]
    with pytest.raises(PayloadRejectedError) as err:
        runner.decode(encode(x, torch.arange(2)), split=INPUT)
    assert err.value.reason is RejectReason.CHANNEL_INDICES
    with pytest.raises(PayloadRejectedError) as err:  # a feature map sent as an image
        runner.decode(encode(torch.zeros(runner.feature_shape), torch.arange(3)), split=INPUT)
    assert err.value.reason is RejectReason.SHAPE


def _pipeline(runner: SplitRunner, world: World, mbps: float) -> tuple[EdgePipeline, FrameAction]:
    top = world.twin_model.max_levels()
    pipe = EdgePipeline(runner, Accountant(world, NetworkModel(BandwidthTrace.constant(mbps, 20.0))), 5.0)
    return pipe, FrameAction(top.cpu, top.gpu, top.emc, 1.0, INPUT)


def test_the_head_sends_the_image_and_uses_the_clouds_answer(runner: SplitRunner, world: World) -> None:
    pipe, action = _pipeline(runner, world, 8.0)
    image = _images(1)[0]
    started = pipe.start(image, None, action)
    assert started.result is None and started.payload.shape == runner.image_shape
    planned = pipe.pending[started.seq].run.planned
    assert planned.route == "cloud_only" and planned.head_s == 0.0 and not planned.rescued
    # the twin charges the image the profile measured (224 x 224), not this checkpoint's small input
    assert planned.payload_bytes == world.routes.cloud.payload_bytes > started.payload.nbytes
    cloud = runner.cloud_plain(runner.decode(started.payload, split=INPUT).full()[None])[0].numpy()
    result = pipe.on_cloud(started.seq, cloud)
    assert result.cloud_used and not result.fallback and result.action.split == INPUT
    np.testing.assert_allclose(result.logits, cloud, atol=1e-6)
    assert result.outcome.payload_bytes == started.payload.nbytes  # the result says what was sent


def test_an_image_the_cloud_never_answers_is_finished_by_the_plain_model_on_the_edge(
    runner: SplitRunner, world: World
) -> None:
    pipe, action = _pipeline(runner, world, 0.02)  # the answer would take seconds: the twin rescues it
    image = _images(1)[0]
    assert pipe.start(image, None, action).payload is not None
    (result,) = pipe.expire(math.inf)
    assert result.fallback and not result.cloud_used
    np.testing.assert_allclose(result.logits, runner.plain(runner.preprocess(image)).numpy(), atol=1e-6)
    assert result.outcome.rescued  # charged as the twin's rescued image-route frame
