"""Model zoo: torchvision classifiers cut into a head and a tail at DAG-safe split points.

Each model is described as an ordered chain of *stages* whose composition is exactly the
torchvision model's ``forward``. Residual connections live inside a stage (a ResNet ``layerN``,
a MobileNetV2 ``InvertedResidual``, a ViT encoder block), so cutting between two stages never
cuts a skip connection: ``tail(head(x)) == model(x)`` for every split point (tested).

The feature map at a split is always *channel-first* without batch: ``(C, H, W)`` for CNNs and
``(D, N)`` (embedding dimension, tokens) for ViT, so the channel axis is axis 1 of a batch.
Split point names are the torchvision module paths (``layer2``, ``features.8``,
``encoder.layers.encoder_layer_5``); weights keep torchvision's state-dict names, so a torchvision
checkpoint loads as is (see :mod:`dvfo_core.split.checkpoint`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torchvision.models as tvm
from torch import nn

from dvfo_core.errors import ConfigError


class GlobalAvgPool(nn.Module):
    """``adaptive_avg_pool2d(x, 1)`` then flatten: ``(B, C, H, W) -> (B, C)`` (channel-local)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)


class Flatten(nn.Module):
    """``torch.flatten(x, 1)`` as a module, so it can be a stage."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(x, 1)


class VitEmbed(nn.Module):
    """ViT patch embedding, class token and position embedding (the encoder's input)."""

    def __init__(self, vit: tvm.VisionTransformer) -> None:
        super().__init__()
        # Submodules are shared with ``vit``; only the wrapper is new.
        self.conv_proj = vit.conv_proj
        self._vit = [vit]  # a list keeps it out of this module's children

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        vit = self._vit[0]
        tokens = vit._process_input(x)
        cls = vit.class_token.expand(tokens.shape[0], -1, -1)
        tokens = torch.cat([cls, tokens], dim=1) + vit.encoder.pos_embedding
        return vit.encoder.dropout(tokens)


class ClassToken(nn.Module):
    """Select the class token: ``(B, N, D) -> (B, D)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0]


class TokensToChannels(nn.Module):
    """``(B, N, D) -> (B, D, N)``: makes the ViT feature map channel-first at a split."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2)


class ChannelsToTokens(nn.Module):
    """``(B, D, N) -> (B, N, D)``: the inverse of :class:`TokensToChannels`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2)


def _key(name: str) -> str:
    return name.replace(".", "_")


@dataclass(frozen=True)
class ModelSpec:
    """How to build one zoo model and where it may be split."""

    name: str
    builder: Callable[..., nn.Module]
    stages: Callable[[nn.Module], list[tuple[str, nn.Module]]]
    split_points: Callable[[list[tuple[str, nn.Module]]], tuple[str, ...]]
    default_split: str
    channel_layout: str = "conv"  #: ``conv`` (C, H, W) or ``tokens`` (D, N) at the split
    fixed_size: bool = False  #: True when the model only accepts its build-time image size


def _resnet_stages(m: nn.Module) -> list[tuple[str, nn.Module]]:
    names = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool"]
    stages = [(n, getattr(m, n)) for n in names]
    return [*stages, ("flatten", Flatten()), ("fc", m.fc)]


def _features_stages(m: nn.Module, pool: nn.Module) -> list[tuple[str, nn.Module]]:
    stages = [(f"features.{i}", f) for i, f in enumerate(m.features)]
    return [*stages, ("avgpool", pool), ("flatten", Flatten()), ("classifier", m.classifier)]


def _mobilenet_stages(m: nn.Module) -> list[tuple[str, nn.Module]]:
    stages = [(f"features.{i}", f) for i, f in enumerate(m.features)]
    return [*stages, ("avgpool", GlobalAvgPool()), ("classifier", m.classifier)]


def _vit_stages(m: nn.Module) -> list[tuple[str, nn.Module]]:
    stages: list[tuple[str, nn.Module]] = [("embed", VitEmbed(m))]
    stages += [(f"encoder.layers.{n}", blk) for n, blk in m.encoder.layers.named_children()]
    return [*stages, ("encoder.ln", m.encoder.ln), ("class_token", ClassToken()), ("heads", m.heads)]


Stages = list[tuple[str, nn.Module]]


def _resnet_splits(_: Stages) -> tuple[str, ...]:
    return ("maxpool", "layer1", "layer2", "layer3", "layer4")


def _all_features(stages: Stages) -> tuple[str, ...]:
    return tuple(n for n, _ in stages if n.startswith("features."))


def _vgg_splits(stages: Stages) -> tuple[str, ...]:
    # after every ReLU and MaxPool of ``features`` (a conv output before its ReLU is a poor cut)
    return tuple(n for n, m in stages if n.startswith("features.") and isinstance(m, (nn.ReLU, nn.MaxPool2d)))


def _vit_splits(stages: Stages) -> tuple[str, ...]:
    return tuple(n for n, _ in stages if n.startswith("encoder.layers."))


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec("resnet18", tvm.resnet18, _resnet_stages, _resnet_splits, "layer2"),
        ModelSpec("resnet50", tvm.resnet50, _resnet_stages, _resnet_splits, "layer2"),
        ModelSpec("mobilenet_v2", tvm.mobilenet_v2, _mobilenet_stages, _all_features, "features.8"),
        ModelSpec(
            "efficientnet_b0",
            tvm.efficientnet_b0,
            lambda m: _features_stages(m, m.avgpool),
            _all_features,
            "features.3",
        ),
        ModelSpec("vgg16", tvm.vgg16, lambda m: _features_stages(m, m.avgpool), _vgg_splits, "features.16"),
        ModelSpec(
            "vit_b_16",
            tvm.vit_b_16,
            _vit_stages,
            _vit_splits,
            "encoder.layers.encoder_layer_5",
            channel_layout="tokens",
            fixed_size=True,
        ),
    ]
}


class SplitModel(nn.Module):
    """A torchvision classifier that can be cut at any of its :attr:`split_points`.

    ``self.net`` is the unmodified torchvision model (its state dict is the checkpoint format);
    :meth:`head` and :meth:`tail` return ``nn.Sequential`` views sharing its modules.
    """

    def __init__(self, spec: ModelSpec, net: nn.Module, num_classes: int, image_size: int) -> None:
        super().__init__()
        self.spec = spec
        self.net = net
        self.num_classes = num_classes
        self.image_size = image_size
        self._stages = spec.stages(net)  # plain list: modules are registered under ``net``
        self._names = [n for n, _ in self._stages]

    @property
    def name(self) -> str:
        """The torchvision model name."""
        return self.spec.name

    @property
    def split_points(self) -> tuple[str, ...]:
        """Names of the stages after which the model may be cut, in execution order."""
        return self.spec.split_points(self._stages)

    @property
    def default_split(self) -> str:
        """The split point used when none is given."""
        return self.spec.default_split

    def _index(self, split: str) -> int:
        if split not in self.split_points:
            raise ConfigError(
                f"{self.name}: unknown split point {split!r}; valid: {', '.join(self.split_points)}"
            )
        return self._names.index(split)

    def head(self, split: str) -> nn.Sequential:
        """Stages up to and including ``split``: image ``(B, 3, H, W)`` -> channel-first features."""
        k = self._index(split)
        mods = OrderedDict((_key(n), m) for n, m in self._stages[: k + 1])
        if self.spec.channel_layout == "tokens":
            mods["to_channels"] = TokensToChannels()
        return self._view(mods)

    def tail(self, split: str) -> nn.Sequential:
        """Stages after ``split``: channel-first features -> logits ``(B, num_classes)``."""
        k = self._index(split)
        mods: OrderedDict[str, nn.Module] = OrderedDict()
        if self.spec.channel_layout == "tokens":
            mods["to_tokens"] = ChannelsToTokens()
        mods.update((_key(n), m) for n, m in self._stages[k + 1 :])
        return self._view(mods)

    def _view(self, mods: OrderedDict[str, nn.Module]) -> nn.Sequential:
        seq = nn.Sequential(mods)
        seq.training = self.training  # the container only: stages keep their own mode
        for m in mods.values():
            if not any(m is s for _, s in self._stages):
                m.training = self.training
        return seq

    @torch.no_grad()
    def feature_shape(self, split: str, image_size: int | None = None) -> tuple[int, ...]:
        """Channel-first feature-map shape (no batch) at ``split`` for a square input image."""
        size = image_size or self.image_size
        if self.spec.fixed_size and size != self.image_size:
            raise ConfigError(f"{self.name} was built for {self.image_size}px input, not {size}px")
        was_training = self.training
        self.eval()
        try:
            out = self.head(split)(torch.zeros(1, 3, size, size))
        finally:
            self.train(was_training)
        return tuple(out.shape[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The unsplit torchvision forward pass."""
        return self.net(x)


def model_names() -> list[str]:
    """Names of the zoo models."""
    return list(MODELS)


def build(name: str, num_classes: int = 1000, image_size: int = 224) -> SplitModel:
    """Build zoo model ``name`` (torchvision definition, random initial weights).

    ``image_size`` is the square input size the model will see; only ViT depends on it at build
    time (its position embedding), the CNNs record it for :meth:`SplitModel.feature_shape`.
    """
    spec = MODELS.get(name)
    if spec is None:
        raise ConfigError(f"unknown model {name!r}; zoo models: {', '.join(MODELS)}")
    if num_classes < 2:
        raise ConfigError(f"num_classes must be >= 2, got {num_classes}")
    kwargs: dict[str, int] = {"num_classes": num_classes}
    if spec.fixed_size:
        kwargs["image_size"] = image_size
    net = spec.builder(weights=None, **kwargs)
    return SplitModel(spec, net, num_classes, image_size)
