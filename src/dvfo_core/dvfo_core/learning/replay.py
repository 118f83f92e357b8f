"""Replay of a robot's recording: rosbag2 telemetry drives the environment.

``dvfo train --bag PATH`` reads ``/dvfo/telemetry`` (``dvfo_msgs/Telemetry``) from each bag and turns
what was measured on the real run into the training environment:

* **bandwidth and RTT** — the link estimates of every frame, on the frames' camera stamps, become a
  :class:`~dvfo_core.device.network.BandwidthTrace` the episodes are drawn from;
* **latency** — the measured edge compute time (``head_ms + edge_tail_ms``) over the twin's
  prediction for the same clocks and xi gives a latency scale applied to every edge stage;
* **power** — the measured mean power over the twin's power for the same frames gives a power scale
  applied to edge compute and waiting;
* **cloud** — the median measured ``cloud_ms`` replaces the cloud model's tail latency.

Scales are medians over the usable frames, so a few outliers do not move them. Frames with
non-finite or non-positive readings are dropped and counted; a bag with none left is an error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dvfo_core.bag import TELEMETRY_TOPIC, BagError, read_topic
from dvfo_core.device.base import FrequencyTable, Levels
from dvfo_core.device.meter import BoardReading, missing_fields
from dvfo_core.device.network import BandwidthTrace
from dvfo_core.world.frame import FrameOutcome, RouteSource, _Cost

#: Telemetry fields a replay needs, all finite (bandwidth, latency and power > 0).
REQUIRED_FIELDS = (
    "bandwidth_mbps",
    "rtt_ms",
    "head_ms",
    "edge_tail_ms",
    "power_w",
    "latency_ms",
    "cpu_khz",
    "gpu_hz",
    "emc_hz",
    "xi",
)


@dataclass(frozen=True)
class TelemetryRow:
    """The replay-relevant part of one telemetry message."""

    t_s: float
    device: str
    bandwidth_mbps: float
    rtt_ms: float
    cpu_khz: int
    gpu_hz: int
    emc_hz: int
    xi: float
    split: str
    head_ms: float
    edge_tail_ms: float
    cloud_ms: float
    power_w: float
    latency_ms: float


@dataclass(frozen=True)
class Replay:
    """What a set of recordings says about the robot's link, edge and cloud."""

    sources: tuple[str, ...]
    device: str
    trace: BandwidthTrace
    latency_scale: float
    power_scale: float
    cloud_s: float | None
    frames: int  #: usable frames
    dropped: int  #: frames dropped for missing/non-finite readings

    def summary(self) -> dict[str, Any]:
        """JSON-friendly description (stored in the policy's training metadata)."""
        return {
            "bags": list(self.sources),
            "device": self.device,
            "frames": self.frames,
            "dropped": self.dropped,
            "mean_mbps": self.trace.mean_mbps,
            "latency_scale": self.latency_scale,
            "power_scale": self.power_scale,
            "cloud_ms": None if self.cloud_s is None else 1e3 * self.cloud_s,
        }


def read_telemetry(path: str | Path) -> tuple[list[TelemetryRow], int]:
    """Usable telemetry rows of one bag and how many messages were dropped (non-finite readings)."""
    rows, dropped = [], 0
    for t_ns, msg in read_topic(path, TELEMETRY_TOPIC):
        stamp = msg.header.stamp
        t_s = stamp.sec + stamp.nanosec * 1e-9 if (stamp.sec or stamp.nanosec) else t_ns * 1e-9
        values = {f: float(getattr(msg, f)) for f in REQUIRED_FIELDS}
        if (
            not all(math.isfinite(v) for v in values.values())
            or values["bandwidth_mbps"] <= 0
            or values["latency_ms"] <= 0
            or values["power_w"] <= 0
        ):
            dropped += 1
            continue
        rows.append(
            TelemetryRow(
                t_s=t_s,
                device=str(msg.device),
                bandwidth_mbps=values["bandwidth_mbps"],
                rtt_ms=values["rtt_ms"],
                cpu_khz=int(msg.cpu_khz),
                gpu_hz=int(msg.gpu_hz),
                emc_hz=int(msg.emc_hz),
                xi=values["xi"],
                split=str(getattr(msg, "split", "")),
                head_ms=values["head_ms"],
                edge_tail_ms=values["edge_tail_ms"],
                cloud_ms=float(msg.cloud_ms),
                power_w=values["power_w"],
                latency_ms=values["latency_ms"],
            )
        )
    return rows, dropped


