"""``dvfo finetune``: fine-tune a zoo model's head + SCA + tail + fusion for split inference."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from dvfo_core.errors import ConfigError
from dvfo_core.split.names import MODEL_NAMES, WEIGHT_DTYPES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``finetune`` sub-command."""
    p = subparsers.add_parser(
        "finetune",
        help="fine-tune a split model (head + SCA + tail + fusion) on real images",
        description="Fine-tune head + SCA + tail + fusion so fused accuracy holds at every xi "
        "(random xi and SCA masks in training). Writes a checkpoint with its config.",
    )
    p.add_argument("--model", required=True, choices=MODEL_NAMES)
    p.add_argument("--split", help="split point (default: the model's default split)")
    p.add_argument(
        "--data", default="mnist", help="mnist, digits, or an ImageFolder directory (default mnist)"
    )
    p.add_argument("--image-size", type=int, default=32, help="square input size in px (default 32)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--shift", type=int, default=2, help="random-shift augmentation in px (default 2, 0: off)")
    p.add_argument("--limit", type=int, help="train on this many images only (quick runs)")
    p.add_argument(
        "--weights", type=Path, help="torchvision state_dict file to start from (e.g. resnet18-*.pth)"
    )
    p.add_argument("--weights-dtype", choices=WEIGHT_DTYPES, default="fp32", help="how weights are stored")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="checkpoint file to write")
    p.add_argument("--no-eval", action="store_true", help="skip the held-out accuracy check")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train, evaluate on the held-out split, save."""
    import torch  # here, not at import: `dvfo --help` must not load torch

    from dvfo_core.split import zoo
    from dvfo_core.split.accuracy import evaluate
    from dvfo_core.split.checkpoint import load_torchvision_weights, round_weights, save_checkpoint
    from dvfo_core.split.data import load_dataset
    from dvfo_core.split.net import SplitConfig, SplitNet
    from dvfo_core.split.train import TrainConfig, finetune

    if args.epochs < 1:
        raise ConfigError(f"--epochs must be >= 1, got {args.epochs}")
    torch.set_num_threads(max(1, args.threads))
    torch.manual_seed(args.seed)
    data = load_dataset(args.data, args.image_size, seed=args.seed)
    split = args.split or zoo.MODELS[args.model].default_split
    base = zoo.build(args.model, data.num_classes, args.image_size)
    if args.weights is not None:
        rep = load_torchvision_weights(base, args.weights)
        skipped = ", ".join(rep.skipped) or "none"
        print(f"loaded {rep.loaded} tensors from {args.weights}; re-initialised: {skipped}")
    config = SplitConfig(args.model, split, data.num_classes, args.image_size, data.mean, data.std)
    net = SplitNet(config, base)
    cfg = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        limit=args.limit,
        shift=args.shift,
    )
    t0 = time.perf_counter()
    result = finetune(net, data, cfg)
    metrics: dict = {
        "data": data.name,
        "train_images": result.images,
        "epochs": args.epochs,
        "train_seconds": round(result.seconds, 1),
        "threads": args.threads,
        "losses": [round(v, 4) for v in result.losses],
    }
    round_weights(net, args.weights_dtype)  # evaluate exactly the weights the checkpoint stores
    if not args.no_eval:
        report = evaluate(net, data.test, data.name, encodings=["int8+zstd"])
        metrics["test_n"] = report.n
        metrics["full_local_top1"] = report.full_local_top1
        metrics["fused_top1"] = {f"{r.xi:g}": r.fused_top1 for r in report.rows}
        print(report.table())
    path = save_checkpoint(args.out, net, metrics, args.weights_dtype)
    metrics["wall_seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(metrics))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
