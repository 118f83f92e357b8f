"""What ``dvfo launch edge|cloud --link zenoh`` runs: the router, the tail workers, the head's link.

* cloud: a router listening on ``listen`` (mutual TLS, ACL from the certificate directory) and
  ``workers`` tail processes connected to it as clients; or, with ``connect``, no router and the
  workers connected to a router elsewhere (a worker-only host);
* edge: the usual edge nodes, the head with ``offload.link: zenoh``, its robot id, the router's
  endpoint and the robot's certificate files.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from dvfo_core.graph import NodeEntry
from dvfo_core.link.certs import Identity, check_identity, robot_identity, router_identity, worker_identity
from dvfo_core.link.zenoh_link import DEFAULT_ENDPOINT


@dataclass(frozen=True)
class ZenohPlan:
    """The Zenoh side of a launch."""

    certs: Path
    listen: str = DEFAULT_ENDPOINT  #: where the cloud's router listens
    connect: str | None = None  #: the router to use (edge; cloud: workers only, no local router)
    workers: int = 1
    robot_id: str = ""


def link_args(ident: Identity, endpoint: str) -> list[str]:
    """``-p`` overrides putting a node's offload path on Zenoh with ``ident``'s files.

    Values are written as YAML (JSON-quoted strings): rcl parses ``-p`` values as YAML, and an
    unquoted endpoint such as ``tls/127.0.0.1:7447`` in a flow list is not valid YAML to it.
    """
    check_identity(ident)
    quoted = json.dumps
    return [
        *("-p", "offload.link:=zenoh"),
        *("-p", f"offload.connect:=[{quoted(endpoint)}]"),
        *("-p", f"offload.ca_certificate:={quoted(str(ident.ca.resolve()))}"),
        *("-p", f"offload.certificate:={quoted(str(ident.cert.resolve()))}"),
        *("-p", f"offload.private_key:={quoted(str(ident.key.resolve()))}"),
    ]


def local_endpoint(listen: str) -> str:
    """The endpoint a process on the router's host connects to (a wildcard address -> 127.0.0.1)."""
    proto, _, address = listen.partition("/")
    host, _, port = address.rpartition(":")
    if host in ("0.0.0.0", "[::]", ""):
        host = "127.0.0.1"
    return f"{proto}/{host}:{port}"


def router_command(plan: ZenohPlan) -> list[str]:
    """The command line of the router process."""
    check_identity(router_identity(plan.certs))
    return [
        sys.executable,
        "-m",
        "dvfo_core.link.router",
        "--certs",
        str(plan.certs),
        "--listen",
        plan.listen,
    ]


def cloud_commands(plan: ZenohPlan, tail: NodeEntry, params: Path, extra: list[str]) -> dict[str, list[str]]:
    """The router (unless ``plan.connect``) and the workers, by process name."""
    from dvfo_core.launcher import node_command

    commands: dict[str, list[str]] = {}
    if plan.connect is None:
        commands["router"] = router_command(plan)
    endpoint = plan.connect or local_endpoint(plan.listen)
    args = link_args(worker_identity(plan.certs), endpoint)
    for i in range(1, plan.workers + 1):
        # one namespace per worker: each is the node "tail" with the same parameters
        commands[f"worker{i}"] = node_command(tail, params, [*extra, "-r", f"__ns:=/worker{i}", *args])
    return commands


def head_args(plan: ZenohPlan) -> list[str]:
    """The head's overrides: its robot id and its link to the router."""
    endpoint = plan.connect or local_endpoint(plan.listen)
    return [
        "-p",
        f"robot_id:={plan.robot_id}",
        *link_args(robot_identity(plan.certs, plan.robot_id), endpoint),
    ]