def _nearest(freqs: Sequence[int], f: int) -> int:
    return int(np.argmin([abs(int(x) - f) for x in freqs]))


def levels_of(table: FrequencyTable, row: TelemetryRow) -> Levels:
    """The table levels nearest to a row's recorded frequencies."""
    return Levels(
        _nearest(table.cpu_khz, row.cpu_khz),
        _nearest(table.gpu_hz, row.gpu_hz),
        _nearest(table.emc_hz, row.emc_hz),
    )


def _trace(rows: list[TelemetryRow], name: str) -> BandwidthTrace:
    times, mbps, rtt = [], [], []
    for r in sorted(rows, key=lambda r: r.t_s):
        if times and r.t_s <= times[-1]:
            continue
        times.append(r.t_s)
        mbps.append(r.bandwidth_mbps)
        rtt.append(max(0.0, r.rtt_ms))
    return BandwidthTrace(np.array(times), np.array(mbps), np.array(rtt), name=name)


def load_replay(paths: Sequence[str | Path], twin: Any, routes: RouteSource, device: str) -> Replay:
    """Read ``paths`` and calibrate against ``twin`` (a TwinModel) with the policy's ``routes``.

    Raises :class:`BagError` for a bag recorded on another device or without usable frames.
    """
    rows: list[TelemetryRow] = []
    dropped = 0
    traces = []
    for p in paths:
        r, d = read_telemetry(p)
        dropped += d
        if not r:
            raise BagError(
                f"{p}: no usable {TELEMETRY_TOPIC} messages ({d} dropped for NaN or non-positive "
                "bandwidth/latency/power)"
            )
        other = sorted({x.device for x in r if x.device and x.device != device})
        if other:
            raise BagError(f"{p}: recorded on device {other[0]!r}, not {device!r}")
        rows += r
        traces.append(_trace(r, Path(p).name))
    table = twin.table
    lat_ratio, pow_ratio = [], []
    for r in rows:
        lv = levels_of(table, r)
        route = routes.route(r.split, r.xi)
        head, tail = twin.stage(route.head, lv), twin.stage(route.edge_tail, lv)
        pred_s = head.latency_s + tail.latency_s
        meas_s = (r.head_ms + r.edge_tail_ms) * 1e-3
        if pred_s <= 0 or meas_s <= 0:
            continue
        lat_ratio.append(meas_s / pred_s)
        # board power over the frame as the twin would report it for the measured compute and wait times
        wait_s = max(0.0, r.latency_ms * 1e-3 - meas_s)
        compute_w = (head.energy_j + tail.energy_j) / pred_s
        pred_w = (compute_w * meas_s + twin.idle(wait_s, lv).energy_j) / (meas_s + wait_s)
        pow_ratio.append(r.power_w / pred_w)
    cloud = [r.cloud_ms for r in rows if r.xi > 0 and math.isfinite(r.cloud_ms) and r.cloud_ms > 0]
    trace = traces[0] if len(traces) == 1 else _concat(traces)
    return Replay(
        sources=tuple(str(p) for p in paths),
        device=device,
        trace=trace,
        latency_scale=float(np.median(lat_ratio)) if lat_ratio else 1.0,
        power_scale=float(np.median(pow_ratio)) if pow_ratio else 1.0,
        cloud_s=float(np.median(cloud)) * 1e-3 if cloud else None,
        frames=len(rows),
        dropped=dropped,
    )


def _concat(traces: list[BandwidthTrace]) -> BandwidthTrace:
    times, mbps, rtt, offset = [], [], [], 0.0
    for tr in traces:
        times.append(tr.times_s + offset)
        mbps.append(tr.mbps)
        rtt.append(tr.rtt_ms)
        offset += tr.period_s
    return BandwidthTrace(np.concatenate(times), np.concatenate(mbps), np.concatenate(rtt), name="bags")


