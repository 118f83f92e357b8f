"""Spatial-channel attention (SCA): re-weights the head's feature map and scores its channels.

A CBAM-style block (channel attention from pooled descriptors, then spatial attention from
channel-pooled maps) placed on the head output. Gates are ``2 * sigmoid(.)`` with their last
layers initialised to zero, so an untrained SCA is the identity and a pretrained tail still sees
the features it was trained on. The channel *importance* is the mean absolute value of each
attended channel, ``mean_hw |y_c|``: it carries the learned channel gate, and training (see
:mod:`dvfo_core.split.train`) back-propagates through a straight-through soft partition mask, so
the gates learn which channels the edge cannot do without.

Works on ``(B, C, H, W)`` maps and on ``(B, D, N)`` token maps (treated as ``(B, D, N, 1)``).
"""

from __future__ import annotations

import torch
from torch import nn


class _Mul(nn.Module):
    """``x * gate`` as a leaf module, so profiling counts the bytes it moves."""

    def forward(self, x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        return x * gate


class _SpatialPool(nn.Module):
    """Per-channel mean and max over space: ``(B, C, H, W) -> (B, C), (B, C)``."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x.mean(dim=(2, 3)), x.amax(dim=(2, 3))


class _ChannelPool(nn.Module):
    """Mean and max over channels: ``(B, C, H, W) -> (B, 2, H, W)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)


class _AbsMean(nn.Module):
    """Channel importance ``mean_hw |y_c|``: ``(B, C, H, W) -> (B, C)``."""

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y.abs().mean(dim=(2, 3))


class SpatialChannelAttention(nn.Module):
    """Channel + spatial attention returning ``(attended_features, importance)``.

    Every step is a leaf module (the element-wise ones without parameters), so
    :func:`dvfo_core.workload.profile_layers` counts the bytes the SCA really moves on the edge.
    """

    def __init__(self, channels: int, reduction: int = 8, kernel_size: int = 7) -> None:
        super().__init__()
        hidden = max(4, channels // reduction)
        self.channels = channels
        self.pool = _SpatialPool()
        self.channel_fc1 = nn.Linear(channels, hidden)
        self.channel_fc2 = nn.Linear(hidden, channels)
        self.apply_channel = _Mul()
        self.channel_pool = _ChannelPool()
        self.spatial = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)
        self.apply_spatial = _Mul()
        self.score = _AbsMean()
        nn.init.zeros_(self.channel_fc2.weight)
        nn.init.zeros_(self.channel_fc2.bias)
        nn.init.zeros_(self.spatial.weight)
        nn.init.zeros_(self.spatial.bias)

    def _channel_gate(self, x: torch.Tensor) -> torch.Tensor:
        avg, mx = self.pool(x)
        z = self.channel_fc2(torch.relu(self.channel_fc1(avg))) + self.channel_fc2(
            torch.relu(self.channel_fc1(mx))
        )
        return 2.0 * torch.sigmoid(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: ``(B, C, *spatial)``. Returns attended features (same shape) and ``(B, C)`` scores."""
        shape = x.shape
        if x.dim() == 3:
            x = x.unsqueeze(-1)
        elif x.dim() != 4:
            raise ValueError(f"SCA expects (B, C, H, W) or (B, C, N), got {tuple(shape)}")
        x = self.apply_channel(x, self._channel_gate(x)[:, :, None, None])
        gate_s = 2.0 * torch.sigmoid(self.spatial(self.channel_pool(x)))
        y = self.apply_spatial(x, gate_s)
        return y.reshape(shape), self.score(y)
