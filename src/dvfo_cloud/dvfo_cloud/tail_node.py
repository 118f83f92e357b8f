"""tail: finishes offloaded feature maps on the cloud server and answers each robot.

Subscribes ``/dvfo/feature_map`` (``dvfo_msgs/FeatureMap``), publishes ``/dvfo/cloud_result``
(``dvfo_msgs/CloudResult``) with the frame's stamp, robot id and sequence number, over DDS or as
one worker of a Zenoh pool (``offload.link``, :mod:`dvfo_core.link.offload`). One process
serves several robots and models; queued frames are batched. A message over the size cap or
unreadable is dropped; one over its robot's rate cap, or whose robot_id is not the robot the link
authenticated, is answered ``ok: false``; every other frame is screened as it arrives
(:meth:`~dvfo_core.tail_server.TailServer.screen`) and a bad one answered ``ok: false`` at once;
every refusal is counted per reason on ``/diagnostics``; the node keeps serving.
"""

from __future__ import annotations

import sys

from dvfo_core.errors import DvfoError
from dvfo_core.link.offload import FEATURE_MAP, cloud_offloads, offload_params
from dvfo_core.runtime.diagnostics import WARN, Diagnostics, Status
from dvfo_core.runtime.node_main import run_node
from dvfo_core.runtime.params import ParamSpec
from dvfo_core.runtime.port import Node
from dvfo_core.split.codec import RejectReason
from dvfo_core.tail_server import Admission, TailReply, TailRequest, TailServer

PARAMS = [
    ParamSpec("models", ["resnet18"], "models to load at start (others load on first request)"),
    ParamSpec("max_batch", 8, "most frames finished in one tail pass", min=1, max=256),
    ParamSpec("device", "cpu", "torch device of the tail (cpu, cuda, cuda:1, ...)"),
    ParamSpec("qos.feature_map", "default", "QoS preset of /dvfo/feature_map"),
    ParamSpec("qos.cloud_result", "default", "QoS preset of /dvfo/cloud_result"),
    ParamSpec("max_payload_bytes", 8 * 1024 * 1024, "largest FeatureMap accepted (0: no cap)", min=0),
    ParamSpec("max_rate_hz", 100.0, "FeatureMaps a second accepted per robot (0: no cap)", min=0.0),
    *offload_params(["dds", "zenoh", "dds+zenoh"]),
]


class Tail:
    """Feature maps in, cloud results out.

    Lifecycle: configure loads the models onto the torch device; deactivate answers every queued
    frame first (nothing is lost); cleanup releases the models.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        p = node.declare_all(PARAMS)
        self.p = p
        self.server: TailServer | None = None
        self.result_cls = node.msg("dvfo_msgs/msg/CloudResult")
        self.links = cloud_offloads(node, p, self.on_feature_map)
        node.timer(0.002, self.drain)
        diag = Diagnostics(node, hardware_id=f"tail:{p['device']}")
        diag.add("serving", self.status)

    def on_configure(self) -> None:
        """Load the models (an unknown model or torch device fails the transition)."""
        p = self.p
        admission = Admission(p["max_payload_bytes"], p["max_rate_hz"])
        self.server = TailServer(max_batch=p["max_batch"], device=p["device"], admission=admission)
        for model in p["models"]:
            self.server.runner(model)
        self.node.logger.info(f"tail: serving {', '.join(p['models'])} on {p['device']}")

    def on_activate(self) -> None:
        """Join the Zenoh pool (if on Zenoh): robots send frames to this worker from now on."""
        for link in self.links:
            getattr(link, "open", lambda: None)()

    def on_deactivate(self) -> None:
        """Answer what is queued, then leave the Zenoh pool."""
        if self.server is not None:
            self.drain()
        for link in self.links:
            link.close()

    def on_cleanup(self) -> None:
        """Release the models."""
        self.server = None

    def on_shutdown(self) -> None:
        """Answer what is queued, then release."""
        self.on_deactivate()
        self.on_cleanup()

    def on_feature_map(self, robot_id: str, nbytes: int, msg: object, origin: object) -> None:
        """Admit and queue one offloaded frame; ``msg`` is a FeatureMap or its CDR bytes (Zenoh),
        ``robot_id`` the robot the link names (on Zenoh: the one its certificate authenticated)."""
        server = self.server
        reason = server.admit(robot_id, nbytes)
        if reason is RejectReason.TOO_LARGE:
            server.refuse(reason)  # not even read: no answer, the robot's time-out covers it
            return
        if isinstance(msg, bytes):
            try:
                msg = self.node.from_cdr(FEATURE_MAP, msg)
            except DvfoError:
                server.refuse(RejectReason.MALFORMED)
                return
        req = TailRequest(
            robot_id=robot_id,
            frame_seq=int(msg.frame_seq),  # type: ignore[attr-defined]
            model=str(msg.model),  # type: ignore[attr-defined]
            split=str(msg.split),  # type: ignore[attr-defined]
            fields=msg,
            stamp=msg.header.stamp,  # type: ignore[attr-defined]
            origin=origin,
        )
        claimed, why = str(msg.robot_id), ""  # type: ignore[attr-defined]
        if reason is None and claimed != robot_id:
            reason, why = RejectReason.ROBOT_MISMATCH, f"robot_id {claimed!r} sent by robot {robot_id!r}"
        if reason is not None:
            self.answer(server.refuse(reason, req, why))
            return
        refusal = server.submit(req)  # screened now: a bad payload is answered at once
        if refusal is not None:
            self.answer(refusal)

    def drain(self) -> None:
        """Take what the links received, finish what is queued and answer."""
        for link in self.links:
            link.poll()
        while self.server.queue:
            for reply in self.server.process():
                self.answer(reply)

    def answer(self, reply: TailReply) -> None:
        """Send a reply back on the link its request came in on."""
        req = reply.request
        req.origin.reply(req.robot_id, self.to_msg(reply))

    def to_msg(self, reply: TailReply) -> object:
        """The ``CloudResult`` of a reply."""
        req = reply.request
        msg = self.result_cls()
        msg.header.stamp = req.stamp
        msg.header.frame_id = req.robot_id
        msg.robot_id, msg.frame_seq, msg.model = req.robot_id, req.frame_seq, req.model
        msg.ok, msg.error = reply.ok, reply.error
        msg.logits = reply.logits.tolist() if self.node.runtime == "rclpy" else reply.logits
        msg.cloud_compute_ms, msg.queue_ms = reply.compute_ms, reply.queue_ms
        msg.batch_size = reply.batch_size
        return msg

    def status(self) -> Status:
        """Diagnostics: frames served per robot, rejections per reason, batches."""
        values = {f"served[{r}]": n for r, n in self.server.served.items()}
        values.update({f"rejected[{k}]": n for k, n in self.server.rejected.items()})
        values["batches"] = self.server.batches
        values["queued"] = len(self.server.queue)
        values["offload"] = "; ".join(link.describe() for link in self.links)
        if self.server.rejected:
            return Status(WARN, f"{sum(self.server.rejected.values())} payloads rejected", values)
        return Status(message="serving", values=values)


#: The logic a container builds for this node (``dvfo launch --container``).
LOGIC = Tail


def main(argv: list[str] | None = None) -> int:
    """``tail_node`` executable."""
    return run_node("tail", LOGIC, argv)


if __name__ == "__main__":
    sys.exit(main())
