"""Per-layer compute and memory cost of the torch modules that actually execute.

This is the contract between the split-inference code (which knows what runs where for a given
split and ``xi``) and the digital twin (which turns FLOPs and bytes into latency and energy at a
clock setting). FLOPs come from torch's own counter (:class:`torch.utils.flop_counter.FlopCounterMode`),
bytes from the tensors each leaf module reads and writes.

The data classes are torch-free (the governor and the twin read shipped workloads without torch);
only :func:`profile_layers` imports torch, when it runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass(frozen=True)
class LayerCost:
    """Cost of one leaf module for one input (batch 1)."""

    name: str  #: dotted module path, e.g. ``layer3.0.conv1``
    kind: str  #: module class name, e.g. ``Conv2d``
    flops: float  #: floating-point operations (a multiply-add is 2), as FlopCounterMode counts
    param_bytes: int  #: weights and buffers read
    input_bytes: int  #: activations read
    output_bytes: int  #: activations written

    @property
    def bytes(self) -> int:
        """All bytes moved to or from memory by this layer."""
        return self.param_bytes + self.input_bytes + self.output_bytes


@dataclass(frozen=True)
class Workload:
    """An ordered list of layers that run on one processor for one frame."""

    name: str
    layers: tuple[LayerCost, ...] = field(default_factory=tuple)

    @property
    def flops(self) -> float:
        """Total FLOPs of the workload."""
        return float(sum(layer.flops for layer in self.layers))

    @property
    def bytes(self) -> int:
        """Total bytes moved by the workload."""
        return int(sum(layer.bytes for layer in self.layers))

    def __add__(self, other: Workload) -> Workload:
        return Workload(f"{self.name}+{other.name}", self.layers + other.layers)

    @staticmethod
    def concat(name: str, parts: Iterable[Workload]) -> Workload:
        """One workload running ``parts`` one after another."""
        layers: tuple[LayerCost, ...] = ()
        for part in parts:
            layers += part.layers
        return Workload(name, layers)


def _nbytes(obj: object) -> int:
    import torch

    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, (list, tuple)):
        return sum(_nbytes(o) for o in obj)
    if isinstance(obj, dict):
        return sum(_nbytes(o) for o in obj.values())
    return 0


def profile_layers(module: nn.Module, *inputs: torch.Tensor, name: str = "") -> Workload:
    """Run ``module`` once on ``inputs`` and return the cost of every leaf module that executed.

    A module called twice (shared weights) appears twice. FLOPs of a leaf come from
    FlopCounterMode's per-module counts; a leaf that torch counts no FLOPs for (ReLU, pooling,
    normalisation) still moves bytes and is kept.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    calls: list[tuple[str, nn.Module, int, int]] = []
    handles = []
    names = {m: n for n, m in module.named_modules()}

    def hook(mod: nn.Module, args: tuple, out: object) -> None:
        calls.append((names[mod], mod, _nbytes(args), _nbytes(out)))

    for mod in module.modules():
        if next(mod.children(), None) is None:
            handles.append(mod.register_forward_hook(hook))
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            module(*inputs)
    finally:
        for h in handles:
            h.remove()
    counts = counter.get_flop_counts()
    root = type(module).__name__
    layers = []
    ncalls: dict[str, int] = {}
    for mod_name, *_ in calls:
        ncalls[mod_name] = ncalls.get(mod_name, 0) + 1
    for mod_name, mod, in_b, out_b in calls:
        key = f"{root}.{mod_name}" if mod_name else root
        # FlopCounterMode accumulates over repeated calls of one module: each call gets its share
        flops = float(sum(counts.get(key, {}).values())) / ncalls[mod_name]
        param_b = sum(p.numel() * p.element_size() for p in mod.parameters(recurse=False))
        param_b += sum(b.numel() * b.element_size() for b in mod.buffers(recurse=False))
        layers.append(LayerCost(mod_name or root, type(mod).__name__, flops, param_b, in_b, out_b))
    return Workload(name or root, tuple(layers))
