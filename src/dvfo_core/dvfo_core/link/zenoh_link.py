"""The offload path over Zenoh: robots and tail workers are clients of one router, over mutual TLS.

Key expressions (``<robot>`` is the robot id = the CN of its certificate; ``<worker>`` a worker's
Zenoh session id):

==================================  =========================================================
``dvfo/<robot>/feature_map/<worker>``  one frame's FeatureMap, from the robot to the worker it chose
``dvfo/<robot>/cloud_result``          the worker's CloudResult for that robot
``dvfo/workers/<worker>``              a liveliness token per live worker
==================================  =========================================================

Each frame goes to exactly one worker: the robot picks, round robin, among the workers whose
liveliness tokens it sees (a worker declares its token only once its subscriber is in place, and the
token vanishes when the worker's session ends or its connection breaks). So a frame is computed
once, workers added anywhere raise the pool's throughput, and a frame sent to a worker that dies
is answered by the robot's time-out fallback; the head drops any answer for a frame it no longer
waits for, so the fusion never sees two answers for one frame.

Payloads are the CDR bytes of the ROS 2 messages (the same serialiser as the DDS wire,
:meth:`dvfo_core.runtime.port.Node.to_cdr`); the link itself only moves bytes. All receiving is by
polling (:meth:`RobotLink.results`, :meth:`WorkerLink.requests`) from the node's own executor:
no callback of node logic ever runs on a Zenoh thread.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dvfo_core.errors import ConfigError
from dvfo_core.link.certs import Identity, check_identity, check_robot_id

DEFAULT_ENDPOINT = "tls/127.0.0.1:7447"
WORKERS = "dvfo/workers"


def feature_map_key(robot_id: str, worker: str = "*") -> str:
    """Where ``robot_id`` sends a frame to ``worker`` (``*``: any worker, what workers subscribe)."""
    return f"dvfo/{robot_id}/feature_map/{worker}"


def cloud_result_key(robot_id: str) -> str:
    """Where the answers to ``robot_id`` go."""
    return f"dvfo/{robot_id}/cloud_result"


def base_config(mode: str) -> dict[str, Any]:
    """A session configuration of ``mode`` (client, router) that talks only to configured endpoints."""
    # no multicast or gossip scouting: every session talks to the endpoints it is given, nothing else
    return {
        "mode": mode,
        "scouting": {"multicast": {"enabled": False}, "gossip": {"enabled": False}},
        "transport": {
            # frames up to a few MB arrive whole: a large receive buffer, as for Cyclone (DESIGN.md §3)
            "link": {"rx": {"buffer_size": 4 * 1024 * 1024}},
            # Zenoh hands messages over 3 KB to processes of the same host through shared memory,
            # and only a reference crosses the link: robot and cloud never share a host, and on one
            # host (tests, benches, the fault lab) frames must cross the network they measure
            "shared_memory": {"enabled": False},
        },
    }


def client_config(endpoints: Sequence[str], ident: Identity) -> dict[str, Any]:
    """A client session connecting to ``endpoints`` with certificate ``ident`` (mutual TLS): opening
    it fails when no router accepts this certificate (see :class:`Connector` for nodes)."""
    if not endpoints:
        raise ConfigError("no Zenoh endpoint to connect to (e.g. tls/127.0.0.1:7447)")
    check_identity(ident)
    conf = base_config("client")
    conf["connect"] = {"endpoints": list(endpoints)}
    conf["transport"]["link"]["tls"] = tls_section(ident, "connect")
    return conf


def tls_section(ident: Identity, side: str) -> dict[str, Any]:
    """``transport/link/tls`` for the ``listen`` (router) or ``connect`` (client) side: this
    side's certificate and key, the fleet CA that the other side's certificate must chain to, and
    mutual TLS (each side shows a certificate)."""
    return {
        "root_ca_certificate": str(ident.ca),
        f"{side}_certificate": str(ident.cert),
        f"{side}_private_key": str(ident.key),
        "enable_mtls": True,
    }


def open_session(conf: dict[str, Any]) -> Any:
    """Open a Zenoh session from a configuration dict; a refused or unreachable router raises
    :class:`~dvfo_core.errors.ConfigError` naming the endpoints."""
    import zenoh

    zenoh.init_log_from_env_or("error")
    try:
        return zenoh.open(zenoh.Config.from_json5(json.dumps(conf)))
    except zenoh.ZError as exc:
        where = conf.get("connect", conf.get("listen", {})).get("endpoints")
        raise ConfigError(f"Zenoh session ({conf['mode']}) on {where} failed: {exc}") from None


def connected(session: Any) -> bool:
    """Whether a client session has a router now."""
    return bool(list(session.info.routers_zid()))


def _block() -> Any:
    """Reliable delivery: a full queue waits instead of dropping the frame (Zenoh's put drops)."""
    import zenoh

    return zenoh.CongestionControl.BLOCK


def _payload(sample: Any) -> bytes:
    return sample.payload.to_bytes()


class RobotLink:
    """A robot's end: send frames to live workers, take the answers addressed to this robot."""

    def __init__(self, session: Any, robot_id: str) -> None:
        self.session = session
        self.robot_id = check_robot_id(robot_id)
        self._results = session.declare_subscriber(cloud_result_key(robot_id))
        self._tokens = session.liveliness().declare_subscriber(f"{WORKERS}/*", history=True)
        self._workers: list[str] = []
        self._next = 0
        self.sent = 0

    def workers(self) -> list[str]:
        """The live workers (session ids), as their liveliness tokens say now."""
        import zenoh

        while (sample := self._tokens.try_recv()) is not None:
            worker = str(sample.key_expr).rsplit("/", 1)[-1]
            if sample.kind == zenoh.SampleKind.PUT and worker not in self._workers:
                self._workers.append(worker)
            elif sample.kind == zenoh.SampleKind.DELETE and worker in self._workers:
                self._workers.remove(worker)
        return list(self._workers)

    def send(self, payload: bytes) -> str | None:
        """Send one frame to the next live worker (round robin); returns it, or None when none."""
        workers = self.workers()
        if not workers:
            return None
        worker = workers[self._next % len(workers)]
        self._next += 1
        self.session.put(feature_map_key(self.robot_id, worker), payload, congestion_control=_block())
        self.sent += 1
        return worker

    def results(self) -> Iterator[bytes]:
        """The answers received since the last call."""
        while (sample := self._results.try_recv()) is not None:
            yield _payload(sample)

    def close(self) -> None:
        """Close the session."""
        self.session.close()


@dataclass(frozen=True)
class Request:
    """One frame a worker received: the robot id its key expression (hence its certificate) carries."""

    robot_id: str
    payload: bytes


class WorkerLink:
    """A tail worker's end: frames sent to this worker by any robot in, answers out."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.worker_id = str(session.zid())
        self._frames = session.declare_subscriber(feature_map_key("*", self.worker_id))
        # announced only now that frames sent to it have somewhere to go
        self._token = session.liveliness().declare_token(f"{WORKERS}/{self.worker_id}")

    def requests(self) -> Iterator[Request]:
        """The frames received since the last call."""
        while (sample := self._frames.try_recv()) is not None:
            robot_id = str(sample.key_expr).split("/")[1]
            yield Request(robot_id, _payload(sample))

    def reply(self, robot_id: str, payload: bytes) -> None:
        """Send an answer to ``robot_id``."""
        self.session.put(cloud_result_key(robot_id), payload, congestion_control=_block())

    def close(self) -> None:
        """Withdraw from the pool and close the session."""
        self._token.undeclare()
        self.session.close()


#: Seconds between two attempts to reach the router.
RETRY_S = 2.0


class Connector:
    """Opens a client session in a background thread, retrying every :data:`RETRY_S` until a router
    accepts it, then builds the link on it (``make(session)``): a robot started before the cloud,
    out of coverage, or refused, keeps running edge-only meanwhile, and its executor never waits
    on the network. :attr:`error` says why the last attempt failed."""

    def __init__(self, conf: dict[str, Any], make: Callable[[Any], Any]) -> None:
        self.link: Any = None
        self.error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(conf, make), name="dvfo-zenoh-connect", daemon=True
        )
        self._thread.start()

    def _run(self, conf: dict[str, Any], make: Callable[[Any], Any]) -> None:
        while not self._stop.is_set():
            try:
                session = open_session(conf)
            except ConfigError as exc:
                self.error = str(exc)
                self._stop.wait(RETRY_S)
                continue
            if self._stop.is_set():
                session.close()
            else:
                self.link, self.error = make(session), ""
            return

    def close(self) -> None:
        """Stop trying; close the link if there is one."""
        self._stop.set()
        self._thread.join(timeout=5.0)
        if self.link is not None:
            self.link.close()
            self.link = None
