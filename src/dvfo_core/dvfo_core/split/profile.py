"""Split profiles: what the edge and the cloud really compute and send, per ``xi``, for the twin.

For one model at one split and a list of ``xi`` levels a :class:`SplitProfile` holds, per ``xi``:

* ``edge``: head + SCA + encoder of the secondary channels + the edge tail *sliced* to the
  primary channels + fusion, as :func:`dvfo_core.workload.profile_layers` measures them on the
  modules that run (the codec rows carry bytes only, no FLOPs);
* ``cloud``: decoder + the tail sliced to the secondary channels (empty at ``xi = 0``);
* ``payload_bytes``: mean compressed FeatureMap ``data`` bytes per frame, measured on real images
  through the real codec; ``accuracy``: fused top-1 on the held-out test set;
* ``fallback_edge``: extra edge work when the cloud never answers (``xi = 1``: the tail on all
  channels, late; otherwise empty, the edge logits are already there) and ``fallback_accuracy``.

Costs are computed at the deployment resolution ``cost_image_size`` (224x224, the paper's), with
the trained weights applied to real images resized to it; accuracy is measured at the resolution
the checkpoint was fine-tuned at (``image_size``). ``split_points`` has, for every split point of
the model, the head's edge workload, the full tail's workload and the whole feature map's
raw/compressed bytes (for a Neurosurgeon-style baseline); ``cloud_only_payload_bytes`` is the
input image as uint8 RGB compressed with zstd (what a cloud-only scheme sends).

The data classes and the JSON files live in the torch-free :mod:`dvfo_core.split.profile_data`
(re-exported here); this module adds the profiler, which runs the real torch modules.

Run ``python -m dvfo_core.split.profile --help`` to rebuild the shipped profiles.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import zstandard
from torch import nn
from tqdm import tqdm

from dvfo_core.errors import ConfigError
from dvfo_core.split import codec
from dvfo_core.split.net import SplitConfig, SplitNet
from dvfo_core.split.partition import check_xi, partition
from dvfo_core.split.profile_data import (  # noqa: F401  (re-exported: the data half of this module)
    DEFAULT_PROFILE_XIS,
    FORMAT,
    PROFILE_DIR,
    SplitPointProfile,
    SplitProfile,
    XiProfile,
    load_profile,
    markdown_table,
    profile_path,
    save_profiles,
    shipped_profiles,
    workload_from_json,
    workload_to_json,
)
from dvfo_core.split.slicing import slice_input_channels
from dvfo_core.workload import LayerCost, Workload, profile_layers


class _HeadSCA(nn.Module):
    """Head + SCA as one module returning the attended features (for profiling)."""

    def __init__(self, net: SplitNet) -> None:
        super().__init__()
        self.head = net.head
        self.sca = net.sca

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sca(self.head(x))[0]


def _codec_cost(name: str, values: int, raw_nbytes: int, encode: bool) -> Workload:
    fp32 = values * 4
    layer = LayerCost(name, "Codec", 0.0, 0, fp32 if encode else raw_nbytes, raw_nbytes if encode else fp32)
    return Workload(name, (layer,))


def _profile(module: nn.Module, x: torch.Tensor, name: str) -> Workload:
    return profile_layers(module, x, name=name)


def _image_payload(images_uint8: np.ndarray) -> float:
    comp = zstandard.ZstdCompressor(level=3)
    return float(np.mean([len(comp.compress(img.tobytes())) for img in images_uint8]))


def _to_uint8_rgb(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    m = torch.tensor(mean).reshape(1, 3, 1, 1)
    s = torch.tensor(std).reshape(1, 3, 1, 1)
    pix = ((images * s + m).clamp(0, 1) * 255).round().to(torch.uint8)
    return pix.permute(0, 2, 3, 1).contiguous().numpy()


@torch.no_grad()
def build_split_profile(
    net: SplitNet,
    xis: Sequence[float],
    images: torch.Tensor,
    image_size_for_costs: int = 224,
    encoding: str = codec.DEFAULT_ENCODING,
    accuracy: Any = None,
    trained: bool = True,
    progress: bool = True,
) -> SplitProfile:
    """Profile ``net`` (at its split) for each ``xi``.

    ``images``: normalised real images ``(n, 3, S, S)`` at ``image_size_for_costs`` (payload and
    costs); ``accuracy``: an :class:`~dvfo_core.split.accuracy.AccuracyReport` measured at the
    training resolution with ``encoding`` and these ``xis`` (None: accuracy fields None).
    """
    xis = [check_xi(x) for x in xis]
    codec.parse_encoding(encoding)
    net.eval()
    size = image_size_for_costs
    if images.shape[-1] != size or images.dim() != 4:
        raise ConfigError(f"profile images must be (n, 3, {size}, {size}), got {tuple(images.shape)}")
    base = net.base
    one = images[:1]
    head_sca = _HeadSCA(net)
    head_w = _profile(head_sca, one, "edge.head_sca")
    feats, importance = net.encode(images)
    c = feats.shape[1]
    per_value = int(math.prod(feats.shape[2:]))
    full_tail_w = _profile(net.tail, feats[:1], "tail")
    nc = net.config.num_classes
    full_local = Workload.concat("full_local", [head_w, full_tail_w])
    acc_rows = {}
    if accuracy is not None:
        acc_rows = {r.xi: r for r in accuracy.rows if r.encoding == encoding}
    levels = []
    for xi in tqdm(xis, desc=f"profile {net.config.model} xi", disable=not progress, leave=False):
        primary0, secondary0 = partition(importance[0], xi)
        parts = [head_w]
        cloud_parts: list[Workload] = []
        sizes, raws = [], []
        if len(secondary0):
            for i in range(feats.shape[0]):
                _, sec = partition(importance[i], xi)
                enc = codec.encode(feats[i], sec, encoding)
                sizes.append(enc.nbytes)
                raws.append(enc.raw_nbytes)
            raw0 = codec.raw_size(codec.parse_encoding(encoding)[0], len(secondary0) * per_value)
            parts.append(_codec_cost("edge.encode", len(secondary0) * per_value, raw0, True))
            cloud_parts.append(_codec_cost("cloud.decode", len(secondary0) * per_value, raw0, False))
            sliced = slice_input_channels(net.tail, secondary0, c)
            cloud_parts.append(_profile(sliced, feats[:1, secondary0], "cloud.tail"))
        if len(primary0):
            sliced = slice_input_channels(net.tail, primary0, c)
            parts.append(_profile(sliced, feats[:1, primary0], "edge.tail"))
        if len(primary0) and len(secondary0):
            logits = torch.zeros(1, nc)
            parts.append(profile_layers(net.fusion, logits, logits, torch.tensor(xi), name="edge.fusion"))
        fallback = (
            Workload("edge.fallback", full_tail_w.layers) if not len(primary0) else Workload("edge.fallback")
        )
        row = acc_rows.get(xi)
        levels.append(
            XiProfile(
                xi=xi,
                secondary_channels=len(secondary0),
                edge=Workload.concat("edge", parts),
                cloud=Workload.concat("cloud", cloud_parts),
                payload_bytes=float(np.mean(sizes)) if sizes else 0.0,
                raw_payload_bytes=float(np.mean(raws)) if raws else 0.0,
                accuracy=row.fused_top1 if row else None,
                fallback_accuracy=row.edge_only_top1 if row else None,
                fallback_edge=fallback,
            )
        )
    points = []
    for sp in tqdm(
        base.split_points, desc=f"profile {net.config.model} split points", disable=not progress, leave=False
    ):
        head = base.head(sp)
        f = head(images)
        idx_all = torch.arange(f.shape[1])
        sizes = [codec.encode(f[i], idx_all, encoding).nbytes for i in range(f.shape[0])]
        points.append(
            SplitPointProfile(
                split=sp,
                feature_shape=tuple(f.shape[1:]),
                head_edge=_profile(head, one, f"head@{sp}"),
                tail=_profile(base.tail(sp), f[:1], f"tail@{sp}"),
                raw_fp32_bytes=int(f[0].numel() * 4),
                payload_bytes=float(np.mean(sizes)),
            )
        )
    rgb = _to_uint8_rgb(images, net.config.mean, net.config.std)
    return SplitProfile(
        model=net.config.model,
        split=net.config.split,
        encoding=encoding,
        image_size=net.config.image_size,
        cost_image_size=size,
        feature_shape=tuple(feats.shape[1:]),
        levels=levels,
        full_local=full_local,
        full_local_accuracy=accuracy.full_local_top1 if accuracy is not None else None,
        cloud_only_payload_bytes=_image_payload(rgb),
        cloud_only_raw_bytes=int(rgb[0].size),
        split_points=points,
        data=accuracy.data if accuracy is not None else "",
        n_accuracy=accuracy.n if accuracy is not None else 0,
        n_payload_images=int(images.shape[0]),
        trained=trained,
    )


@torch.no_grad()
def plain_accuracy(net: SplitNet, test: Any, batch_size: int = 256) -> float:
    """Top-1 of the plain model (``net.base``: no SCA, every channel) on ``test``."""
    net.eval()
    correct = total = 0
    for x, y in torch.utils.data.DataLoader(test, batch_size=batch_size):
        correct += int((net.base(x).argmax(1) == y).sum())
        total += len(y)
    return correct / max(1, total)


def _main(argv: Sequence[str] | None = None) -> int:
    from dvfo_core.split import zoo
    from dvfo_core.split.accuracy import evaluate
    from dvfo_core.split.checkpoint import load_checkpoint
    from dvfo_core.split.data import load_dataset, sample_batch

    ap = argparse.ArgumentParser(prog="python -m dvfo_core.split.profile", description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, choices=zoo.model_names())
    ap.add_argument("--show", action="store_true", help="print the (shipped or --out) profile as Markdown")
    ap.add_argument(
        "--checkpoint", help="fine-tuned checkpoint (default: none -> random-init, accuracy null)"
    )
    ap.add_argument("--data", default="mnist", help="mnist, digits or an ImageFolder (default mnist)")
    ap.add_argument("--xis", default=",".join(f"{x:g}" for x in DEFAULT_PROFILE_XIS))
    ap.add_argument("--encoding", default=codec.DEFAULT_ENCODING, choices=codec.ENCODINGS)
    ap.add_argument("--images", type=int, default=32, help="real images for payload bytes (default 32)")
    ap.add_argument("--cost-size", type=int, default=224)
    ap.add_argument("--out", type=Path, help="output .json or .json.gz (default: the shipped file)")
    ap.add_argument(
        "--merge", action="store_true", help="keep the other split points already in the output file"
    )
    args = ap.parse_args(argv)
    if args.show:
        for prof in load_profile(args.model, args.out).values():
            print(markdown_table(prof))
        return 0
    torch.manual_seed(0)
    xis = [float(x) for x in args.xis.split(",")]
    t0 = time.perf_counter()
    report = None
    plain = None
    if args.checkpoint:
        net = load_checkpoint(args.checkpoint).net
        data = load_dataset(args.data, net.config.image_size)
        report = evaluate(net, data.test, args.data, xis, [args.encoding])
        plain = plain_accuracy(net, data.test)
        cost_net = net
        if zoo.MODELS[args.model].fixed_size and args.cost_size != net.config.image_size:
            raise ConfigError(f"{args.model} is fixed-size: cost size must be {net.config.image_size}")
    else:
        data = load_dataset(args.data, 32)  # images are re-sized from the originals below
        cfg = SplitConfig(
            args.model,
            zoo.MODELS[args.model].default_split,
            data.num_classes,
            args.cost_size,
            data.mean,
            data.std,
        )
        cost_net = SplitNet(cfg).eval()
    images = sample_batch(data.test, args.images, image_size=args.cost_size)
    prof = build_split_profile(
        cost_net, xis, images, args.cost_size, args.encoding, report, trained=report is not None
    )
    prof.plain_local_accuracy = plain
    target = args.out or profile_path(args.model)
    keep = []
    if args.merge and target.is_file():
        keep = [p for split, p in load_profile(args.model, target).items() if split != prof.split]
    out = save_profiles([*keep, prof], target)
    print(f"wrote {out} ({out.stat().st_size} bytes) in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
