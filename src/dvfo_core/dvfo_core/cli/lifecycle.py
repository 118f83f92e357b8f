"""``dvfo lifecycle get|set|list NODE [TRANSITION]``: a managed node's state, as ``ros2 lifecycle``."""

from __future__ import annotations

import argparse

from dvfo_core.cli._node import add_node_argument, node_path
from dvfo_core.errors import ConfigError
from dvfo_core.runtime.lifecycle import TRANSITION_LABELS


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``lifecycle`` sub-command."""
    p = sub.add_parser("lifecycle", help="get or change a running node's lifecycle state")
    p.add_argument("action", choices=["get", "set", "list"])
    add_node_argument(p)
    p.add_argument(
        "transition",
        nargs="?",
        choices=TRANSITION_LABELS,
        help="transition to trigger (set)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Call the node's lifecycle service and print the answer."""
    from dvfo_core.runtime import selected_runtime

    if selected_runtime() == "rclpy":  # calls do not cross DDS vendors: the node's own RMW
        from dvfo_core.runtime.ros_clients import RosLifecycleClient as LifecycleClient
    else:
        from dvfo_core.runtime.lifecycle_services import LifecycleClient  # type: ignore[assignment]

    namespace, node = node_path(args)
    client = LifecycleClient(node, namespace, args.timeout)
    if args.action == "get":
        print(client.get())
        return 0
    if args.action == "list":
        for label in client.available():
            print(label)
        return 0
    if args.transition is None:
        raise ConfigError("set needs a transition: " + ", ".join(TRANSITION_LABELS))
    available = client.available()
    if args.transition not in available:
        raise ConfigError(
            f"{args.transition!r} is not available from {client.get()!r} (available: {', '.join(available)})"
        )
    if not client.set(args.transition):
        raise ConfigError(f"transition {args.transition!r} failed (see the node's log)")
    print("Transitioning successful")
    return 0
