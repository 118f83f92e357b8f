"""The offload path of the head and the tail, on DDS or on Zenoh: the node parameter ``offload.link``.

The nodes see one small interface per side. On DDS it is the ``/dvfo/feature_map`` publisher and
the ``/dvfo/cloud_result`` subscription (as before); on Zenoh it is a client session to the cloud's
router over mutual TLS (:mod:`dvfo_core.link.zenoh_link`), carrying the same CDR bytes. Zenoh
samples are taken by :meth:`poll`, called from a node timer, so every callback runs on the node's
executor. The parameter ``link`` of the head is its bandwidth trace; the middleware is
``offload.link``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from dvfo_core.errors import DvfoError
from dvfo_core.link.certs import Identity
from dvfo_core.link.zenoh_link import DEFAULT_ENDPOINT, Connector, client_config  # zenoh: only when used
from dvfo_core.runtime.params import ParamSpec
from dvfo_core.runtime.port import Node

FEATURE_MAP = "dvfo_msgs/msg/FeatureMap"
CLOUD_RESULT = "dvfo_msgs/msg/CloudResult"


def offload_params(links: list[str]) -> list[ParamSpec]:
    """The ``offload.*`` parameters (``links``: the values ``offload.link`` accepts)."""
    return [
        ParamSpec(
            "offload.link", "dds", "middleware of /dvfo/feature_map and /dvfo/cloud_result", choices=links
        ),
        ParamSpec("offload.connect", [DEFAULT_ENDPOINT], "Zenoh router endpoints (offload.link zenoh)"),
        ParamSpec("offload.ca_certificate", "", "PEM of the fleet CA that signed the router's certificate"),
        ParamSpec("offload.certificate", "", "PEM certificate of this robot or worker (mutual TLS)"),
        ParamSpec("offload.private_key", "", "PEM private key of offload.certificate"),
    ]


def _identity(p: dict[str, Any]) -> Identity:
    return Identity(
        Path(p["offload.ca_certificate"]), Path(p["offload.certificate"]), Path(p["offload.private_key"])
    )


def _connect(p: dict[str, Any], make: Callable[[Any], Any]) -> Connector:
    return Connector(client_config(p["offload.connect"], _identity(p)), make)


class EdgeOffload(Protocol):
    """The head's end of the offload path."""

    def send(self, msg: Any) -> None:
        """Send one FeatureMap."""

    def up(self) -> bool:
        """Whether a tail is there to answer."""

    def poll(self) -> None:
        """Hand the CloudResults received since the last call to the callback."""

    def describe(self) -> str:
        """The link's state in a few words, for ``/diagnostics``."""

    def close(self) -> None:
        """Release the link."""


class DdsEdge:
    """The head's offload path over DDS (the ROS 2 graph)."""

    def __init__(self, node: Node, p: dict[str, Any], on_result: Callable[[Any], None]) -> None:
        self.node = node
        self.pub = node.publisher(FEATURE_MAP, "/dvfo/feature_map", p["qos.feature_map"])
        self.sub = node.subscribe(CLOUD_RESULT, "/dvfo/cloud_result", on_result, p["qos.cloud_result"])

    def send(self, msg: Any) -> None:
        self.pub.publish(msg)

    def up(self) -> bool:
        # both legs matched and settled (dvfo_core.runtime.matching): a frame offloaded while
        # discovery is one-sided would be lost on one leg and fall back
        return self.node.subscriber_count(self.pub) > 0 and self.node.publisher_count(self.sub) > 0

    def poll(self) -> None:
        pass

    def describe(self) -> str:
        return f"dds: {self.node.subscriber_count(self.pub)} tail(s) matched"

    def close(self) -> None:
        pass


class ZenohEdge:
    """The head's offload path over Zenoh: this robot's frames to the pool's workers."""

    def __init__(self, node: Node, p: dict[str, Any], on_result: Callable[[Any], None]) -> None:
        from dvfo_core.link.zenoh_link import RobotLink

        self.node = node
        self.on_result = on_result
        self.robot_id = p["robot_id"]
        self.connector = _connect(p, lambda session: RobotLink(session, self.robot_id))
        self.malformed = 0

    def send(self, msg: Any) -> None:
        if self.connector.link is not None:
            self.connector.link.send(self.node.to_cdr(msg))

    def up(self) -> bool:
        return self.connector.link is not None and bool(self.connector.link.workers())

    def poll(self) -> None:
        if self.connector.link is None:
            return
        for data in self.connector.link.results():
            try:
                msg = self.node.from_cdr(CLOUD_RESULT, data)
            except DvfoError as exc:
                self.malformed += 1
                self.node.logger.warning(f"offload: dropping an unreadable CloudResult: {exc}")
                continue
            self.on_result(msg)

    def describe(self) -> str:
        link = self.connector.link
        if link is None:  # not connected yet: why the last attempt failed (refused, unreachable)
            return f"zenoh: connecting ({self.connector.error or 'first attempt'})"
        return f"zenoh: connected, {len(link.workers())} worker(s), {link.sent} frame(s) sent"

    def close(self) -> None:
        self.connector.close()


