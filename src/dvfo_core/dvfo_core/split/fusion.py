"""Fusion of edge and cloud logits by an ``xi``-dependent weighted sum, with an edge fallback.

``logits = lambda_e(xi) * edge + lambda_c(xi) * cloud`` with ``lambda_e = 1 - lambda_c`` and

    lambda_c(xi) = xi**p / (xi**p + kappa * (1 - xi)**p),      p = exp(a), kappa = exp(b)

``a`` and ``b`` are learned during fine-tuning (initially 0, i.e. ``lambda_c = xi``). By
construction ``lambda_c(0) = 0`` (edge-only) and ``lambda_c(1) = 1`` (pure split computing).
When the cloud result does not come, the edge logits are used alone (:meth:`XiFusion.fuse`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class FusedResult:
    """One frame's fused prediction."""

    logits: torch.Tensor  #: ``(num_classes,)``
    class_id: int
    confidence: float  #: softmax probability of ``class_id``
    used_cloud: bool  #: False when the edge answered alone (xi = 0 or the cloud result missing)


class XiFusion(nn.Module):
    """Learned ``lambda_c(xi)``; see the module docstring for the formula."""

    def __init__(self) -> None:
        super().__init__()
        self.log_p = nn.Parameter(torch.zeros(()))
        self.log_kappa = nn.Parameter(torch.zeros(()))

    def cloud_weight(self, xi: torch.Tensor | float) -> torch.Tensor:
        """``lambda_c(xi)`` for a float or a tensor of ``xi`` values."""
        xi_t = torch.as_tensor(xi, dtype=torch.float32)
        inner = xi_t.clamp(1e-6, 1.0 - 1e-6)  # keeps pow's gradient finite at the ends
        p = self.log_p.exp()
        num = inner.pow(p)
        lam = num / (num + self.log_kappa.exp() * (1.0 - inner).pow(p))
        return torch.where(xi_t <= 0, 0.0, torch.where(xi_t >= 1, 1.0, lam))

    def forward(self, edge: torch.Tensor, cloud: torch.Tensor, xi: torch.Tensor | float) -> torch.Tensor:
        """Batched fusion; ``xi`` a float or one value per frame ``(B,)``."""
        lam = self.cloud_weight(xi)
        if lam.dim() == 1:
            lam = lam[:, None]
        return (1.0 - lam) * edge + lam * cloud

    @torch.no_grad()
    def fuse(self, edge: torch.Tensor | None, cloud: torch.Tensor | None, xi: float) -> FusedResult:
        """One frame: fuse what arrived. A missing side is dropped (its weight goes to the other)."""
        if edge is None and cloud is None:
            raise ValueError("nothing to fuse: neither edge nor cloud logits")
        if cloud is None:
            logits, used_cloud = edge, False
        elif edge is None:
            logits, used_cloud = cloud, True
        else:
            logits, used_cloud = self.forward(edge, cloud, xi), True
        logits = logits.reshape(-1).float()
        probs = torch.softmax(logits, dim=0)
        conf, cls = probs.max(dim=0)
        return FusedResult(logits, int(cls), float(conf), used_cloud)
