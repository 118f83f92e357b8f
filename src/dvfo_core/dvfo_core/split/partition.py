"""Partition by ``xi``: the ``xi`` share of least important channels is offloaded.

``k = round(xi * C)`` channels with the lowest SCA importance are *secondary* (sent to the cloud);
the other ``C - k`` are *primary* (finished on the edge). ``xi = 0`` keeps everything on the edge,
``xi = 1`` offloads every channel. Ties are broken by channel index (stable sort), so the
partition is deterministic. Index lists are returned sorted ascending (payload order).
"""

from __future__ import annotations

import torch

from dvfo_core.errors import ConfigError


def check_xi(xi: float) -> float:
    """``xi`` as a float in [0, 1], or a :class:`ConfigError` naming the bad value."""
    value = float(xi)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"xi must be in [0, 1], got {xi!r}")
    return value


def secondary_count(channels: int, xi: float) -> int:
    """How many of ``channels`` are offloaded at ``xi`` (``round(xi * channels)``)."""
    return round(check_xi(xi) * channels)


def _order(importance: torch.Tensor) -> torch.Tensor:
    """Channel indices from most to least important (stable: ties by index)."""
    return torch.sort(importance, dim=-1, descending=True, stable=True).indices


def partition(importance: torch.Tensor, xi: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Split one frame's channels. ``importance``: ``(C,)``. Returns ``(primary, secondary)`` indices."""
    if importance.dim() != 1:
        raise ValueError(f"importance must be 1-D (one frame), got shape {tuple(importance.shape)}")
    c = importance.shape[0]
    k = secondary_count(c, xi)
    order = _order(importance.detach())
    primary, secondary = order[: c - k], order[c - k :]
    return primary.sort().values, secondary.sort().values


def primary_mask(importance: torch.Tensor, xi: torch.Tensor | float) -> torch.Tensor:
    """Batched 0/1 mask ``(B, C)`` of the primary channels, ``xi`` a float or one per frame ``(B,)``.

    Exactly :func:`partition` applied to each row.
    """
    b, c = importance.shape
    xi_t = torch.as_tensor(xi, dtype=torch.float32).expand(b)
    if bool(((xi_t < 0) | (xi_t > 1)).any()):
        raise ConfigError(f"xi must be in [0, 1], got {xi_t.tolist()}")
    k = torch.round(xi_t * c).long()
    rank = torch.empty_like(importance, dtype=torch.long)
    order = _order(importance.detach())
    rank.scatter_(1, order, torch.arange(c).expand(b, c).contiguous())
    return (rank < (c - k)[:, None]).to(importance.dtype)


def straight_through_mask(
    importance: torch.Tensor, xi: torch.Tensor | float, temperature: float = 0.1
) -> torch.Tensor:
    """Hard primary mask in the forward pass, soft sigmoid gradient in the backward pass.

    The soft mask is ``sigmoid((z - t) / temperature)`` where ``z`` is the per-frame standardised
    log-importance and ``t`` the threshold between the last primary and the first secondary
    channel, so the loss on the edge output can raise the importance of channels it needs.
    """
    hard = primary_mask(importance, xi)
    z = torch.log(importance + 1e-6)
    z = (z - z.mean(dim=1, keepdim=True)) / (z.std(dim=1, keepdim=True) + 1e-6)
    zd = z.detach()
    lowest_primary = torch.where(hard > 0, zd, torch.full_like(zd, float("inf"))).amin(dim=1)
    highest_secondary = torch.where(hard > 0, torch.full_like(zd, -float("inf")), zd).amax(dim=1)
    lo = torch.where(torch.isfinite(lowest_primary), lowest_primary, highest_secondary)
    hi = torch.where(torch.isfinite(highest_secondary), highest_secondary, lowest_primary)
    threshold = ((lo + hi) / 2)[:, None]
    soft = torch.sigmoid((z - threshold) / temperature)
    return hard + soft - soft.detach()
