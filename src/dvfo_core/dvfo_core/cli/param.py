"""``dvfo param get|set|list|describe NODE [NAME] [VALUE]``: a running node's parameters, as
``ros2 param`` does."""

from __future__ import annotations

import argparse

import yaml

from dvfo_core.cli._node import add_node_argument, node_path
from dvfo_core.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``param`` sub-command."""
    p = sub.add_parser("param", help="list, describe, get or set a running node's parameters")
    p.add_argument("action", choices=["get", "set", "list", "describe"])
    add_node_argument(p)
    p.add_argument("name", nargs="?", help="parameter name, e.g. eta (list: a prefix, e.g. qos)")
    p.add_argument("value", nargs="?", help="new value (YAML: 0.8, true, dvfo, [a, b])")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Call the node's service and print the answer."""
    from dvfo_core.runtime import selected_runtime

    if selected_runtime() == "rclpy":  # calls do not cross DDS vendors: the node's own RMW
        from dvfo_core.runtime.ros_clients import RosParameterClient as ParameterClient
    else:
        from dvfo_core.runtime.param_services import ParameterClient  # type: ignore[assignment]
    from dvfo_core.runtime.params import TYPE_NAMES

    namespace, node = node_path(args)
    client = ParameterClient(node, namespace, args.timeout)
    if args.action == "list":
        names, _prefixes = client.list_names([args.name] if args.name else [], 0)
        print("\n".join(f"  {n}" for n in names))
        return 0
    if args.name is None:
        raise ConfigError(f"{args.action} needs a parameter name")
    if args.action == "describe":
        described = client.describe([args.name])
        if not described:
            raise ConfigError(f"node {args.node} has no parameter {args.name!r}")
        d = described[0]
        print(f"Parameter name: {d.name}\n  Type: {TYPE_NAMES.get(d.type, d.type)}")
        print(f"  Description: {d.description}")
        if d.additional_constraints:
            print(f"  Constraints: {d.additional_constraints}")
        if d.read_only:
            print("  Read only: true")
        return 0
    if args.action == "get":
        value = client.get(args.name)
        if value is None:
            raise ConfigError(f"node {args.node} has no parameter {args.name!r}")
        print(value)
        return 0
    if args.value is None:
        raise ConfigError("set needs a value")
    ok, reason = client.set(args.name, yaml.safe_load(args.value))
    if not ok:
        raise ConfigError(f"setting parameter failed: {reason}")
    print("Set parameter successful")
    return 0
