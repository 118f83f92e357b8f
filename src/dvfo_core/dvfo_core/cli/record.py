"""``dvfo record --out BAG [--duration S] [--topics T ...] [--storage mcap|sqlite3]``."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``record`` sub-command."""
    from dvfo_core.recorder import DEFAULT_TOPICS, OPTIONAL_TOPICS

    p = sub.add_parser("record", help="record the DVFO topics to a rosbag2 bag (MCAP) over DDS")
    p.add_argument("--out", type=Path, required=True, help="bag directory to create")
    p.add_argument("--duration", type=float, help="seconds to record (default: until Ctrl-C)")
    p.add_argument(
        "--topics",
        nargs="+",
        metavar="TOPIC",
        help=f"topics (default: {' '.join(DEFAULT_TOPICS)}; also {' '.join(OPTIONAL_TOPICS)})",
    )
    p.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Record and report."""
    from dvfo_core.recorder import print_progress, record, resolve_topics

    topics = resolve_topics(args.topics)
    count = record(args.out, args.duration, topics, args.storage, print_progress)
    if count == 0:
        # an empty bag is no recording: say why it may be empty, leave no bag, fail
        shutil.rmtree(args.out, ignore_errors=True)
        domain = os.environ.get("ROS_DOMAIN_ID", "0")
        sys.stderr.write(
            f"\rdvfo record: warning: nothing was published on {', '.join(topics)}; no bag written. "
            f"Is the graph running (dvfo launch all) on this ROS_DOMAIN_ID ({domain})?\n"
        )
        return 1
    sys.stderr.write(f"\rdvfo record: {count} messages written to {args.out}\n")
    return 0