def edge_offload(node: Node, p: dict[str, Any], on_result: Callable[[Any], None]) -> EdgeOffload:
    """The head's offload path that ``offload.link`` selects."""
    return ZenohEdge(node, p, on_result) if p["offload.link"] == "zenoh" else DdsEdge(node, p, on_result)


#: ``on_frame(robot_id, nbytes, msg_or_bytes, origin)``: what a cloud link hands the tail.
FrameCallback = Callable[[str, int, Any, Any], None]


class DdsCloud:
    """The tail's offload path over DDS: every FeatureMap on the domain."""

    name = "dds"

    def __init__(self, node: Node, p: dict[str, Any], on_frame: FrameCallback) -> None:
        self.pub = node.publisher(CLOUD_RESULT, "/dvfo/cloud_result", p["qos.cloud_result"])
        node.subscribe(
            FEATURE_MAP,
            "/dvfo/feature_map",
            lambda m: on_frame(str(m.robot_id), len(m.data), m, self),
            p["qos.feature_map"],
        )

    def reply(self, robot_id: str, msg: Any) -> None:
        """Answer on ``/dvfo/cloud_result`` (every robot filters by robot_id)."""
        self.pub.publish(msg)

    def poll(self) -> None:
        pass

    def describe(self) -> str:
        """The link's state for ``/diagnostics``."""
        return "dds"

    def close(self) -> None:
        pass


class ZenohCloud:
    """The tail's offload path over Zenoh: one worker of the pool, in the pool while active.

    Frames arrive as bytes with the robot id their key expression (so the robot's certificate)
    carries; the tail checks the caps before it decodes them."""

    name = "zenoh"

    def __init__(self, node: Node, p: dict[str, Any], on_frame: FrameCallback) -> None:
        self.node = node
        self.p = p
        self.on_frame = on_frame
        self.connector: Connector | None = None
        self.announced = False

    def open(self) -> None:
        """Join the pool (robots send frames to this worker from now on)."""
        from dvfo_core.link.zenoh_link import WorkerLink

        if self.connector is None:
            self.connector = _connect(self.p, WorkerLink)

    def reply(self, robot_id: str, msg: Any) -> None:
        """Answer robot ``robot_id``."""
        if self.link is not None:
            self.link.reply(robot_id, self.node.to_cdr(msg))

    @property
    def link(self) -> Any:
        """The worker's link once connected."""
        return None if self.connector is None else self.connector.link

    def poll(self) -> None:
        link = self.link
        if link is None:
            return
        if not self.announced:
            self.announced = True
            where = ", ".join(self.p["offload.connect"])
            self.node.logger.info(f"tail: Zenoh worker {link.worker_id} in the pool of {where}")
        for req in link.requests():
            self.on_frame(req.robot_id, len(req.payload), req.payload, self)

    def describe(self) -> str:
        """The link's state for ``/diagnostics``."""
        if self.connector is None:
            return "zenoh: not in the pool (inactive)"
        if self.link is None:
            return f"zenoh: connecting ({self.connector.error or 'first attempt'})"
        return f"zenoh: worker {self.link.worker_id}"

    def close(self) -> None:
        """Leave the pool (robots stop choosing this worker)."""
        if self.connector is not None:
            self.connector.close()
            self.connector = None
            self.announced = False


def cloud_offloads(node: Node, p: dict[str, Any], on_frame: FrameCallback) -> list[Any]:
    """The tail's offload paths that ``offload.link`` selects (``dds+zenoh``: both)."""
    links: list[Any] = []
    if "dds" in p["offload.link"].split("+"):
        links.append(DdsCloud(node, p, on_frame))
    if "zenoh" in p["offload.link"].split("+"):
        links.append(ZenohCloud(node, p, on_frame))
    return links
