"""A node container: every node of a graph group in one process, as a ROS 2 component container.

``python -m dvfo_core.container edge --ros-args --params-file edge.yaml [-p name:=value]`` builds
the nodes of ``config/graph.yaml``'s group (each module's ``LOGIC``), as managed nodes on one
executor with intra-process delivery between them: a camera image reaches the head as the object
itself, without serialisation or a DDS hop, while subscribers in other processes (the tail, a
recorder, ``ros2 topic echo``) still get everything over DDS. ``-p`` applies to every node.
Runs on the DDS adapter (``dvfo launch --container``); under ROS 2 each node is its own process.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from dvfo_core.errors import DvfoError
from dvfo_core.graph import load_graph
from dvfo_core.runtime.dds import DdsNode
from dvfo_core.runtime.lifecycle import FINALIZED
from dvfo_core.runtime.node_main import bring_up, parse_ros_args, setup_logging, spin_then_shut_down


def run_container(group: str, argv: Sequence[str] = (), duration_s: float | None = None) -> int:
    """Bring up every node of ``group`` in this process and spin them; returns an exit code."""
    setup_logging()
    nodes: list[DdsNode] = []
    try:
        entries = load_graph(group)
        args = parse_ros_args(group, argv)
        for entry in entries:
            logic = importlib.import_module(entry.module).LOGIC
            node = DdsNode(
                entry.name,
                args.namespace,
                params_file=args.params_file or entry.params,
                overrides=args.overrides,
                intra_process=True,
            )
            nodes.append(node)
            if not bring_up(node, logic):
                raise DvfoError(f"node {entry.name} did not come up")
    except DvfoError as exc:
        print(f"{group} container: error: {exc}", file=sys.stderr)
        for node in nodes:
            if node.lifecycle is not None and node.lifecycle_state != FINALIZED:
                node.change_state("shutdown")
            node.destroy()
        return 2
    spin_then_shut_down(nodes, duration_s)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m dvfo_core.container GROUP [--ros-args ...]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-"):
        print("usage: python -m dvfo_core.container edge|cloud|all [--ros-args ...]", file=sys.stderr)
        return 2
    return run_container(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main())
