"""``dvfo accuracy``: top-1 of full local vs fused split inference per xi and codec setting."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dvfo_core.errors import ConfigError
from dvfo_core.split.names import DEFAULT_ENCODINGS, DEFAULT_XIS, ENCODINGS, MODEL_NAMES


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``accuracy`` sub-command."""
    p = subparsers.add_parser(
        "accuracy",
        help="top-1 of full local vs fused split inference at each xi and codec",
        description="Evaluate a fine-tuned split checkpoint on the held-out test set: full local "
        "inference vs fused split inference (real codec round trip) at each xi and encoding.",
    )
    p.add_argument("--model", choices=MODEL_NAMES, help="use the shipped checkpoint of this model")
    p.add_argument("--checkpoint", type=Path, help="checkpoint file (instead of --model's shipped one)")
    p.add_argument(
        "--data", default="mnist", help="mnist, digits or an ImageFolder directory (default mnist)"
    )
    p.add_argument("--xi", type=_floats, default=list(DEFAULT_XIS), help="comma-separated xi levels")
    p.add_argument(
        "--encodings",
        default=",".join(DEFAULT_ENCODINGS),
        help=f"comma-separated, from {', '.join(ENCODINGS)}",
    )
    p.add_argument("--limit", type=int, help="evaluate on the first N test images only")
    p.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the table (and write JSON)."""
    import torch  # here, not at import: `dvfo --help` must not load torch

    from dvfo_core.split.accuracy import evaluate
    from dvfo_core.split.checkpoint import load_checkpoint, shipped_checkpoint
    from dvfo_core.split.data import load_dataset

    if args.checkpoint is None and args.model is None:
        raise ConfigError("give --model (shipped checkpoint) or --checkpoint")
    encodings = [e.strip() for e in args.encodings.split(",") if e.strip()]
    for e in encodings:
        if e not in ENCODINGS:
            raise ConfigError(f"unknown encoding {e!r}; known: {', '.join(ENCODINGS)}")
    torch.set_num_threads(max(1, args.threads))
    path = args.checkpoint or shipped_checkpoint(args.model)
    loaded = load_checkpoint(path)
    net = loaded.net
    if args.model and args.model != net.config.model:
        raise ConfigError(f"{path} holds {net.config.model}, not {args.model}")
    data = load_dataset(args.data, net.config.image_size)
    if data.num_classes != net.config.num_classes:
        raise ConfigError(
            f"{args.data} has {data.num_classes} classes, {path} predicts {net.config.num_classes}"
        )
    test = data.test
    if args.limit is not None:
        test = torch.utils.data.Subset(test, range(min(args.limit, len(test))))
    report = evaluate(net, test, data.name, args.xi, encodings)
    print(report.table())
    print(f"largest fused drop vs full local: {report.max_drop_pp():.2f} pp")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        blob = {"checkpoint": str(path), "weights_dtype": loaded.weights_dtype, **report.to_dict()}
        args.json.write_text(json.dumps(blob, indent=1))
        print(f"wrote {args.json}")
    return 0
