"""``dvfo launch edge|cloud|all [--params F] [--link zenoh --certs D ...]``: the node graph as
processes over the DDS adapter; with ``--link zenoh`` the offload path goes through a Zenoh router
over mutual TLS (the cloud: router + a pool of tail workers; the edge: the robot's link to it)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from dvfo_core.errors import ConfigError

if TYPE_CHECKING:
    from dvfo_core.link.plan import ZenohPlan


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
    z = p.add_argument_group("Zenoh link (docs/link.md, docs/deploy.md)")
    z.add_argument("--link", choices=["dds", "zenoh"], default="dds", help="middleware of the offload path")
    z.add_argument("--certs", type=Path, help="the fleet's certificate directory (dvfo certs init)")
    z.add_argument("--workers", type=int, default=1, help="cloud: tail worker processes on this host")
    z.add_argument("--listen", default=None, help="cloud: the router's endpoint (default tls/127.0.0.1:7447)")
    z.add_argument(
        "--connect", help="edge: the router to connect to; cloud: start workers only, for that router"
    )
    z.add_argument("--robot-id", help="edge: this robot's id (its certificate's name)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Launch and wait."""
    from dvfo_core.launcher import launch

    if args.params is not None and not args.params.is_file():
        raise ConfigError(f"parameter file {args.params} does not exist")
    return launch(args.group, args.params, args.duration, args.autostart, args.container, zenoh_plan(args))


def zenoh_plan(args: argparse.Namespace) -> ZenohPlan | None:
    """The Zenoh side of the launch, checked (None on DDS)."""
    from dvfo_core.link.plan import ZenohPlan
    from dvfo_core.link.zenoh_link import DEFAULT_ENDPOINT

    zenoh_only = [
        f"--{n}" for n in ("certs", "listen", "connect", "robot-id") if getattr(args, n.replace("-", "_"))
    ]
    if args.link == "dds":
        if zenoh_only:
            raise ConfigError(f"{', '.join(zenoh_only)} only apply with --link zenoh")
        return None
    if args.certs is None or not args.certs.is_dir():
        raise ConfigError("--link zenoh needs --certs DIR, a directory made by `dvfo certs init`")
    if args.workers < 0:
        raise ConfigError("--workers must be 0 or more")
    if args.group in ("edge", "all") and not args.robot_id:
        raise ConfigError("--link zenoh on the edge needs --robot-id (the name of its certificate)")
    return ZenohPlan(
        args.certs, args.listen or DEFAULT_ENDPOINT, args.connect, args.workers, args.robot_id or ""
    )
