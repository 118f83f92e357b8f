"""Frame-level split inference API for the nodes (no middleware here).

Edge, one frame::

    out = runner.head(image)                        # head + SCA
    primary, secondary = runner.partition(out, xi)
    enc = runner.encode_secondary(out, secondary)   # None when xi = 0 -> nothing is sent
    edge_logits = runner.edge_tail(out, primary)    # None when xi = 1 -> the edge runs no tail
    ... publish enc.to_msg_fields() as dvfo_msgs/FeatureMap, wait for CloudResult ...
    result = runner.fuse(edge_logits, cloud_logits_or_None, xi)

Cloud::

    decoded = runner.decode(msg, model=msg.model, split=msg.split)  # PayloadRejectedError on bad input
    logits = runner.cloud_tail(decoded)

When the cloud result does not come, :meth:`SplitRunner.fuse` returns the edge logits alone; at
``xi = 1`` there are none, and the edge runs :meth:`SplitRunner.fallback_tail` (the tail on all
channels, late; its cost is ``SplitProfile`` ``fallback_edge``).

The image route (``split = "input"``, ``xi = 1``: the cloud-only route of the governor's table)
sends the model input itself, every colour channel through the same codec
(:meth:`SplitRunner.encode_image`); the cloud runs the plain model on it
(:meth:`SplitRunner.cloud_plain`), and the edge, when the answer does not come, the plain model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from dvfo_core.split import codec
from dvfo_core.split.checkpoint import load_checkpoint, shipped_checkpoint
from dvfo_core.split.fusion import FusedResult
from dvfo_core.split.net import SplitNet
from dvfo_core.split.partition import check_xi, partition
from dvfo_core.split.slicing import slice_input_channels
from dvfo_core.world.routes import INPUT


@dataclass(frozen=True)
class HeadOutput:
    """One frame's head output after SCA."""

    features: torch.Tensor  #: ``(C, *spatial)``
    importance: torch.Tensor  #: ``(C,)``


