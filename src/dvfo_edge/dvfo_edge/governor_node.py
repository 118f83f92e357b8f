"""governor: the DVFS + offload governor.

Subscribes ``/dvfo/telemetry``; for every finished frame it decides the next frame's CPU, GPU and
EMC levels and ``xi`` (thinking while moving: the head keeps running on the action in progress),
applies the clocks through the device layer (the twin, or sysfs on a real Jetson, restored on
exit), and publishes ``/dvfo/action``. ``method``, ``eta`` and ``policy`` can be changed at run
time (``ros2 param set /governor eta 0.8``).
"""

from __future__ import annotations

import math
import sys
from typing import Any

from dvfo_core.device.base import DeviceBackend
from dvfo_core.device.twin import TwinDevice
from dvfo_core.errors import ConfigError
from dvfo_core.governor import GAP_POLICY, NODE_METHODS, GapScheduler, Governor
from dvfo_core.learning.observation import FrameTelemetry
from dvfo_core.runtime.diagnostics import WARN, Diagnostics, Status
from dvfo_core.runtime.lifecycle import UNCONFIGURED
from dvfo_core.runtime.node_main import run_node
from dvfo_core.runtime.params import ParamSpec
from dvfo_core.runtime.port import Node, stamp_to_ns
from dvfo_core.split.checkpoint_header import read_header, shipped_checkpoint, shipped_checkpoints
from dvfo_core.world.build import WorldSpec, build_world
from dvfo_core.world.frame import ACTUATION_S, GapPolicy
from dvfo_core.world.routes import INPUT

PARAMS = [
    ParamSpec("method", "dvfo", "decision method", choices=NODE_METHODS),
    ParamSpec("policy", "", "policy file (empty: the one shipped for device and model)"),
    ParamSpec("eta", 0.5, "energy weight of the cost (1: energy only, 0: latency only)", min=0.0, max=1.0),
    ParamSpec("model", "resnet18", "model the head runs (must match the policy)"),
    ParamSpec("checkpoint", "", "the head's checkpoint (empty: shipped), for its split point"),
    ParamSpec("device", "jetson-nano", "board profile"),
    ParamSpec("power_mode", "", "nvpmodel power mode (empty: the board's default)"),
    ParamSpec(
        "backend", "twin", "twin: simulated board; sysfs: this Jetson's clocks", choices=["twin", "sysfs"]
    ),
    ParamSpec("sysfs_root", "/", "root of the sysfs tree (tests point it at a fixture)"),
    ParamSpec(
        "deadline_ms",
        0.0,
        "the frame deadline the link shield uses; 0: the world's (set it as the head's deadline_ms)",
        min=0.0,
    ),
    ParamSpec(
        "link_shield",
        True,
        "never offload a frame whose payload cannot reach the cloud and return by the deadline on the"
        " link as last measured (docs/agent.md)",
    ),
    ParamSpec(
        "drop_between_frames",
        True,
        "learned methods: lowest clocks from a frame's result until one actuation before the next frame",
    ),
]
#: Parameters that shape the world and the device: changeable only while unconfigured.
FIXED_WHILE_CONFIGURED = (
    "device",
    "backend",
    "model",
    "checkpoint",
    "power_mode",
    "sysfs_root",
    "deadline_ms",
    "link_shield",
)


def _device(p: dict[str, Any], world: Any) -> DeviceBackend:
    if p["backend"] == "twin":
        return TwinDevice(world.twin_model)
    from dvfo_core.device.sysfs import SysfsDevice

    return SysfsDevice(root=p["sysfs_root"], board=p["device"], mode=p["power_mode"] or None)


