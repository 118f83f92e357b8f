"""``dvfo certs init|issue``: the fleet CA, the router's and workers' certificates, robot certificates."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``certs`` sub-command."""
    p = sub.add_parser("certs", help="make the fleet CA and the certificates of the Zenoh link (mTLS)")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    init = actions.add_parser("init", help="fleet CA + router certificate + tail workers' certificate")
    init.add_argument("--dir", type=Path, required=True, help="directory of the PEM files (must exist)")
    init.add_argument(
        "--dns", action="append", help="a DNS name of the router (repeatable; default: localhost)"
    )
    init.add_argument(
        "--ip", action="append", help="an IP address of the router (repeatable; default: 127.0.0.1)"
    )
    init.add_argument("--force", action="store_true", help="replace an existing CA")
    init.set_defaults(func=run_init)
    issue = actions.add_parser("issue", help="a robot's certificate and key (CN = robot id)")
    issue.add_argument("--dir", type=Path, required=True, help="directory holding the fleet CA")
    issue.add_argument("robot_id", help="the robot's id (its head's robot_id parameter)")
    issue.set_defaults(func=run_issue)


def run_init(args: argparse.Namespace) -> int:
    """Write the CA, router and worker files and list them."""
    from dvfo_core.link.certs import init_fleet

    files = init_fleet(
        args.dir, tuple(args.dns or ["localhost"]), tuple(args.ip or ["127.0.0.1"]), force=args.force
    )
    for path in files:
        print(path)
    return 0


def run_issue(args: argparse.Namespace) -> int:
    """Write one robot's certificate and key and list them."""
    from dvfo_core.link.certs import issue_robot

    ident = issue_robot(args.dir, args.robot_id)
    print(ident.cert)
    print(ident.key)
    return 0
