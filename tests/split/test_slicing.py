"""Sliced tails: the first layers read only the channels given, and compute what zero-fill does."""

from __future__ import annotations

import itertools

import pytest
import torch
from split_helpers import build_eval, images

from dvfo_core.split import zoo
from dvfo_core.split.slicing import slice_input_channels, zero_fill
from dvfo_core.workload import profile_layers


def _check_split(model: zoo.SplitModel, split: str, keep: int) -> None:
    x = images(2)
    with torch.no_grad():
        features = model.head(split)(x)
        c = features.shape[1]
        idx = torch.randperm(c, generator=torch.Generator().manual_seed(1))[:keep].sort().values
        tail = model.tail(split)
        expected = tail(zero_fill(features[:, idx], idx, c))
        got = slice_input_channels(tail, idx, c)(features[:, idx])
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4, msg=f"{model.name} @ {split}")


@pytest.mark.parametrize("name", zoo.model_names())
def test_sliced_tail_equals_zero_filled_tail_at_every_split(name: str) -> None:
    model = build_eval(name)
    splits = model.split_points if name != "vit_b_16" else model.split_points[:3]
    for split in splits:
        c = model.feature_shape(split)[0]
        _check_split(model, split, max(1, c // 3))


def test_sliced_tail_reads_fewer_weights_and_flops_where_slicing_applies() -> None:
    """ResNet: layer3.0.conv1 and its downsample shrink with the channels kept."""
    model = build_eval("resnet18")
    features = model.head("layer2")(images(1)).detach()
    c = features.shape[1]
    full = profile_layers(model.tail("layer2"), features)
    costs = []
    for keep in (c, 3 * c // 4, c // 2, c // 4):
        idx = torch.arange(keep)
        w = profile_layers(slice_input_channels(model.tail("layer2"), idx, c), features[:, idx])
        costs.append((w.flops, w.bytes))
    assert costs[0][0] == pytest.approx(full.flops, rel=1e-6)
    assert all(a[0] > b[0] and a[1] > b[1] for a, b in itertools.pairwise(costs))
    conv1 = {
        layer.name: layer
        for layer in profile_layers(
            slice_input_channels(model.tail("layer2"), torch.arange(c // 2), c), features[:, : c // 2]
        ).layers
    }
    sliced = next(v for k, v in conv1.items() if k.endswith("conv1") and v.kind == "Conv2d")
    assert sliced.param_bytes == 256 * (c // 2) * 3 * 3 * 4  # only the kept input channels' weights


def test_vit_cannot_slice_and_counts_the_full_cost() -> None:
    """LayerNorm over the embedding reads every channel: zero-fill, same FLOPs as unsliced."""
    model = build_eval("vit_b_16")
    split = model.default_split
    features = model.head(split)(images(1)).detach()
    c = features.shape[1]
    full = profile_layers(model.tail(split), features).flops
    half = profile_layers(
        slice_input_channels(model.tail(split), torch.arange(c // 2), c), features[:, : c // 2]
    ).flops
    assert half == pytest.approx(full)


def test_slicing_leaves_the_original_modules_untouched() -> None:
    model = build_eval("mobilenet_v2")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = images(1)
    with torch.no_grad():
        ref = model(x)
        tail = model.tail(model.default_split)
        slice_input_channels(tail, torch.arange(5), model.feature_shape(model.default_split)[0])
        assert all(not m.training for m in model.modules())
        torch.testing.assert_close(model(x), ref)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
