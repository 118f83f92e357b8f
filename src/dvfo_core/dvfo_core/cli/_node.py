"""Arguments shared by the sub-commands that talk to one running node (``param``, ``lifecycle``)."""

from __future__ import annotations

import argparse


def add_node_argument(p: argparse.ArgumentParser) -> None:
    """``NODE`` (``governor`` or ``/robot1/governor``) and ``--timeout``."""
    p.add_argument("node", help="node name, e.g. governor or /robot1/governor")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the node")


def node_path(args: argparse.Namespace) -> tuple[str, str]:
    """``(namespace, node)`` of the ``NODE`` argument."""
    from dvfo_core.runtime.services import split_node_path

    return split_node_path(args.node)
