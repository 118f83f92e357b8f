"""The ``main()`` of every node executable, on either runtime.

Command line, as ``ros2 run`` / ``ros2 launch`` pass it (the DDS launcher passes the same)::

    head_node --ros-args -r __node:=head -r __ns:=/robot1 --params-file edge.yaml -p eta:=0.3

Under rclpy the arguments go to ``rclpy.init`` unchanged; on the DDS adapter they are parsed here.
SIGTERM and Ctrl-C end the spin; the node logic's ``close()`` then runs (restore clocks, flush).
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml

from dvfo_core.errors import ConfigError, DvfoError
from dvfo_core.runtime import make_node, selected_runtime, spin
from dvfo_core.runtime.port import Node


class NodeLogic(Protocol):
    """What a node executable builds on a :class:`Node`."""

    def close(self) -> None:
        """Release resources and restore what was changed."""


@dataclass
class NodeArgs:
    """The ROS arguments a node was started with."""

    name: str
    namespace: str = ""
    params_file: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)


def parse_ros_args(default_name: str, argv: Sequence[str]) -> NodeArgs:
    """Parse ``--ros-args`` remaps, ``--params-file`` and ``-p name:=value`` from ``argv``."""
    args = NodeArgs(default_name)
    items = list(argv)
    i = 0
    while i < len(items):
        item = items[i]
        nxt = items[i + 1] if i + 1 < len(items) else None
        if item in ("--params-file", "-p", "-r", "--remap", "--param") and nxt is None:
            raise ConfigError(f"{item} needs a value")
        if item == "--params-file":
            args.params_file = nxt
            i += 2
        elif item in ("-p", "--param"):
            key, sep, value = str(nxt).partition(":=")
            if not sep:
                raise ConfigError(f"-p expects name:=value, got {nxt!r}")
            args.overrides[key] = yaml.safe_load(value)
            i += 2
        elif item in ("-r", "--remap"):
            key, sep, value = str(nxt).partition(":=")
            if key == "__node":
                args.name = value
            elif key == "__ns":
                args.namespace = value if value != "/" else ""
            i += 2
        else:
            i += 1  # --ros-args, --log-level and friends: accepted, not used here
    return args


def run_node(
    default_name: str,
    build: Callable[[Node], NodeLogic],
    argv: Sequence[str] | None = None,
    duration_s: float | None = None,
) -> int:
    """Create the node, build its logic, spin until shutdown, then close. Returns an exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO,
        format="[%(levelname)s] [%(created).3f] [%(name)s]: %(message)s",
        stream=sys.stderr,
    )
    try:
        if selected_runtime() == "rclpy":
            node = make_node(default_name, args=argv)
        else:
            parsed = parse_ros_args(default_name, argv)
            node = make_node(parsed.name, parsed.namespace, parsed.params_file, parsed.overrides)
        logic = build(node)
    except DvfoError as exc:
        print(f"{default_name}: error: {exc}", file=sys.stderr)
        return 2

    def _terminate(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        spin([node], duration_s)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        try:
            logic.close()
        finally:
            node.destroy()
    return 0
