"""``dvfo interfaces list|show TYPE``: the message definitions, as ``ros2 interface`` shows them."""

from __future__ import annotations

import argparse

from dvfo_core.errors import MessageDefinitionError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``interfaces`` sub-command."""
    p = sub.add_parser("interfaces", help="list dvfo_msgs types or show one definition")
    p.add_argument("action", choices=["list", "show"])
    p.add_argument("type", nargs="?", help="message type for show, e.g. dvfo_msgs/msg/FeatureMap")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the list or one definition (with its DDS type name)."""
    from dvfo_core.paths import msg_dir
    from dvfo_core.runtime.msgs import (
        DVFO_PACKAGE,
        dds_type_name,
        message_class,
        normalize_type_name,
        typestore,
    )

    if args.action == "list":
        store = typestore()  # parses every .msg file: a malformed one is reported here
        for name in sorted(n for n in store.fielddefs if n.startswith(f"{DVFO_PACKAGE}/")):
            print(name)
        return 0
    if not args.type:
        raise MessageDefinitionError("show needs a message type, e.g. dvfo_msgs/msg/FeatureMap")
    name = normalize_type_name(args.type)
    message_class(name)  # unknown types raise one clear line
    pkg, _, leaf = name.split("/")
    path = msg_dir() / f"{leaf}.msg"
    print(f"# {name}  (DDS type {dds_type_name(name)})")
    if pkg == DVFO_PACKAGE and path.is_file():
        print(path.read_text(encoding="utf-8").rstrip())
    else:
        print(typestore().generate_msgdef(name)[0].split("\n====")[0].rstrip())
    return 0
