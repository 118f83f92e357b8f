"""Fine-tuning of head + SCA + tail + fusion so fused accuracy holds at every ``xi``.

Each batch draws one ``xi`` per image uniformly from [0, 1] and minimises

    CE(full local) + CE(fused split output) + fallback_weight * CE(edge output alone)

on randomly shifted images. The split output uses the SCA ranking of each image (a
straight-through mask, so the partition's loss reaches the SCA gates) and the cloud's input goes
through the codec's int8 quantisation (straight-through). The edge term (images with ``xi < 1``
only) keeps the edge-only fallback usable when the cloud result does not come.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from dvfo_core.split.codec import fake_quantise
from dvfo_core.split.data import DatasetSplit
from dvfo_core.split.net import SplitNet


@dataclass(frozen=True)
class TrainConfig:
    """Fine-tuning hyper-parameters."""

    epochs: int = 4
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    fallback_weight: float = 0.5
    seed: int = 0
    limit: int | None = None  #: use only a seeded random ``limit`` training images (quick runs)
    shift: int = 2  #: random translation augmentation, up to this many pixels each way (0: off)


@dataclass
class TrainResult:
    """Per-epoch mean losses and wall time."""

    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    images: int = 0


def split_loss(net: SplitNet, x: torch.Tensor, y: torch.Tensor, fallback_weight: float) -> torch.Tensor:
    """The training loss of one batch (see the module docstring)."""
    features, importance = net.encode(x)
    loss = F.cross_entropy(net.tail(features), y)
    xi = torch.rand(x.shape[0])
    out = net.split_forward(
        features, importance, xi, channel_codec=lambda f: fake_quantise(f, 8), straight_through=True
    )
    loss = loss + F.cross_entropy(out.fused, y)
    if out.edge is not None and fallback_weight > 0:
        has_edge = (out.primary.sum(dim=1) > 0).float()
        per = F.cross_entropy(out.edge, y, reduction="none")
        loss = loss + fallback_weight * (per * has_edge).sum() / has_edge.sum().clamp_min(1.0)
    return loss


def random_shift(x: torch.Tensor, pixels: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Translate each image by up to ``pixels`` in x and y (zero padding, i.e. the mean colour)."""
    if pixels <= 0:
        return x
    b, _, h, w = x.shape
    padded = F.pad(x, (pixels, pixels, pixels, pixels))
    offs = torch.randint(0, 2 * pixels + 1, (b, 2), generator=generator)
    return torch.stack([padded[i, :, dy : dy + h, dx : dx + w] for i, (dy, dx) in enumerate(offs.tolist())])


def finetune(net: SplitNet, data: DatasetSplit, cfg: TrainConfig, progress: bool = True) -> TrainResult:
    """Fine-tune ``net`` on ``data.train`` (AdamW, one-cycle learning rate)."""
    torch.manual_seed(cfg.seed)
    train = data.train
    if cfg.limit is not None:
        keep = torch.randperm(len(train), generator=torch.Generator().manual_seed(cfg.seed))
        train = torch.utils.data.Subset(train, sorted(keep[: cfg.limit].tolist()))
    loader = DataLoader(train, batch_size=cfg.batch_size, shuffle=True, drop_last=len(train) > cfg.batch_size)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=max(1, cfg.epochs * len(loader)), pct_start=0.2
    )
    result = TrainResult(images=len(train))
    start = time.perf_counter()
    net.train()
    for epoch in range(cfg.epochs):
        total, count = 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False)
        for x, y in bar:
            loss = split_loss(net, random_shift(x, cfg.shift), y, cfg.fallback_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(y)
            count += len(y)
            bar.set_postfix(loss=f"{total / count:.3f}")
        result.losses.append(total / max(count, 1))
    net.eval()
    result.seconds = time.perf_counter() - start
    return result
