"""What the governor observes: the ONE definition shared by the environment and the robot's governor.

Only quantities a governor can read at run time go in: the last frame's telemetry (link estimate,
per-stage latencies, power, temperature, deadline slack), the robot's energy weight ``eta``, the
model/split in use, and the action in progress with its elapsed and estimated remaining time
(thinking-while-moving). Every feature is scaled with the device/model's references so one network
shape serves every device: times and energy as ``log2(1 + x / ref)`` (:func:`scaled`), which keeps
a frame 20x slower than the reference distinguishable without dwarfing the other inputs.

Missing readings: power, temperature and energy are optional (a Jetson without INA3221 or thermal
zones reports NaN) and are imputed with neutral values; a non-finite link estimate or latency makes
the vector non-finite, and :class:`~dvfo_core.learning.policy.Policy` then falls back to its safe setting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from dvfo_core.world.actions import ActionTable, FrameAction
from dvfo_core.world.build import ObsContext
from dvfo_core.world.frame import FrameOutcome

#: Feature names, in vector order (stored in policy files and checked on load).
OBS_NAMES: tuple[str, ...] = (
    "eta",
    "bandwidth_log2",
    "rtt",
    "model_gflops_log10",
    "split_position",
    "cpu_in_progress",
    "gpu_in_progress",
    "emc_in_progress",
    "xi_in_progress",
    "route_in_progress",
    "power",
    "temperature",
    "head_time",
    "edge_tail_time",
    "transmit_time",
    "cloud_time",
    "latency",
    "energy",
    "deadline_slack",
    "miss_rate",
    "elapsed",
    "remaining",
)
OBS_SIZE = len(OBS_NAMES)
#: Bounds of the observation box; features are clipped into it.
OBS_LOW, OBS_HIGH = -4.0, 4.0
#: Weight of the newest frame in the deadline-miss moving average.
MISS_EMA_ALPHA = 0.1
#: Nominal board temperature used when the reading is missing (degC).
NOMINAL_TEMPERATURE_C = 45.0


def scaled(value: float, ref: float) -> float:
    """``log2(1 + value / ref)``: 0 at 0, 1 at the reference, ~4.4 at 20x (NaN stays NaN)."""
    return math.log2(1.0 + max(value, 0.0) / ref) if not math.isnan(value) else math.nan


@dataclass(frozen=True)
class FrameTelemetry:
    """The fields of one ``dvfo_msgs/Telemetry`` message the governor uses."""

    bandwidth_mbps: float
    rtt_ms: float
    head_ms: float
    edge_tail_ms: float
    transmit_ms: float
    cloud_ms: float
    latency_ms: float
    deadline_missed: bool
    power_w: float = math.nan
    energy_j: float = math.nan
    temperature_c: float = math.nan

    @classmethod
    def from_outcome(cls, out: FrameOutcome, temperature_c: float = math.nan) -> FrameTelemetry:
        """Telemetry of a simulated frame."""
        return cls(
            bandwidth_mbps=out.mbps,
            rtt_ms=out.rtt_ms,
            head_ms=out.head_s * 1e3,
            edge_tail_ms=out.edge_tail_s * 1e3,
            transmit_ms=out.transmit_s * 1e3,
            cloud_ms=out.cloud_s * 1e3,
            latency_ms=out.latency_s * 1e3,
            deadline_missed=out.deadline_missed,
            power_w=out.power_w,
            energy_j=out.energy_j,
            temperature_c=temperature_c,
        )

    @classmethod
    def from_msg(cls, msg: Any) -> FrameTelemetry:
        """From a ``dvfo_msgs/Telemetry`` message (rosbags, DDS or rclpy class alike)."""
        return cls(
            bandwidth_mbps=float(msg.bandwidth_mbps),
            rtt_ms=float(msg.rtt_ms),
            head_ms=float(msg.head_ms),
            edge_tail_ms=float(msg.edge_tail_ms),
            transmit_ms=float(msg.transmit_ms),
            cloud_ms=float(msg.cloud_ms),
            latency_ms=float(msg.latency_ms),
            deadline_missed=bool(msg.deadline_missed),
            power_w=float(msg.power_w),
            energy_j=float(msg.energy_j),
            temperature_c=float(msg.temperature_c),
        )


@dataclass
class ObservationBuilder:
    """Turns telemetry + the action in progress into the policy's input vector."""

    context: ObsContext
    table: ActionTable
    last: FrameTelemetry | None = None
    miss_rate: float = 0.0

    def reset(self) -> None:
        """Forget every telemetry sample."""
        self.last = None
        self.miss_rate = 0.0

    def update(self, tel: FrameTelemetry) -> None:
        """Take the telemetry of a finished frame."""
        self.last = tel
        self.miss_rate += MISS_EMA_ALPHA * (float(tel.deadline_missed) - self.miss_rate)

    def vector(self, eta: float, in_progress: FrameAction, elapsed_s: float = 0.0) -> np.ndarray:
        """The observation (float32, length :data:`OBS_SIZE`); NaN when a required reading is missing."""
        ctx, tel = self.context, self.last
        v = np.empty(OBS_SIZE, dtype=np.float32)
        if tel is None:
            v[:] = np.nan
            return v
        t_ref_ms = ctx.t_ref_s * 1e3
        p_ref = ctx.e_ref_j / ctx.t_ref_s
        deadline_ms = ctx.deadline_s * 1e3
        bw = tel.bandwidth_mbps
        cpu, gpu, emc, xi = self.table.fractions(in_progress)
        n_routes = len(self.table.routes)
        route = self.table.route_position(in_progress) / (n_routes - 1) if n_routes > 1 else 0.0
        power = tel.power_w / p_ref if math.isfinite(tel.power_w) else 1.0
        energy = scaled(tel.energy_j, ctx.e_ref_j) if math.isfinite(tel.energy_j) else 1.0
        temp_c = tel.temperature_c if math.isfinite(tel.temperature_c) else NOMINAL_TEMPERATURE_C
        elapsed_ms = elapsed_s * 1e3
        v[:] = (
            eta,
            math.log2(bw) / 4.0 if bw > 0 else (math.nan if math.isnan(bw) else OBS_LOW),
            tel.rtt_ms / 100.0,
            math.log10(max(ctx.model_gflops, 1e-3)) / 2.0,
            ctx.split_position,
            cpu,
            gpu,
            emc,
            xi,
            route,
            power,
            (temp_c - 25.0) / 75.0,
            scaled(tel.head_ms, t_ref_ms),
            scaled(tel.edge_tail_ms, t_ref_ms),
            scaled(tel.transmit_ms, t_ref_ms),
            scaled(tel.cloud_ms, t_ref_ms),
            scaled(tel.latency_ms, t_ref_ms),
            energy,
            max(-1.0, (deadline_ms - tel.latency_ms) / deadline_ms),
            self.miss_rate,
            elapsed_ms / deadline_ms,
            max(0.0, tel.latency_ms - elapsed_ms) / deadline_ms,
        )
        finite = np.isfinite(v)
        if not finite.all():
            return v  # keep the NaN: the policy decides on the safe fallback
        np.clip(v, OBS_LOW, OBS_HIGH, out=v)
        return v