class GovernorNode:
    """Telemetry in, actions out, clocks applied.

    Lifecycle: configure builds the world, loads the policy and probes the device (its frequency
    tables, and whether clocks can be set); activate decides the first frame's action and applies
    it; deactivate restores every clock it changed; cleanup releases the policy and the device.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        self.p = node.declare_all(PARAMS)
        self.governor: Governor | None = None
        self.device: DeviceBackend | None = None
        self.action_cls = node.msg("dvfo_msgs/msg/DvfsAction")
        self.pub = node.publisher("dvfo_msgs/msg/DvfsAction", "/dvfo/action", "default")
        node.subscribe("dvfo_msgs/msg/Telemetry", "/dvfo/telemetry", self.on_telemetry, "default")
        node.on_param_change(self.on_param)
        self.decisions = 0
        self.safe_fallbacks = 0
        self.decision_ms: list[float] = []
        self.gaps = GapScheduler()
        self.pending: tuple[int, Any, Any] | None = None  #: (raise at ns, levels, clocks) while dropped
        self.drops = 0
        node.timer(ACTUATION_S / 2, self.tick)
        diag = Diagnostics(node, hardware_id=f"governor:{self.p['device']}:{self.p['backend']}")
        diag.add("policy", self.status)

    # -- lifecycle ---------------------------------------------------------------------------
    def on_configure(self) -> None:
        """Build the world, load the policy, probe the device."""
        p = {name: self.node.param(name) for name in self.p}  # run-time changes included
        ckpt = p["checkpoint"] or shipped_checkpoint(p["model"])
        split = read_header(ckpt).split  # the checkpoint's metadata only: no torch in the governor
        spec = WorldSpec(p["device"], p["model"], split, p["power_mode"] or None, p["deadline_ms"] or None)
        self.world = build_world(spec)
        # the head runs the plain model, the image route (the model input to the cloud) and the
        # channel split at its checkpoint's split point (with the shipped one: at every shipped one)
        splits = {split, INPUT} | (set() if p["checkpoint"] else set(shipped_checkpoints(p["model"])))
        self.governor = Governor(
            self.world,
            p["method"],
            p["eta"],
            p["policy"],
            runnable=lambda s, xi: s in splits,
            shield=p["link_shield"],
        )
        self.device = _device(p, self.world)
        if self.device.read_only:
            self.node.logger.warning(
                "governor: no permission to set clocks: running read-only (telemetry only)"
            )
        self.node.logger.info(f"governor: {p['method']} on {p['device']} ({p['backend']}), eta {p['eta']}")

    def on_activate(self) -> None:
        """Decide and apply the first frame's action."""
        self.decide_and_publish(stamp=self.node.stamp(), frame_seq=0)

    def on_deactivate(self) -> None:
        """Restore every clock the governor changed."""
        self.pending = None
        if self.device is not None:
            self.device.restore()

    def on_cleanup(self) -> None:
        """Release the policy and the device."""
        self.governor = self.device = None

    def on_shutdown(self) -> None:
        """Restore the clocks (shutdown may come straight from active), then release."""
        self.on_deactivate()
        self.on_cleanup()

    on_error = on_shutdown  # whatever failed, leave the board's clocks as they were

    def on_param(self, name: str, value: Any) -> None:
        """Run-time changes: ``eta``, ``method``, ``policy`` (a bad one is rejected, nothing changes);
        the others only while unconfigured (they take effect at the next configure)."""
        if name in FIXED_WHILE_CONFIGURED and self.node.lifecycle_state != UNCONFIGURED:
            raise ConfigError(
                f"{name} is fixed while the node is configured: deactivate and clean it up first "
                f"(ros2 lifecycle set {self.node.name} cleanup), set it, configure again"
            )
        if self.governor is None:
            return  # unconfigured: on_configure reads the new value
        if name == "eta":
            self.governor.eta = float(value)
        elif name in ("method", "policy"):
            method = value if name == "method" else self.node.param("method")
            policy = value if name == "policy" else self.node.param("policy")
            self.governor.set_method(str(method), str(policy))

    def on_telemetry(self, msg: Any) -> None:
        """Observe a finished frame and decide the next one."""
        tel = FrameTelemetry.from_msg(msg)
        if not math.isfinite(tel.latency_ms) or not math.isfinite(tel.bandwidth_mbps):
            self.node.logger.warning(
                f"governor: non-finite telemetry for frame {msg.frame_seq}: safe setting"
            )
        self.governor.observe(tel)
        raise_at = self.gaps.on_result(stamp_to_ns(msg.header.stamp), self.node.now_ns())
        drop = (
            raise_at is not None
            and self.node.param("drop_between_frames")
            and GAP_POLICY[self.governor.method] is GapPolicy.DROP
        )
        self.decide_and_publish(msg.header.stamp, int(msg.frame_seq) + 1, raise_at if drop else None)

    def decide_and_publish(self, stamp: Any, frame_seq: int, raise_at_ns: int | None = None) -> None:
        """Decide, apply the clocks (or the floor until ``raise_at_ns``), publish the action."""
        d = self.governor.decide()
        self.decisions += 1
        self.safe_fallbacks += int(d.safe_fallback)
        self.decision_ms.append(d.decision_ms)
        del self.decision_ms[:-1000]
        clocks = self.world.twin_model.clocks(d.action.levels)
        if raise_at_ns is None:
            self.pending = None
            self.apply(d.action.levels, clocks)
        else:  # the frame is done: idle at the floor, the next frame's clocks come one actuation early
            floor = self.world.twin_model.min_levels()
            self.apply(floor, self.world.twin_model.clocks(floor))
            self.pending = (raise_at_ns, d.action.levels, clocks)
            self.drops += 1
        msg = self.action_cls()
        msg.header.stamp = stamp
        msg.header.frame_id = "dvfo"
        msg.frame_seq, msg.method = frame_seq, self.governor.method
        msg.cpu_level, msg.gpu_level, msg.emc_level = d.action.cpu, d.action.gpu, d.action.emc
        msg.cpu_khz, msg.gpu_hz, msg.emc_hz = (
            int(clocks.cpu_hz // 1000),
            int(clocks.gpu_hz),
            int(clocks.emc_hz),
        )
        msg.xi, msg.split, msg.eta = d.action.xi, d.action.split or self.world.split, self.governor.eta
        msg.decision_ms, msg.safe_fallback = d.decision_ms, d.safe_fallback
        self.pub.publish(msg)

    def tick(self) -> None:
        """Raise the clocks for the next frame when its time has come."""
        if self.pending is not None and self.node.now_ns() >= self.pending[0]:
            _, levels, clocks = self.pending
            self.pending = None
            self.apply(levels, clocks)

    def apply(self, levels: Any, clocks: Any) -> None:
        """Set the clocks: twin levels directly; on sysfs the board's available frequency nearest to
        each of the profile's (the board's own tables are the truth on a robot)."""
        if isinstance(self.device, TwinDevice):
            self.device.apply(levels)
            return
        t = self.device.table

        def near(freqs: tuple[int, ...], f: float) -> int | None:
            return min(freqs, key=lambda v: abs(v - f)) if freqs else None

        self.device.set_frequencies(  # type: ignore[attr-defined]
            near(t.cpu_khz, clocks.cpu_hz / 1000),
            near(t.gpu_hz, clocks.gpu_hz),
            near(t.emc_hz, clocks.emc_hz),
        )

    def status(self) -> Status:
        """Diagnostics: decisions, safe fallbacks, decision time."""
        times = sorted(self.decision_ms)
        values = {
            "method": self.governor.method,
            "eta": self.governor.eta,
            "decisions": self.decisions,
            "safe_fallbacks": self.safe_fallbacks,
            "drops_between_frames": self.drops,
            "decision_ms_p99": times[int(0.99 * (len(times) - 1))] if times else math.nan,
            "read_only": self.device.read_only,
        }
        if self.safe_fallbacks:
            return Status(WARN, f"{self.safe_fallbacks} safe fallbacks", values)
        return Status(message="deciding", values=values)


#: The logic a container builds for this node (``dvfo launch --container``).
LOGIC = GovernorNode


def main(argv: list[str] | None = None) -> int:
    """``governor_node`` executable."""
    return run_node("governor", LOGIC, argv)


if __name__ == "__main__":
    sys.exit(main())
