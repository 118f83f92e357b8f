"""``dvfo demo [--seconds S] [--methods M ...] [--out DIR]``: the whole graph, DVFO vs jetson_clocks."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` sub-command."""
    p = sub.add_parser(
        "demo", help="run camera, head, governor and tail over DDS on a simulated Jetson; compare methods"
    )
    p.add_argument("--seconds", type=float, default=20.0, help="measured seconds per method (default 20)")
    p.add_argument(
        "--methods",
        nargs="+",
        default=["dvfo", "edge_only_max", "edge_only_default"],
        choices=["dvfo", "dvfs_only_drl", "edge_only_max", "edge_only_default"],
    )
    p.add_argument("--out", type=Path, default=Path("artifacts/demo"), help="where demo.json and demo.png go")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo."""
    from dvfo_core.demo import run_demo

    return run_demo(args.seconds, args.methods, args.out)