class SplitRunner:
    """Runs one :class:`SplitNet` frame by frame, edge side and cloud side."""

    def __init__(self, net: SplitNet, encoding: str = codec.DEFAULT_ENCODING) -> None:
        codec.parse_encoding(encoding)
        self.net = net.eval()
        self.encoding = encoding

    @classmethod
    def from_checkpoint(
        cls, path: str | Path | None = None, model: str | None = None, encoding: str = codec.DEFAULT_ENCODING
    ) -> SplitRunner:
        """Load ``path``, or the shipped fine-tuned checkpoint of ``model`` when ``path`` is None."""
        if path is None:
            if model is None:
                raise ValueError("give a checkpoint path or a model name")
            path = shipped_checkpoint(model)
        return cls(load_checkpoint(path).net, encoding)

    @property
    def model(self) -> str:
        """Torchvision model name."""
        return self.net.config.model

    @property
    def split(self) -> str:
        """Split point name."""
        return self.net.config.split

    @property
    def feature_shape(self) -> tuple[int, ...]:
        """Channel-first feature shape at the split for the configured input size."""
        return self.net.feature_shape

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """The model input's shape ``(3, S, S)``: what the image route sends."""
        size = self.net.config.image_size
        return (3, size, size)

    def payload_shape(self, split: str) -> tuple[int, ...]:
        """The shape a payload for ``split`` carries: the image's for ``"input"``, else the features'."""
        return self.image_shape if split == INPUT else self.feature_shape

    def preprocess(self, image: np.ndarray) -> torch.Tensor:
        """``(H, W)`` or ``(H, W, 3)`` uint8 image -> normalised ``(1, 3, S, S)`` model input."""
        arr = np.asarray(image)
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"image must be (H, W) or (H, W, 3), got {arr.shape}")
        x = torch.from_numpy(arr.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
        size = self.net.config.image_size
        if x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        mean = torch.tensor(self.net.config.mean).reshape(1, 3, 1, 1)
        std = torch.tensor(self.net.config.std).reshape(1, 3, 1, 1)
        return (x - mean) / std

    @torch.no_grad()
    def head(self, image: torch.Tensor) -> HeadOutput:
        """Head + SCA on one normalised image ``(3, S, S)`` or ``(1, 3, S, S)``."""
        x = image if image.dim() == 4 else image[None]
        if x.shape[0] != 1:
            raise ValueError(f"one frame at a time, got a batch of {x.shape[0]}")
        features, importance = self.net.encode(x)
        return HeadOutput(features[0], importance[0])

    @torch.no_grad()
    def plain(self, image: torch.Tensor) -> torch.Tensor:
        """The plain model (no SCA, every channel on the edge): the ``xi = 0`` route's logits."""
        x = image if image.dim() == 4 else image[None]
        return self.net.base(x)[0]

    def partition(self, head_out: HeadOutput, xi: float) -> tuple[torch.Tensor, torch.Tensor]:
        """``(primary, secondary)`` channel indices for ``xi`` (see :mod:`~dvfo_core.split.partition`)."""
        return partition(head_out.importance, xi)

    @torch.no_grad()
    def _tail_on(self, features: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        c = self.net.channels
        if len(idx) == c:
            return self.net.tail(features[None])[0]
        sliced = slice_input_channels(self.net.tail, idx, c)
        return sliced(features[None])[0]

    def edge_tail(self, head_out: HeadOutput, primary: torch.Tensor) -> torch.Tensor | None:
        """Edge tail on the primary channels only (weights sliced); None when there are none."""
        if len(primary) == 0:
            return None
        return self._tail_on(head_out.features[primary], primary)

    def fallback_tail(self, head_out: HeadOutput) -> torch.Tensor:
        """Edge tail on every channel: the answer when the cloud never does and the edge has none."""
        return self._tail_on(head_out.features, torch.arange(self.net.channels))

    def encode_image(self, image: torch.Tensor) -> codec.EncodedFeatures:
        """The normalised model input ``(1, 3, S, S)`` with the runner's codec (the image route)."""
        x = image[0] if image.dim() == 4 else image
        return codec.encode(x, torch.arange(x.shape[0]), self.encoding)

    def encode_secondary(self, head_out: HeadOutput, secondary: torch.Tensor) -> codec.EncodedFeatures | None:
        """Encode the secondary channels with the runner's codec; None when there are none."""
        if len(secondary) == 0:
            return None
        return codec.encode(head_out.features, secondary, self.encoding)

    def check_source(self, model: str | None, split: str | None) -> None:
        """Reject a payload produced for another model or split (:class:`codec.PayloadRejectedError`)."""
        if model is not None and model != self.model:
            raise codec.PayloadRejectedError(
                codec.RejectReason.MODEL_MISMATCH, f"model {model!r}, this tail serves {self.model!r}"
            )
        if split is not None and split not in (self.split, INPUT):
            raise codec.PayloadRejectedError(
                codec.RejectReason.MODEL_MISMATCH,
                f"split {split!r}, this tail serves {self.model} at {self.split!r}",
            )

    def decode(
        self, payload: codec.EncodedFeatures | Any, model: str | None = None, split: str | None = None
    ) -> codec.DecodedFeatures:
        """Check and decode a payload (EncodedFeatures, a FeatureMap message or a dict of its fields).

        ``split = "input"``: the image route's payload, which must carry every colour channel.
        """
        self.check_source(model, split)
        enc = (
            payload
            if isinstance(payload, codec.EncodedFeatures)
            else codec.EncodedFeatures.from_msg_fields(payload)
        )
        decoded = codec.decode(enc, expected_shape=self.payload_shape(split or self.split))
        if split == INPUT and len(decoded.indices) != self.image_shape[0]:
            raise codec.PayloadRejectedError(
                codec.RejectReason.CHANNEL_INDICES,
                f"the image route carries all {self.image_shape[0]} colour channels, "
                f"got {len(decoded.indices)}",
            )
        return decoded

    def cloud_tail(self, decoded: codec.DecodedFeatures) -> torch.Tensor:
        """Cloud tail on the decoded secondary channels only (weights sliced)."""
        return self._tail_on(decoded.values, decoded.indices)

    @torch.no_grad()
    def cloud_plain(self, images: torch.Tensor) -> torch.Tensor:
        """The plain model on decoded image-route inputs ``(B, 3, S, S)``: ``(B, classes)`` logits."""
        return self.net.base(images)

    def fuse(
        self, edge_logits: torch.Tensor | None, cloud_logits: torch.Tensor | None, xi: float
    ) -> FusedResult:
        """Weighted sum for ``xi``; the edge alone when the cloud result is missing."""
        xi = check_xi(xi)
        if edge_logits is None and cloud_logits is None:
            raise ValueError("no logits to fuse: at xi = 1 without a cloud result call fallback_tail()")
        return self.net.fusion.fuse(edge_logits, cloud_logits, xi)

    def infer(self, image: torch.Tensor, xi: float) -> FusedResult:
        """Whole frame in process: head, partition, edge tail, codec round trip, cloud tail, fusion."""
        out = self.head(image)
        primary, secondary = self.partition(out, xi)
        edge = self.edge_tail(out, primary)
        enc = self.encode_secondary(out, secondary)
        cloud = self.cloud_tail(self.decode(enc)) if enc is not None else None
        return self.fuse(edge, cloud, xi)
