"""Tails that read only some channels: the first layers' weights sliced to the channels given.

``slice_input_channels(tail, idx, C)`` returns a module that takes the *compact* feature map
``x[:, idx]`` and computes exactly what ``tail`` computes on the zero-filled full map (tested), but
with less work where the architecture allows it:

* a ``Conv2d`` (groups=1) or ``Linear`` reading the map keeps only the weight columns of ``idx``;
* channel-local layers (BatchNorm, activations, pooling, dropout, depthwise convs) run on the
  ``len(idx)`` channels only, and the walk goes on to the next layer;
* residual blocks (ResNet BasicBlock/Bottleneck, MobileNetV2 InvertedResidual, EfficientNet
  MBConv) slice their body and shortcut; an identity shortcut adds the zero-filled input;
* anything else (ViT LayerNorm over the embedding, squeeze-excitation) gets the zero-filled full
  map and costs as much as the unsliced layer: nothing is assumed away.

The result is rebuilt for each index set (weights are copied), so profiling it with
:func:`dvfo_core.workload.profile_layers` counts the sliced weights that are really read.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torchvision.models.efficientnet import MBConv
from torchvision.models.mobilenetv2 import InvertedResidual
from torchvision.models.resnet import BasicBlock, Bottleneck

from dvfo_core.split.zoo import ChannelsToTokens, Flatten, GlobalAvgPool

_CHANNEL_LOCAL = (
    nn.ReLU,
    nn.ReLU6,
    nn.SiLU,
    nn.Hardswish,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.Dropout,
    nn.Identity,
    GlobalAvgPool,
)


def zero_fill(compact: torch.Tensor, idx: torch.Tensor, channels: int) -> torch.Tensor:
    """Scatter ``compact`` ``(B, k, ...)`` into a zero ``(B, channels, ...)`` map at ``idx``."""
    full = compact.new_zeros((compact.shape[0], channels, *compact.shape[2:]))
    full[:, idx] = compact
    return full


class ScatterChannels(nn.Module):
    """Zero-fill a compact map back to all channels (flattened maps: channel-major blocks)."""

    def __init__(self, idx: torch.Tensor, channels: int, flat: bool = False) -> None:
        super().__init__()
        self.register_buffer("idx", idx.clone(), persistent=False)
        self.channels = channels
        self.flat = flat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.flat:
            return zero_fill(x, self.idx, self.channels)
        b = x.shape[0]
        full = zero_fill(x.reshape(b, len(self.idx), -1), self.idx, self.channels)
        return full.reshape(b, -1)


class ResidualSliced(nn.Module):
    """``post(body(x) + shortcut(x))`` with ``body`` and ``shortcut`` already sliced."""

    def __init__(self, body: nn.Module, shortcut: nn.Module, post: nn.Module | None = None) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut
        self.post = post if post is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.body(x) + self.shortcut(x))


class BodyOnly(nn.Module):
    """A residual block without a shortcut (stride or width change): just its body."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _conv_in(conv: nn.Conv2d, idx: torch.Tensor) -> nn.Conv2d:
    new = nn.Conv2d(
        len(idx),
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        conv.dilation,
        1,
        conv.bias is not None,
        conv.padding_mode,
    )
    new.weight = nn.Parameter(conv.weight.detach().index_select(1, idx), requires_grad=False)
    if conv.bias is not None:
        new.bias = nn.Parameter(conv.bias.detach().clone(), requires_grad=False)
    return new


def _depthwise(conv: nn.Conv2d, idx: torch.Tensor) -> nn.Conv2d:
    k = len(idx)
    new = nn.Conv2d(
        k,
        k,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        conv.dilation,
        k,
        conv.bias is not None,
        conv.padding_mode,
    )
    new.weight = nn.Parameter(conv.weight.detach().index_select(0, idx), requires_grad=False)
    if conv.bias is not None:
        new.bias = nn.Parameter(conv.bias.detach().index_select(0, idx), requires_grad=False)
    return new


def _linear_in(lin: nn.Linear, idx: torch.Tensor, channels: int) -> nn.Linear:
    per = lin.in_features // channels
    if per * channels != lin.in_features:
        raise ValueError(f"Linear with {lin.in_features} inputs does not read {channels} channels")
    cols = (idx[:, None] * per + torch.arange(per)[None, :]).reshape(-1)
    new = nn.Linear(len(cols), lin.out_features, lin.bias is not None)
    new.weight = nn.Parameter(lin.weight.detach().index_select(1, cols), requires_grad=False)
    if lin.bias is not None:
        new.bias = nn.Parameter(lin.bias.detach().clone(), requires_grad=False)
    return new


