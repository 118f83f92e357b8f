"""The cloud's Zenoh router: mutual TLS and access control by key expression, built from the fleet's
certificate directory (:mod:`dvfo_core.link.certs`).

Only clients whose certificate the fleet CA signed get a session (``enable_mtls``): no certificate,
or one of another CA, and the TLS handshake fails. Then the router's access control, with
``default_permission: deny``, matches each client by its certificate's common name:

* robot ``R`` (CN ``R``) may publish only ``dvfo/R/feature_map/*`` and subscribe only
  ``dvfo/R/cloud_result`` (what it publishes or subscribes under another robot's id is dropped by
  the router), and may watch, not declare, the workers' liveliness tokens;
* the workers (CN ``worker@dvfo``) may subscribe every robot's frames, answer any robot and declare
  their liveliness tokens.

The ACL lists the robots whose certificates are in the directory when the router starts (Zenoh
reads its ACL once): after ``dvfo certs issue``, restart the router to admit the new robot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dvfo_core.link.certs import WORKER_CN, check_identity, fleet_robots, router_identity
from dvfo_core.link.zenoh_link import (
    WORKERS,
    base_config,
    cloud_result_key,
    feature_map_key,
    open_session,
    tls_section,
)

_BOTH = ["ingress", "egress"]


def _rule(rule_id: str, messages: list[str], keys: list[str], flows: list[str] = _BOTH) -> dict[str, Any]:
    return {"id": rule_id, "permission": "allow", "flows": flows, "messages": messages, "key_exprs": keys}


def access_control(robots: list[str]) -> dict[str, Any]:
    """The router's ``access_control`` section for ``robots`` and the workers."""
    rules = [
        _rule(
            "watch-workers",
            ["declare_liveliness_subscriber", "liveliness_query"],
            [f"{WORKERS}/*"],
            ["ingress"],
        ),
        _rule("see-workers", ["liveliness_token", "reply"], [f"{WORKERS}/*"], ["egress"]),
        _rule(
            "worker",
            [
                "put",
                "declare_subscriber",
                "liveliness_token",
                "declare_liveliness_subscriber",
                "liveliness_query",
            ],
            ["dvfo/**"],
        ),
    ]
    subjects = [{"id": "workers", "cert_common_names": [WORKER_CN]}]
    policies = [{"id": "workers", "rules": ["worker"], "subjects": ["workers"]}]
    for robot in robots:
        rules.append(_rule(f"robot:{robot}", ["put"], [feature_map_key(robot)]))
        rules.append(_rule(f"results:{robot}", ["put", "declare_subscriber"], [cloud_result_key(robot)]))
        subjects.append({"id": f"robot:{robot}", "cert_common_names": [robot]})
        policies.append(
            {
                "id": f"robot:{robot}",
                "rules": [f"robot:{robot}", f"results:{robot}", "watch-workers", "see-workers"],
                "subjects": [f"robot:{robot}"],
            }
        )
    return {
        "enabled": True,
        "default_permission": "deny",
        "rules": rules,
        "subjects": subjects,
        "policies": policies,
    }


def router_config(certs: Path, listen: list[str], robots: list[str] | None = None) -> dict[str, Any]:
    """The router's configuration: listen on ``listen`` with the fleet's router certificate, require
    client certificates of the fleet CA, ACL for ``robots`` (default: those with a certificate in
    ``certs``)."""
    ident = check_identity(router_identity(certs))
    conf = base_config("router")
    conf["listen"] = {"endpoints": list(listen)}
    conf["transport"]["link"]["tls"] = tls_section(ident, "listen")
    conf["access_control"] = access_control(fleet_robots(certs) if robots is None else robots)
    return conf


def open_router(certs: Path, listen: list[str], robots: list[str] | None = None) -> Any:
    """Start a router in this process (a Zenoh session in router mode); close it to stop."""
    return open_session(router_config(certs, listen, robots))


def serve(certs: Path, listen: list[str], duration_s: float | None = None) -> int:
    """Run the router until SIGINT, SIGTERM, the launcher's death or ``duration_s``."""
    import signal
    import threading

    from dvfo_core.runtime.node_main import watch_launcher

    robots = fleet_robots(certs)
    router = open_router(certs, listen, robots)
    print(
        f"router: listening on {', '.join(listen)}; robots admitted: {', '.join(robots) or 'none'}",
        flush=True,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    watch_launcher()
    stop.wait(duration_s)
    router.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m dvfo_core.link.router --certs D [--listen EP ...]``: the cloud's Zenoh router."""
    import argparse
    import sys

    from dvfo_core.errors import DvfoError
    from dvfo_core.link.zenoh_link import DEFAULT_ENDPOINT

    parser = argparse.ArgumentParser(prog="dvfo-router", description=main.__doc__)
    parser.add_argument("--certs", type=Path, required=True, help="the fleet's certificate directory")
    parser.add_argument(
        "--listen", action="append", help=f"endpoint (repeatable; default {DEFAULT_ENDPOINT})"
    )
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    args = parser.parse_args(argv)
    try:
        return serve(args.certs, args.listen or [DEFAULT_ENDPOINT], args.duration)
    except DvfoError as exc:
        print(f"router: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
