"""head: split inference on the robot.

Per camera frame: head + spatial-channel attention, the governor's current ``xi`` decides which
channels stay; the secondary ones are compressed and sent on ``/dvfo/feature_map``; the primary ones
are finished here; the cloud's ``/dvfo/cloud_result`` is fused in; ``/dvfo/result`` and
``/dvfo/telemetry`` carry the prediction and the frame's per-stage latency and energy. When the
cloud is late or gone, the edge output alone is published (``fallback: true``), and offloading
resumes when the cloud answers again. The head never waits for the governor: it uses the latest
action it has (thinking while moving).

``backend: twin`` accounts each frame on the digital twin; ``backend: sysfs`` measures it on this
Jetson (stage times around the real calls, energy from the INA3221 rails, clocks, temperature and
utilisation read back from sysfs; docs/device.md). torch is imported at configure, not here.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from dvfo_core.device.meter import BoardMeter, MissingReadings
from dvfo_core.device.network import NetworkModel, RadioModel, load_trace
from dvfo_core.errors import ImageError
from dvfo_core.governor import GAP_POLICY, PeriodEstimator
from dvfo_core.images import IMAGE_TRANSPORTS, msg_to_rgb
from dvfo_core.link.estimate import LinkEstimator
from dvfo_core.link.offload import edge_offload, offload_params
from dvfo_core.runtime.diagnostics import ERROR, WARN, Diagnostics, Status
from dvfo_core.runtime.msgs import as_array
from dvfo_core.runtime.node_main import run_node
from dvfo_core.runtime.params import ParamSpec
from dvfo_core.runtime.port import Node, stamp_to_ns
from dvfo_core.world.actions import FrameAction
from dvfo_core.world.build import WorldSpec, build_world
from dvfo_core.world.frame import GapPolicy
from dvfo_core.world.routes import INPUT

if TYPE_CHECKING:  # torch comes with these: imported at configure
    from dvfo_core.edge_pipeline import EdgePipeline, FrameResult

PARAMS = [
    ParamSpec("model", "resnet18", "torchvision model name of the fine-tuned checkpoint"),
    ParamSpec("checkpoint", "", "checkpoint file (empty: the one shipped for the model)"),
    ParamSpec("encoding", "int8+zstd", "codec of the offloaded channels"),
    ParamSpec(
        "torch_threads",
        1,
        "torch's CPU threads in this process (0: torch's default, one per core); the robot's other"
        " nodes share those cores, and more threads than free cores slow every frame",
        min=0,
    ),
    ParamSpec("robot_id", "robot", "sender key the tail answers to"),
    ParamSpec("device", "jetson-nano", "board profile (the twin's; on sysfs: for the total rail)"),
    ParamSpec("power_mode", "", "nvpmodel power mode (empty: the board's default)"),
    ParamSpec(
        "backend",
        "twin",
        "twin: frames accounted on the digital twin; sysfs: measured on this Jetson",
        choices=["twin", "sysfs"],
    ),
    ParamSpec("sysfs_root", "/", "root of the sysfs tree (tests point it at a fixture)"),
    ParamSpec("power_sample_ms", 20.0, "sysfs: rail sampling period within a frame", min=1.0),
    ParamSpec("link", "steady-2mbps", "bandwidth trace of the edge-cloud link (shipped name or CSV)"),
    ParamSpec("radio", "wifi", "radio power model", choices=["wifi", "lte"]),
    ParamSpec(
        "shape_link",
        True,
        "twin: hold each payload for its modelled head + transfer time (the link trace is the link);"
        " false: the link is real, and the telemetry's bandwidth and RTT are estimated from the transfers",
    ),
    ParamSpec(
        "cloud_timeout_ms", 500.0, "longest wall-clock wait for the cloud before the edge-only fallback",
        min=1.0,
    ),
    ParamSpec(
        "deadline_ms",
        0.0,
        "the frame deadline the guard and the miss count use; 0: the world's, twice the plain model's"
        " modelled latency at max clocks (set it on a real board whose frames differ from the model)",
        min=0.0,
    ),
    ParamSpec(
        "deadline_guard",
        True,
        "stop waiting for the cloud as soon as finishing alone would otherwise miss the deadline"
        " (false: wait cloud_timeout_ms; for a test machine slower than the modelled board)",
    ),
    ParamSpec(
        "image_transport",
        "raw",
        "raw: sensor_msgs/Image on /camera/image_raw; compressed: sensor_msgs/CompressedImage"
        " (jpeg, png) on /camera/image_raw/compressed",
        choices=list(IMAGE_TRANSPORTS),
    ),
    ParamSpec("qos.image", "sensor_data", "QoS preset of the image topic"),
    ParamSpec("qos.feature_map", "default", "QoS preset of /dvfo/feature_map"),
    ParamSpec("qos.cloud_result", "default", "QoS preset of /dvfo/cloud_result"),
    ParamSpec("qos.result", "default", "QoS preset of /dvfo/result and /dvfo/telemetry"),
    *offload_params(["dds", "zenoh"]),
]

#: Consecutive cloud time-outs after which the head stops offloading for ``CLOUD_BACKOFF_S``.
CLOUD_STRIKES = 3
CLOUD_BACKOFF_S = 1.0


class Head:
    """Camera frames in; feature maps, fused results and telemetry out.

    Lifecycle: configure loads the checkpoint, builds the twin that accounts each frame and (the
    first time) subscribes to the camera; while
    active, frames are processed; deactivate finishes every frame still waiting for the cloud
    edge-only (nothing is lost); cleanup releases the model.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        p = node.declare_all(PARAMS)
        self.p = p
        self.pipeline: EdgePipeline | None = None
        self.sends: list[tuple[float, Any]] = []
        self.node_ms: dict[int, float] = {}  # head work so far on frames waiting for the cloud
        self.callback_start = time.monotonic()  # of the callback running now
        self.strikes = 0
        self.cloud_down_until = 0.0
        self.camera = PeriodEstimator()  #: the camera's period, for the energy of each period
        self.meter: BoardMeter | None = None  #: sysfs: the board's rails, clocks and sensors
        self.missing = MissingReadings([])
        self.counts = {
            "frames": 0,
            "offloaded": 0,
            "fallback": 0,
            "cloud_rejected": 0,
            "bad_images": 0,  # frames dropped: unsupported encoding or undecodable data
            "routes_substituted": 0,
        }
        self.msgs = {
            t: node.msg(f"dvfo_msgs/msg/{t}") for t in ("FeatureMap", "InferenceResult", "Telemetry")
        }
        self.offload = edge_offload(node, p, self.on_cloud)  # /dvfo/feature_map, /dvfo/cloud_result
        self.result_pub = node.publisher("dvfo_msgs/msg/InferenceResult", "/dvfo/result", p["qos.result"])
        self.tel_pub = node.publisher("dvfo_msgs/msg/Telemetry", "/dvfo/telemetry", p["qos.result"])
        self.bad_encodings: set[str] = set()  # each reported once (log line + /diagnostics ERROR)
        self.image_sub: Any = None  # subscribed at configure, once the model is loaded
        node.subscribe("dvfo_msgs/msg/DvfsAction", "/dvfo/action", self.on_action, "default")
        # 10 ms: the modelled link's send times and the time-outs need no finer steps, and a 2 ms
        # timer kept an idle rclpy head at 37 % of a core here (rclpy rebuilds its wait set on
        # every wake-up), enough to fall behind the camera
        node.timer(0.01, self.tick)
        node.timer(0.1, self.cloud_up)  # follows the tail's matches, so they settle from when they happen
        self.diag = Diagnostics(node, hardware_id=f"head:{p['device']}:{p['backend']}")
        self.diag.add("inference", self.status)
        self.diag.add("telemetry", self.telemetry_status)

    # -- lifecycle ---------------------------------------------------------------------------
    def on_configure(self) -> None:
        """Load the checkpoint, build the world and link, and the accounting of the frames: the twin,
        or the board's meter (``backend: sysfs``)."""
        from dvfo_core.edge_pipeline import Accountant, EdgePipeline, MeasuredAccountant
        from dvfo_core.split.runner import SplitRunner

        p = self.p
        if p["torch_threads"]:
            import torch

            torch.set_num_threads(p["torch_threads"])
        runner = SplitRunner.from_checkpoint(
            p["checkpoint"] or None, model=p["model"], encoding=p["encoding"]
        )
        others = []  # the shipped checkpoints at the model's other split points (its own: only it)
        if not p["checkpoint"]:
            from dvfo_core.split.checkpoint_header import shipped_checkpoints

            others = [
                SplitRunner.from_checkpoint(path, encoding=p["encoding"])
                for split, path in shipped_checkpoints(runner.model).items()
                if split != runner.split
            ]
        spec = WorldSpec(
            p["device"], runner.model, runner.split, p["power_mode"] or None, p["deadline_ms"] or None
        )
        world = build_world(spec)
        network = NetworkModel(load_trace(p["link"]), RadioModel.preset(p["radio"]))
        self.world = world
        if p["backend"] == "sysfs":
            from dvfo_core.device.sysfs.telemetry import board_telemetry

            telemetry = board_telemetry(p["sysfs_root"], p["device"])
            self.meter = BoardMeter(telemetry, p["power_sample_ms"] / 1e3).start()
            self.missing = MissingReadings(telemetry.disc.missing)
            acct = MeasuredAccountant(world, network, meter=self.meter, guard=p["deadline_guard"])
        else:
            acct = Accountant(world, network, guard=p["deadline_guard"])
        # a real link (no modelled shaping): the link estimate comes from the frames' own transfers,
        # with the configured trace as its prior (docs/link.md, "The link estimate")
        real_link = p["backend"] == "sysfs" or not p["shape_link"]
        estimator = LinkEstimator.from_trace(network.trace) if real_link else None
        self.pipeline = EdgePipeline(runner, acct, p["cloud_timeout_ms"] / 1e3, estimator, others)
        top = world.twin_model.max_levels()
        self.action = FrameAction(top.cpu, top.gpu, top.emc, 0.0)  # until the governor speaks
        self.table = world.twin.table
        accounted = f"measured under {p['sysfs_root']}" if self.meter else f"twin {p['device']}"
        if self.image_sub is None:
            # only now: a camera that waits for subscribers (and any publisher reading the match)
            # then starts when frames can be run, not while the model loads and they pile up
            image_type, image_topic = IMAGE_TRANSPORTS[p["image_transport"]]
            self.image_sub = self.node.subscribe(image_type, image_topic, self.on_image, p["qos.image"])
        splits = ", ".join(self.pipeline.runners)
        self.node.logger.info(f"head: {runner.model} split at {splits}, {accounted}, link {p['link']}")

    def on_deactivate(self) -> None:
        """Finish, edge-only, every frame still waiting for the cloud (payloads not yet sent included)."""
        self.callback_start = time.monotonic()
        self.sends.clear()
        if self.pipeline is not None:
            for result in self.pipeline.expire(math.inf):
                self.publish(result)

    def on_cleanup(self) -> None:
        """Release the model, the twin and the board meter."""
        self.pipeline = None
        if self.meter is not None:
            self.meter.stop()
            self.meter = None

    def on_shutdown(self) -> None:
        """Flush waiting frames, then release (and close the offload link)."""
        self.on_deactivate()
        self.on_cleanup()
        self.offload.close()

    # -- inputs ------------------------------------------------------------------------------
    def on_action(self, msg: Any) -> None:
        """Adopt the governor's latest action (checked against the active frequency table).

        The head runs the plain model (``xi = 0``), the channel split at every split point it has a
        checkpoint for (with the shipped checkpoint: every shipped one of the model) and the image
        route (``split = "input"``: the model input to the cloud, which runs the plain model); a
        split point it has no checkpoint for runs as the nearest share at its default split,
        counted in /diagnostics.
        """
        cpu, gpu, emc, xi = int(msg.cpu_level), int(msg.gpu_level), int(msg.emc_level), float(msg.xi)
        n_cpu, n_gpu, n_emc = self.table.shape
        if not (0 <= cpu < n_cpu and 0 <= gpu < n_gpu and 0 <= emc < n_emc) or not 0.0 <= xi <= 1.0:
            self.node.logger.warning(f"head: ignoring out-of-range action {cpu},{gpu},{emc},xi={xi}")
            return
        split = str(msg.split) or self.pipeline.runner.split
        if xi > 0 and split == INPUT:
            self.action = FrameAction(cpu, gpu, emc, 1.0, INPUT)
        else:
            if split not in self.pipeline.runners:
                self.counts["routes_substituted"] += int(xi > 0)
                split = self.pipeline.runner.split
            self.action = FrameAction(cpu, gpu, emc, self._nearest_xi(xi, split), split)
        self.pipeline.acct.gap = GAP_POLICY.get(str(msg.method), GapPolicy.HOLD)

    def _nearest_xi(self, xi: float, split: str) -> float:
        if xi <= 0:
            return 0.0
        return min(self.world.routes.splits[split].xis, key=lambda v: abs(v - xi))

    def cloud_up(self) -> bool:
        """Whether a tail is there to answer (on DDS both legs matched and settled, see
        :mod:`dvfo_core.runtime.matching`) and it is not timing out repeatedly."""
        return self.offload.up() and time.monotonic() >= self.cloud_down_until

    def on_image(self, msg: Any) -> None:
        """Run one frame (``sensor_msgs/Image`` or ``CompressedImage``); drop one it cannot read."""
        self.callback_start = time.monotonic()
        try:
            image = msg_to_rgb(msg)
        except ImageError as exc:
            self.drop_image(exc)
            return
        self.counts["frames"] += 1
        self.camera.add(stamp_to_ns(msg.header.stamp))
        period = self.camera.period_ns
        self.pipeline.acct.period_s = period * 1e-9 if period else None
        started = self.pipeline.start(image, msg.header.stamp, self.action, self.cloud_up())
        if started.result is not None:
            self.publish(started.result)
            return
        self.counts["offloaded"] += 1
        fm = self.msgs["FeatureMap"]()
        fm.header.stamp = msg.header.stamp
        fm.header.frame_id = msg.header.frame_id
        fm.robot_id, fm.frame_seq = self.p["robot_id"], started.seq
        fm.model, fm.split = self.pipeline.runner.model, self.action.split
        fm.xi, fm.deadline_ms = self.action.xi, self.world.cost.deadline_s * 1e3
        for key, value in started.payload.to_msg_fields().items():
            setattr(fm, key, value)
        now = time.monotonic()
        self.sends.append((now + (started.send_after_s if self.p["shape_link"] else 0.0), fm))
        if self.sends[-1][0] <= now:  # nothing to hold (no shaping; never on sysfs): send it now
            self.send_due(now)
        self.node_ms[started.seq] = (now - self.callback_start) * 1e3

    def drop_image(self, exc: ImageError) -> None:
        """Count a frame that cannot be read; the first of each encoding is logged once and
        published once on /diagnostics as an ERROR naming it, the rest are only counted."""
        self.counts["bad_images"] += 1
        if exc.encoding in self.bad_encodings:
            return
        self.bad_encodings.add(exc.encoding)
        self.node.logger.error(f"head: dropping frames: {exc} (reported once per encoding)")
        values = {"encoding": exc.encoding, "bad_images": self.counts["bad_images"]}
        self.diag.report("image input", Status(ERROR, f"dropping frames: {exc}", values))

    def on_cloud(self, msg: Any) -> None:
        """Fuse a cloud answer addressed to this robot."""
        self.callback_start = time.monotonic()
        if str(msg.robot_id) != self.p["robot_id"]:
            return
        if not msg.ok:
            self.counts["cloud_rejected"] += 1
            self.node.logger.warning(f"head: cloud rejected frame {msg.frame_seq}: {msg.error}")
        logits = as_array(msg.logits, np.dtype(np.float32)) if msg.ok else None
        cloud_s = (float(msg.cloud_compute_ms) + float(msg.queue_ms)) / 1e3
        result = self.pipeline.on_cloud(int(msg.frame_seq), logits, cloud_s)
        if result is not None:
            self.strikes = 0
            self.publish(result)

    def tick(self) -> None:
        """Send payloads whose modelled transfer is over; finish frames the cloud left waiting."""
        self.offload.poll()  # cloud answers that came over Zenoh (DDS ones arrive as callbacks)
        now = self.callback_start = time.monotonic()
        self.send_due(now)
        for result in self.pipeline.expire(now):
            self.strikes += 1
            if self.strikes >= CLOUD_STRIKES:
                self.cloud_down_until = now + CLOUD_BACKOFF_S
            self.publish(result)

    def send_due(self, now: float) -> None:
        """Publish the payloads whose hold time is over."""
        if self.sends:
            due = [s for s in self.sends if s[0] <= now]
            self.sends = [s for s in self.sends if s[0] > now]
            for _, fm in due:
                self.offload.send(fm)
                self.pipeline.mark_sent(int(fm.frame_seq))

    # -- outputs -----------------------------------------------------------------------------
    def publish(self, r: FrameResult) -> None:
        """Publish the result and the telemetry of one finished frame."""
        out = r.outcome
        self.counts["fallback"] += int(r.fallback)
        res = self.msgs["InferenceResult"]()
        res.header.stamp = r.stamp
        res.header.frame_id = "dvfo"
        res.frame_seq, res.model = r.seq, self.pipeline.runner.model
        res.class_id, res.confidence = r.class_id, r.confidence
        res.logits = r.logits.tolist() if self.node.runtime == "rclpy" else r.logits
        res.xi, res.cloud_used, res.fallback = r.action.xi, r.cloud_used, r.fallback
        res.payload_bytes = int(out.payload_bytes)
        res.head_ms, res.edge_tail_ms = out.head_s * 1e3, out.edge_tail_s * 1e3
        res.transmit_ms, res.cloud_ms, res.wait_ms = out.transmit_s * 1e3, out.cloud_s * 1e3, out.wait_s * 1e3
        res.latency_ms, res.energy_j = out.latency_s * 1e3, out.energy_j
        res.compute_wall_ms = r.compute_ms
        res.cpu_level, res.gpu_level, res.emc_level = r.action.cpu, r.action.gpu, r.action.emc
        res.node_wall_ms = self.node_ms.pop(r.seq, 0.0) + (time.monotonic() - self.callback_start) * 1e3
        self.result_pub.publish(res)
        self.tel_pub.publish(self.telemetry(r))

    def telemetry(self, r: FrameResult) -> Any:
        """The ``Telemetry`` of one finished frame: modelled on the twin, measured on sysfs; a missing
        reading is NaN (0 for a clock) and named in ``missing``, and said once in the log."""
        from dvfo_core.learning.replay import telemetry_fields  # imported by main() already

        fields = telemetry_fields(r.outcome, self.p["device"], self.table, r.seq, board=r.board)
        if r.board is not None:
            new = self.missing.update(fields["missing"])
            if new:
                self.node.logger.warning(f"head: telemetry missing {self.missing.describe(new)}")
        tel = self.msgs["Telemetry"](**fields)
        tel.header.stamp = r.stamp
        tel.header.frame_id = "dvfo"
        return tel

    def telemetry_status(self) -> Status:
        """Diagnostics: which readings the telemetry lacks (sysfs); the twin measures nothing."""
        if self.meter is None:
            return Status(message="twin: modelled telemetry", values={"backend": "twin"})
        values = {"backend": "sysfs", "missing": ",".join(self.missing.last)}
        if self.missing.last:
            return Status(WARN, f"missing {self.missing.describe(self.missing.last)}", values)
        return Status(message="measured", values=values)

    def status(self) -> Status:
        """Diagnostics: frames, offloads, fallbacks, whether the cloud is reachable."""
        values = dict(self.counts)
        values["pending"] = len(self.pipeline.pending)
        values["xi"] = self.action.xi
        values["bad_encodings"] = ", ".join(sorted(self.bad_encodings))
        values["offload"] = self.offload.describe()
        if self.pipeline.link is not None:
            est = self.pipeline.link.estimate(time.monotonic())
            values["link_estimate"] = f"{est.mbps:.3g} Mbps, {est.rtt_ms:.3g} ms (weight {est.weight:.2g})"
        if not self.cloud_up():
            return Status(WARN, "cloud unreachable: edge-only", values)
        return Status(message="running", values=values)


#: The logic a container builds for this node (``dvfo launch --container``).
LOGIC = Head


def main(argv: list[str] | None = None) -> int:
    """``head_node`` executable."""
    # torch before the node exists: configuring then takes no import time during which a camera,
    # already matched to the new subscription, would publish frames nobody takes yet
    import dvfo_core.edge_pipeline
    import dvfo_core.learning.replay  # noqa: F401 - the telemetry builder, for the same reason

    return run_node("head", LOGIC, argv)


if __name__ == "__main__":
    sys.exit(main())
