"""The trainable split network: zoo model cut at one split + SCA + xi-dependent fusion.

One tail, two placements: the edge and the cloud run the *same* tail weights, the edge on the
primary channels, the cloud on the secondary channels (both zero-filled in training, sliced at
run time, which is the same function). ``forward(x)`` is full local inference (every channel on
the edge, xi = 0); :meth:`SplitNet.split_forward` is DVFO's fused split inference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from dvfo_core.errors import ConfigError
from dvfo_core.split import zoo
from dvfo_core.split.fusion import XiFusion
from dvfo_core.split.partition import primary_mask, straight_through_mask
from dvfo_core.split.sca import SpatialChannelAttention


@dataclass(frozen=True)
class SplitConfig:
    """What a checkpoint needs to rebuild a :class:`SplitNet` (JSON-serialisable)."""

    model: str
    split: str
    num_classes: int
    image_size: int  #: square input size the weights were trained at
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)  #: input normalisation (per channel)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    sca_reduction: int = 8

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON / checkpoints."""
        d = dict(self.__dict__)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SplitConfig:
        """Inverse of :meth:`to_dict` (unknown keys are an error)."""
        known = set(cls.__dataclass_fields__)
        extra = set(d) - known
        if extra:
            raise ConfigError(f"split config has unknown keys: {', '.join(sorted(extra))}")
        d = dict(d)
        for k in ("mean", "std"):
            if k in d:
                d[k] = tuple(float(v) for v in d[k])
        return cls(**d)


@dataclass
class SplitOutputs:
    """Batched outputs of :meth:`SplitNet.split_forward`."""

    edge: torch.Tensor | None  #: edge logits on the primary channels (None at xi = 1 everywhere)
    cloud: torch.Tensor | None  #: cloud logits on the secondary channels (None at xi = 0 everywhere)
    fused: torch.Tensor
    primary: torch.Tensor  #: 0/1 mask ``(B, C)``


class SplitNet(nn.Module):
    """Head + SCA on the edge, one tail for edge (primary) and cloud (secondary), fusion."""

    def __init__(self, config: SplitConfig, base: zoo.SplitModel | None = None) -> None:
        super().__init__()
        self.config = config
        self.base = base or zoo.build(config.model, config.num_classes, config.image_size)
        # views sharing ``base``'s modules; kept out of the module tree so the state dict
        # holds every weight once, under torchvision's names (``base.net.*``)
        self._views = {"head": self.base.head(config.split), "tail": self.base.tail(config.split)}
        self.feature_shape = self.base.feature_shape(config.split, config.image_size)
        self.sca = SpatialChannelAttention(self.feature_shape[0], reduction=config.sca_reduction)
        self.fusion = XiFusion()

    @property
    def head(self) -> nn.Sequential:
        """Stages up to the split (edge)."""
        return self._views["head"]

    @property
    def tail(self) -> nn.Sequential:
        """Stages after the split (run by the edge on primary and the cloud on secondary channels)."""
        return self._views["tail"]

    def train(self, mode: bool = True) -> SplitNet:
        """Set train/eval mode, including the head/tail containers."""
        super().train(mode)
        for view in self._views.values():
            view.train(mode)
        return self

    @property
    def channels(self) -> int:
        """Channels of the feature map at the split."""
        return self.feature_shape[0]

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Edge head + SCA: attended features ``(B, C, *spatial)`` and importance ``(B, C)``."""
        return self.sca(self.head(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Full local inference: every channel through the tail on the edge."""
        features, _ = self.encode(x)
        return self.tail(features)

    def split_forward(
        self,
        features: torch.Tensor,
        importance: torch.Tensor,
        xi: torch.Tensor | float,
        channel_codec: Any = None,
        straight_through: bool = False,
    ) -> SplitOutputs:
        """Fused split inference on a batch for ``xi`` (a float or one per frame).

        ``channel_codec(features) -> features`` simulates the wire (quantise/dequantise) on the
        cloud's input; ``straight_through`` uses the training mask that passes gradient to SCA.
        """
        if straight_through:
            mask = straight_through_mask(importance, xi)
        else:
            mask = primary_mask(importance, xi)
        shape = (mask.shape[0], mask.shape[1]) + (1,) * (features.dim() - 2)
        m = mask.reshape(shape)
        hard = primary_mask(importance.detach(), xi)
        any_primary = bool(hard.sum() > 0)
        any_secondary = bool((1 - hard).sum() > 0)
        edge = self.tail(features * m) if any_primary else None
        cloud = None
        if any_secondary:
            sent = features if channel_codec is None else channel_codec(features)
            cloud = self.tail(sent * (1 - m))
        if edge is None:
            fused = cloud
        elif cloud is None:
            fused = edge
        else:
            fused = self.fusion(edge, cloud, xi)
        return SplitOutputs(edge, cloud, fused, hard)
