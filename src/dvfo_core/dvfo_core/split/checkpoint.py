"""Checkpoints of a :class:`~dvfo_core.split.net.SplitNet` with their config, and torchvision weights.

A checkpoint is ``torch.save`` of a plain dict (loadable with ``weights_only=True``)::

    {"format": "dvfo-split/1", "config": SplitConfig.to_dict(), "weights_dtype": "fp32|fp16|int8",
     "state": {name: tensor | {"q": int8, "scale": fp32}}, "metrics": {...}}

``int8`` stores every float tensor of at least 4,096 values as per-output-channel symmetric int8
codes plus fp32 scales (the rest fp16): a resnet18 fits in ~11 MB. Weight names are torchvision's
under ``base.net.`` so :func:`load_torchvision_weights` reads a torchvision ``state_dict`` file
(e.g. ``resnet18-f37072fd.pth`` downloaded on a connected machine) with the same code path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from dvfo_core.errors import ConfigError
from dvfo_core.split.checkpoint_header import FORMAT, shipped_checkpoint  # noqa: F401  (re-exported)
from dvfo_core.split.names import WEIGHT_DTYPES
from dvfo_core.split.net import SplitConfig, SplitNet
from dvfo_core.split.zoo import SplitModel

_INT8_MIN_NUMEL = 4096


def _pack(state: dict[str, torch.Tensor], dtype: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, t in state.items():
        t = t.detach().cpu()
        if not t.is_floating_point() or dtype == "fp32":
            out[name] = t.clone()
        elif dtype == "int8" and t.dim() >= 2 and t.numel() >= _INT8_MIN_NUMEL:
            flat = t.reshape(t.shape[0], -1).float()
            scale = (flat.abs().amax(dim=1) / 127.0).clamp_min(1e-12)
            q = torch.round(flat / scale[:, None]).clamp(-127, 127).to(torch.int8).reshape(t.shape)
            out[name] = {"q": q, "scale": scale}
        else:
            out[name] = t.half()
    return out


def _unpack(state: dict[str, Any]) -> dict[str, torch.Tensor]:
    out = {}
    for name, v in state.items():
        if isinstance(v, dict):
            q, scale = v["q"], v["scale"]
            out[name] = (q.reshape(q.shape[0], -1).float() * scale[:, None]).reshape(q.shape)
        else:
            out[name] = v.float() if v.is_floating_point() else v
    return out


def round_weights(net: SplitNet, weights_dtype: str) -> SplitNet:
    """Replace ``net``'s weights by what a ``weights_dtype`` checkpoint stores (to evaluate it)."""
    if weights_dtype not in WEIGHT_DTYPES:
        raise ConfigError(f"weights dtype must be one of {', '.join(WEIGHT_DTYPES)}, got {weights_dtype!r}")
    net.load_state_dict(_unpack(_pack(net.state_dict(), weights_dtype)))
    return net


def save_checkpoint(
    path: str | Path, net: SplitNet, metrics: dict[str, Any] | None = None, weights_dtype: str = "fp32"
) -> Path:
    """Write ``net`` with its config (and ``metrics``) to ``path``; returns the path."""
    if weights_dtype not in WEIGHT_DTYPES:
        raise ConfigError(f"weights dtype must be one of {', '.join(WEIGHT_DTYPES)}, got {weights_dtype!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {
        "format": FORMAT,
        "config": net.config.to_dict(),
        "weights_dtype": weights_dtype,
        "state": _pack(net.state_dict(), weights_dtype),
        "metrics": metrics or {},
    }
    torch.save(blob, path)
    return path


@dataclass
class LoadedCheckpoint:
    """A loaded checkpoint: the network (eval mode) and what was stored with it."""

    net: SplitNet
    weights_dtype: str
    metrics: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def load_checkpoint(path: str | Path) -> LoadedCheckpoint:
    """Read a checkpoint written by :func:`save_checkpoint`."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"checkpoint {path} does not exist")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle / zip errors of a damaged or foreign file
        raise ConfigError(f"checkpoint {path} cannot be read: {exc}") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ConfigError(
            f"checkpoint {path} is not a {FORMAT} file (a torchvision state_dict? use --weights)"
        )
    config = SplitConfig.from_dict(blob["config"])
    net = SplitNet(config)
    missing, unexpected = net.load_state_dict(_unpack(blob["state"]), strict=False)
    if missing or unexpected:
        raise ConfigError(
            f"checkpoint {path} does not match {config.model}: "
            f"missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    net.eval()
    return LoadedCheckpoint(net, blob.get("weights_dtype", "fp32"), dict(blob.get("metrics", {})), path)


@dataclass
class WeightsReport:
    """What :func:`load_torchvision_weights` did."""

    loaded: int  #: tensors copied
    skipped: list[str]  #: classifier tensors left at their initial values (class count differs)


def load_torchvision_weights(model: SplitModel, path: str | Path) -> WeightsReport:
    """Load a torchvision ``state_dict`` file into ``model.net``.

    Accepts a bare state dict or one wrapped under ``state_dict``/``model`` (``module.`` prefixes
    stripped). Tensors whose shape differs only because the class count differs (the final
    classifier) are skipped and reported; any other missing or mismatched tensor is an error.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"weights file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ConfigError(f"weights file {path} cannot be read: {exc}") from None
    if isinstance(state, dict):
        for key in ("state_dict", "model"):
            if isinstance(state.get(key), dict):
                state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"weights file {path} is not a state_dict of tensors")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = model.net.state_dict()
    missing = [k for k in own if k not in state]
    if missing:
        raise ConfigError(
            f"weights file {path} lacks {len(missing)} tensors of {model.name}, e.g. {missing[0]}"
        )
    skipped, use = [], {}
    for k, target in own.items():
        src = state[k]
        if src.shape == target.shape:
            use[k] = src
        elif src.dim() >= 1 and src.shape[1:] == target.shape[1:] and target.shape[0] == model.num_classes:
            skipped.append(k)  # classifier rows: a different class count
        else:
            raise ConfigError(
                f"weights file {path}: {k} has shape {tuple(src.shape)}, "
                f"{model.name} needs {tuple(target.shape)}"
            )
    model.net.load_state_dict(use, strict=False)
    return WeightsReport(len(use), skipped)
