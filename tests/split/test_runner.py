"""Frame-level runner: what the edge and the cloud compute, and that it equals the batched network."""

from __future__ import annotations

import pytest
import torch
from split_helpers import images

from dvfo_core.split import codec
from dvfo_core.split.codec import RejectReason
from dvfo_core.split.net import SplitNet
from dvfo_core.split.runner import SplitRunner


@pytest.fixture(scope="module")
def runner(small_net: SplitNet) -> SplitRunner:
    return SplitRunner(small_net, encoding="fp32+zstd")  # lossless: exact comparisons


def test_edge_and_cloud_tails_equal_the_masked_network(small_net: SplitNet, runner: SplitRunner) -> None:
    x = images(3, seed=4)
    with torch.no_grad():
        features, importance = small_net.encode(x)
        for xi in (0.25, 0.5, 0.75):
            batched = small_net.split_forward(features, importance, xi)
            for b in range(3):
                out = runner.head(x[b])
                torch.testing.assert_close(out.features, features[b])
                primary, secondary = runner.partition(out, xi)
                edge = runner.edge_tail(out, primary)
                cloud = runner.cloud_tail(runner.decode(runner.encode_secondary(out, secondary)))
                torch.testing.assert_close(edge, batched.edge[b], rtol=1e-4, atol=1e-4)
                torch.testing.assert_close(cloud, batched.cloud[b], rtol=1e-4, atol=1e-4)
                fused = runner.fuse(edge, cloud, xi)
                torch.testing.assert_close(fused.logits, batched.fused[b], rtol=1e-4, atol=1e-4)
                assert fused.used_cloud


def test_xi_zero_sends_nothing_and_xi_one_runs_no_edge_tail(small_net: SplitNet, runner: SplitRunner) -> None:
    x = images(1, seed=5)[0]
    out = runner.head(x)
    primary, secondary = runner.partition(out, 0.0)
    assert runner.encode_secondary(out, secondary) is None
    edge_only = runner.fuse(runner.edge_tail(out, primary), None, 0.0)
    with torch.no_grad():
        torch.testing.assert_close(edge_only.logits, small_net(x[None])[0], rtol=1e-4, atol=1e-4)
    assert not edge_only.used_cloud
    primary, secondary = runner.partition(out, 1.0)
    assert runner.edge_tail(out, primary) is None
    enc = runner.encode_secondary(out, secondary)
    assert len(enc.channel_indices) == small_net.channels
    cloud = runner.cloud_tail(runner.decode(enc))
    torch.testing.assert_close(runner.fuse(None, cloud, 1.0).logits, edge_only.logits, rtol=1e-4, atol=1e-4)
    # the cloud never answers at xi = 1: the edge runs the tail on every channel, late
    torch.testing.assert_close(runner.fallback_tail(out), edge_only.logits, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="fallback_tail"):
        runner.fuse(None, None, 1.0)


def test_int8_payload_changes_logits_only_by_quantisation_error(small_net: SplitNet) -> None:
    lossless = SplitRunner(small_net, "fp32+none")
    int8 = SplitRunner(small_net, "int8+zstd")
    x = images(1, seed=6)[0]
    a, b = lossless.infer(x, 0.5), int8.infer(x, 0.5)
    assert (a.logits - b.logits).abs().max() < 0.05 * a.logits.abs().max()


def test_cloud_rejects_payload_for_another_model_or_split(runner: SplitRunner) -> None:
    out = runner.head(images(1)[0])
    _, secondary = runner.partition(out, 0.5)
    fields = runner.encode_secondary(out, secondary).to_msg_fields()
    for model, split in (("mobilenet_v2", "layer2"), ("resnet18", "layer3")):
        with pytest.raises(codec.PayloadRejectedError) as info:
            runner.decode(fields, model=model, split=split)
        assert info.value.reason is RejectReason.MODEL_MISMATCH
    fields["shape"] = [128, 8, 8]  # a frame of another input size
    fields["raw_nbytes"] = len(secondary) * 64 * 4
    with pytest.raises(codec.PayloadRejectedError) as info:
        runner.decode(fields, model="resnet18", split="layer2")
    assert info.value.reason is RejectReason.SHAPE


def test_preprocess_takes_camera_images(runner: SplitRunner) -> None:
    grey = (torch.rand(28, 28) * 255).to(torch.uint8).numpy()
    x = runner.preprocess(grey)
    assert x.shape == (1, 3, 32, 32)
    rgb = (torch.rand(48, 64, 3) * 255).to(torch.uint8).numpy()
    assert runner.preprocess(rgb).shape == (1, 3, 32, 32)
