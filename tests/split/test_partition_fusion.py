"""Partition by xi (least important channels offloaded) and xi-dependent fusion with a fallback."""

from __future__ import annotations

import pytest
import torch

from dvfo_core.errors import ConfigError
from dvfo_core.split.fusion import XiFusion
from dvfo_core.split.partition import partition, primary_mask, straight_through_mask


def test_least_important_share_is_offloaded() -> None:
    importance = torch.tensor([0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4])
    primary, secondary = partition(importance, 0.25)
    assert secondary.tolist() == [1, 5]  # the two smallest scores
    assert primary.tolist() == [0, 2, 3, 4, 6, 7]
    assert partition(importance, 0.0)[1].numel() == 0
    assert partition(importance, 1.0)[0].numel() == 0
    for xi in (0.1, 0.5, 0.6, 0.9):
        p, s = partition(importance, xi)
        assert len(s) == round(xi * 8) and sorted(p.tolist() + s.tolist()) == list(range(8))
        assert importance[p].min() >= importance[s].max()


def test_batched_mask_equals_per_frame_partition() -> None:
    g = torch.Generator().manual_seed(0)
    importance = torch.rand(6, 40, generator=g)
    xi = torch.tensor([0.0, 0.2, 0.5, 0.55, 0.9, 1.0])
    mask = primary_mask(importance, xi)
    for b in range(6):
        primary, _ = partition(importance[b], float(xi[b]))
        assert torch.nonzero(mask[b]).reshape(-1).tolist() == primary.tolist()


def test_straight_through_mask_is_hard_forward_and_passes_gradient() -> None:
    importance = torch.rand(3, 16, generator=torch.Generator().manual_seed(1)).requires_grad_()
    mask = straight_through_mask(importance, 0.5)
    torch.testing.assert_close(mask.detach(), primary_mask(importance.detach(), 0.5))
    (mask * torch.arange(16.0)).sum().backward()
    assert importance.grad is not None and importance.grad.abs().sum() > 0


def test_bad_xi_is_rejected() -> None:
    with pytest.raises(ConfigError, match="xi"):
        partition(torch.rand(4), 1.5)
    with pytest.raises(ConfigError, match="xi"):
        primary_mask(torch.rand(2, 4), torch.tensor([0.5, -0.1]))


def test_fusion_weights_depend_on_xi_with_fixed_ends() -> None:
    fusion = XiFusion()
    with torch.no_grad():
        fusion.log_p.fill_(0.7)
        fusion.log_kappa.fill_(-0.4)
    xis = torch.linspace(0, 1, 11)
    lam = fusion.cloud_weight(xis)
    assert lam[0] == 0 and lam[-1] == 1
    assert bool((lam[1:] > lam[:-1]).all())  # more offloaded, more weight on the cloud
    edge, cloud = torch.randn(2, 5), torch.randn(2, 5)
    torch.testing.assert_close(fusion(edge, cloud, 0.0), edge)
    torch.testing.assert_close(fusion(edge, cloud, 1.0), cloud)
    mid = fusion(edge, cloud, 0.5)
    torch.testing.assert_close(mid, (1 - lam[5]) * edge + lam[5] * cloud)


def test_fusion_gradient_is_finite_at_the_ends() -> None:
    fusion = XiFusion()
    out = fusion(torch.ones(3, 2), torch.zeros(3, 2), torch.tensor([0.0, 0.5, 1.0]))
    out.sum().backward()
    assert torch.isfinite(fusion.log_p.grad) and torch.isfinite(fusion.log_kappa.grad)


def test_missing_cloud_result_falls_back_to_the_edge() -> None:
    fusion = XiFusion()
    edge = torch.tensor([0.1, 2.0, -1.0])
    result = fusion.fuse(edge, None, 0.5)
    assert not result.used_cloud and result.class_id == 1
    torch.testing.assert_close(result.logits, edge)
    both = fusion.fuse(edge, torch.tensor([3.0, 0.0, 0.0]), 0.9)
    assert both.used_cloud and both.class_id == 0 and 0 < both.confidence <= 1
