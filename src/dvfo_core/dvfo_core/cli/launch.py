"""``dvfo launch edge|cloud|all [--params F]``: the node graph as processes over the DDS adapter."""

from __future__ import annotations

import argparse
from pathlib import Path

from dvfo_core.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``launch`` sub-command."""
    p = sub.add_parser("launch", help="run the edge, cloud or whole node graph over DDS (no ROS 2 needed)")
    p.add_argument("group", choices=["edge", "cloud", "all"])
    p.add_argument(
        "--params", type=Path, help="ROS 2 parameter YAML for every node (default: config/<group>.yaml)"
    )
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument(
        "--no-autostart",
        dest="autostart",
        action="store_false",
        help="leave the nodes unconfigured (managed: `dvfo lifecycle set NODE configure`, then activate)",
    )
    p.add_argument(
        "--container",
        action="store_true",
        help="each group's nodes in one process with intra-process delivery (no camera->head DDS hop)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Launch and wait."""
    from dvfo_core.launcher import launch

    if args.params is not None and not args.params.is_file():
        raise ConfigError(f"parameter file {args.params} does not exist")
    return launch(args.group, args.params, args.duration, args.autostart, args.container)