def _batchnorm(bn: nn.BatchNorm2d, idx: torch.Tensor) -> nn.BatchNorm2d:
    new = nn.BatchNorm2d(len(idx), bn.eps, bn.momentum, bn.affine, bn.track_running_stats)
    with torch.no_grad():
        if bn.affine:
            new.weight.copy_(bn.weight.index_select(0, idx))
            new.bias.copy_(bn.bias.index_select(0, idx))
        if bn.track_running_stats:
            new.running_mean.copy_(bn.running_mean.index_select(0, idx))
            new.running_var.copy_(bn.running_var.index_select(0, idx))
    new.train(bn.training)
    return new


def _scatter_then(m: nn.Module, idx: torch.Tensor, channels: int, flat: bool) -> nn.Module:
    return nn.Sequential(OrderedDict([("zero_fill", ScatterChannels(idx, channels, flat)), ("layer", m)]))


def _slice(m: nn.Module, idx: torch.Tensor, channels: int, flat: bool) -> tuple[nn.Module, bool, bool]:
    """Slice ``m`` to read channels ``idx``. Returns ``(module, output_still_compact, flat)``."""
    if isinstance(m, nn.Sequential):
        out: OrderedDict[str, nn.Module] = OrderedDict()
        compact = True
        for name, child in m._modules.items():  # not named_children(): it drops repeated modules
            if child is None:
                continue
            if compact:
                child, compact, flat = _slice(child, idx, channels, flat)
            out[name] = child
        return nn.Sequential(out), compact, flat
    if isinstance(m, nn.Conv2d) and not flat:
        if m.groups == 1:
            return _conv_in(m, idx), False, False
        if m.groups == m.in_channels == m.out_channels:
            return _depthwise(m, idx), True, False
    if isinstance(m, nn.Linear) and (flat or m.in_features == channels):
        return _linear_in(m, idx, channels), False, False
    if isinstance(m, nn.BatchNorm2d) and not flat:
        return _batchnorm(m, idx), True, False
    if isinstance(m, _CHANNEL_LOCAL) and not (flat and isinstance(m, nn.AdaptiveAvgPool2d | GlobalAvgPool)):
        return m, True, flat or isinstance(m, GlobalAvgPool)
    if isinstance(m, Flatten):
        return m, True, True
    if isinstance(m, ChannelsToTokens):  # (B, D, N) -> tokens: LayerNorm mixes all of D next
        return _scatter_then(m, idx, channels, flat), False, False
    if not flat:
        block = _slice_block(m, idx, channels)
        if block is not None:
            return block, False, False
    return _scatter_then(m, idx, channels, flat), False, False


def _slice_block(m: nn.Module, idx: torch.Tensor, channels: int) -> nn.Module | None:
    scatter = ScatterChannels(idx, channels)
    if isinstance(m, (BasicBlock, Bottleneck)):
        names = ["conv1", "bn1", "relu", "conv2", "bn2"]
        if isinstance(m, Bottleneck):
            names += ["relu", "conv3", "bn3"]
        body = nn.Sequential(
            OrderedDict((f"{n}_{i}" if n == "relu" else n, getattr(m, n)) for i, n in enumerate(names))
        )
        body_s, _, _ = _slice(body, idx, channels, False)
        if m.downsample is not None:
            shortcut, _, _ = _slice(m.downsample, idx, channels, False)
        else:
            shortcut = scatter
        return ResidualSliced(body_s, shortcut, m.relu)
    if isinstance(m, InvertedResidual):
        body_s, _, _ = _slice(m.conv, idx, channels, False)
        return ResidualSliced(body_s, scatter) if m.use_res_connect else BodyOnly(body_s)
    if isinstance(m, MBConv):
        body_s, _, _ = _slice(m.block, idx, channels, False)
        body_s = nn.Sequential(OrderedDict([("block", body_s), ("stochastic_depth", m.stochastic_depth)]))
        return ResidualSliced(body_s, scatter) if m.use_res_connect else BodyOnly(body_s)
    return None


def slice_input_channels(module: nn.Module, idx: torch.Tensor, channels: int) -> nn.Module:
    """A module computing ``module(zero_fill(x, idx, channels))`` from the compact ``x = full[:, idx]``.

    ``idx`` must be a 1-D tensor of distinct channel indices; the caller passes ``x`` with its
    channels in the same order. Meant for inference (``module`` in eval mode).
    """
    idx = torch.as_tensor(idx, dtype=torch.long).reshape(-1)
    if len(idx) == 0:
        raise ValueError("cannot slice a module to zero input channels")
    sliced, _, _ = _slice(module, idx, channels, False)
    shared = {id(m) for m in module.modules()}
    for mod in sliced.modules():  # new containers only; shared layers keep their own mode
        if id(mod) not in shared:
            mod.training = module.training
    return sliced