class CalibratedTwin:
    """A twin (or :class:`CachedTwin`) with a replay's latency and power scales applied."""

    def __init__(self, twin: Any, latency_scale: float, power_scale: float) -> None:
        self.twin, self.ls, self.ps = twin, float(latency_scale), float(power_scale)
        self.floor = twin.floor

    @property
    def table(self) -> FrequencyTable:
        """The wrapped twin's table."""
        return self.twin.table

    def stage(self, workload: Any, levels: Levels) -> _Cost:
        """Scaled stage cost: time x latency_scale, power x power_scale."""
        c = self.twin.stage(workload, levels)
        t = c.latency_s * self.ls
        p = c.power_w * self.ps
        return _Cost(t, p * t, p)

    def idle(self, duration_s: float, levels: Levels) -> _Cost:
        """Waiting at ``levels`` with the power scale applied."""
        p = self.idle_power_w(levels)
        return _Cost(duration_s, p * duration_s, p)

    def idle_power_w(self, levels: Levels) -> float:
        """Idle power at ``levels`` with the power scale applied."""
        return self.twin.idle_power_w(levels) * self.ps

    def ramp(self, route: Any, levels: Levels) -> tuple[float, float]:
        """The stock governors' ramp-up, scaled like every stage."""
        late_s, late_j = self.twin.ramp(route, levels)
        return late_s * self.ls, late_j * self.ls * self.ps


class FixedCloud:
    """A cloud whose tail latency is the recording's median (same for every offloaded tail)."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = float(latency_s)

    def tail_latency_s(self, workload: Any) -> float:
        """The measured median, or 0 for an empty tail."""
        return self.latency_s if workload is not None and workload.layers else 0.0


def telemetry_fields(
    out: FrameOutcome,
    device: str,
    table: FrequencyTable,
    frame_seq: int,
    temperature_c: float = math.nan,
    board: BoardReading | None = None,
) -> dict[str, Any]:
    """The ``dvfo_msgs/Telemetry`` fields of one frame (header excluded), e.g. to record a bag.

    Without ``board`` the frame is the twin's: clocks are the table's at the action's levels. With
    ``board`` (``backend: sysfs``) the clocks, rails, temperature and utilisation are the board's;
    stage times, power and energy are whatever ``out`` carries (measured by
    :class:`~dvfo_core.edge_pipeline.MeasuredAccountant`). ``missing`` names every field left
    without a value (:func:`~dvfo_core.device.meter.missing_fields`).
    """
    lv = out.action.levels
    fields: dict[str, Any] = {
        "frame_seq": frame_seq,
        "device": device,
        "backend": "twin",
        "cpu_khz": int(table.cpu_khz[lv.cpu]),
        "gpu_hz": int(table.gpu_hz[lv.gpu]),
        "emc_hz": int(table.emc_hz[lv.emc]),
        "power_w": out.power_w,
        "rail_names": [],
        "rail_power_w": [],
        "temperature_c": temperature_c,
        "cpu_util": math.nan,
        "gpu_util": math.nan,
        "emc_util": math.nan,
        "bandwidth_mbps": out.mbps,
        "rtt_ms": out.rtt_ms,
        "xi": out.action.xi,
        "split": out.action.split if out.action.xi > 0 else "",
        "payload_bytes": int(out.payload_bytes),
        "head_ms": out.head_s * 1e3,
        "edge_tail_ms": out.edge_tail_s * 1e3,
        "transmit_ms": out.transmit_s * 1e3,
        "cloud_ms": out.cloud_s * 1e3,
        "latency_ms": out.latency_s * 1e3,
        "energy_j": out.energy_j,
        "gap_ms": out.gap_s * 1e3,
        "deadline_missed": out.deadline_missed,
    }
    if board is not None:
        fields.update(
            backend="sysfs",
            cpu_khz=board.cpu_khz,
            gpu_hz=board.gpu_hz,
            emc_hz=board.emc_hz,
            rail_names=list(board.rails_w),
            rail_power_w=[float(v) for v in board.rails_w.values()],
            temperature_c=board.temperature_c,
            cpu_util=board.cpu_util,
            gpu_util=board.gpu_util,
            emc_util=board.emc_util,
        )
    fields["missing"] = missing_fields(fields)
    return fields
