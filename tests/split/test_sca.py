"""SCA: identity when untrained, and once trained its ranking keeps what the edge needs."""

from __future__ import annotations

import pytest
import torch

from dvfo_core.split.data import load_dataset
from dvfo_core.split.net import SplitNet
from dvfo_core.split.partition import primary_mask
from dvfo_core.split.sca import SpatialChannelAttention


def test_untrained_sca_is_the_identity_and_scores_by_magnitude() -> None:
    sca = SpatialChannelAttention(16)
    x = torch.randn(2, 16, 5, 5)
    y, importance = sca(x)
    torch.testing.assert_close(y, x)
    torch.testing.assert_close(importance, x.abs().mean(dim=(2, 3)))
    tokens = torch.randn(2, 16, 7)  # ViT layout (D, N)
    y, importance = sca(tokens)
    assert y.shape == tokens.shape and importance.shape == (2, 16)


def test_trained_sca_ranking_beats_random_and_reversed_ranking(shipped_net: SplitNet) -> None:
    """Edge alone (the cloud's share dropped): SCA's most important channels vs other choices."""
    data = load_dataset("mnist", shipped_net.config.image_size)
    x = torch.stack([data.test[i][0] for i in range(0, len(data.test), 2)])  # 500 held-out images
    y = data.test.labels[::2]
    with torch.no_grad():
        features, importance = shipped_net.encode(x)

    def edge_only(xi: float, scores: torch.Tensor) -> float:
        mask = primary_mask(scores, xi).reshape(*scores.shape, *([1] * (features.dim() - 2)))
        with torch.no_grad():
            return float((shipped_net.tail(features * mask).argmax(1) == y).float().mean())

    g = torch.Generator().manual_seed(0)
    for xi, margin in ((0.5, 0.002), (0.75, 0.03)):
        sca = edge_only(xi, importance)
        rand = sum(edge_only(xi, torch.rand(importance.shape, generator=g)) for _ in range(3)) / 3
        reverse = edge_only(xi, -importance)
        assert sca >= rand + margin, (xi, sca, rand)
        assert rand > reverse, (xi, rand, reverse)


@pytest.mark.parametrize("bad", [(2, 16), (2, 16, 3, 3, 3)])
def test_sca_rejects_other_ranks(bad: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="SCA expects"):
        SpatialChannelAttention(16)(torch.zeros(bad))
