"""The digital twin of one Jetson board: latency and energy of a workload at a clock setting.

:class:`TwinModel` is a pure cost model (latency from :mod:`~dvfo_core.device.perf_model`, power
from :mod:`~dvfo_core.device.power_model`, figures from the board YAML). :class:`TwinDevice` wraps
it as a :class:`~dvfo_core.device.base.DeviceBackend` with a clock, an energy meter and a
first-order thermal model, for the nodes running without a Jetson.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from dvfo_core.device.base import DeviceBackend, FrequencyTable, Levels, PowerSample
from dvfo_core.device.perf_model import (
    Clocks,
    StageTiming,
    frame_timing,
    layer_timings,
    stage_timing,
)
from dvfo_core.device.power_model import rail_power
from dvfo_core.device.profiles import BoardProfile, PowerMode, load_profile
from dvfo_core.errors import DeviceError
from dvfo_core.workload import Workload

#: What the stock governors settle at under a sustained DNN load (see docs/device.md): schedutil
#: asks for ``1.25 * util * f_max``; the framework thread keeps a core ~60-65 % busy, so the CPU
#: sits at the lowest level >= 0.8 * f_max; nvhost_podgov and the EMC actmon governor are driven
#: to their top level by a GPU kept busy and by its memory traffic.
DEFAULT_CPU_FRACTION = 0.8
DEFAULT_GPU_FRACTION = 1.0
DEFAULT_EMC_FRACTION = 1.0
#: Samples kept in :attr:`TwinDevice.timeline` (two per stage).
TIMELINE_LEN = 20_000


@dataclass(frozen=True)
class StageCost:
    """Latency, energy and mean power of one stage on the edge (a workload, or waiting)."""

    latency_s: float
    energy_j: float
    power_w: float  #: mean total power over the stage
    rails_w: dict[str, float] = field(default_factory=dict)  #: mean power per twin rail
    util: dict[str, float] = field(default_factory=dict)  #: cpu/gpu/emc utilisation in [0, 1]

    def __add__(self, other: StageCost) -> StageCost:
        """Two stages back to back: latencies and energies add, powers are time-weighted."""
        t = self.latency_s + other.latency_s
        e = self.energy_j + other.energy_j

        def mix(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
            if t <= 0:
                return {k: a.get(k, 0.0) + b.get(k, 0.0) for k in {*a, *b}}
            return {
                k: (a.get(k, 0.0) * self.latency_s + b.get(k, 0.0) * other.latency_s) / t for k in {*a, *b}
            }

        return StageCost(t, e, e / t if t > 0 else 0.0, mix(self.rails_w, other.rails_w),
                         mix(self.util, other.util))


def _fraction_level(freqs: tuple[int, ...], fraction: float) -> int:
    target = fraction * freqs[-1]
    for i, f in enumerate(freqs):
        if f >= target - 1e-6:
            return i
    return len(freqs) - 1


class TwinModel:
    """Latency and power of work on one board in one power mode.

    Args:
        profile: a :class:`BoardProfile` or a board name (``jetson-nano``, ...).
        mode: the nvpmodel power mode (the board's default when ``None``); the table is clipped to it.
        seed: seed of the measurement noise (deterministic under a seed).
        noise: relative standard deviation of the noise on latency and power (0 = exact).
        precision: ``fp32`` or ``fp16``: which GPU peak rate applies. Bytes come from the workload,
            so profile it in the dtype it runs in.
    """

    def __init__(
        self,
        profile: BoardProfile | str,
        mode: str | None = None,
        seed: int | None = None,
        noise: float = 0.0,
        precision: str = "fp32",
    ) -> None:
        self.profile = load_profile(profile) if isinstance(profile, str) else profile
        self.power_mode: PowerMode = self.profile.mode(mode)
        if noise < 0:
            raise DeviceError(f"noise must be >= 0, got {noise}")
        self.noise = float(noise)
        self.precision = precision
        self._rng = np.random.default_rng(seed)
        self._table = self.profile.table(self.power_mode.name)

    @property
    def table(self) -> FrequencyTable:
        """The power mode's frequency table."""
        return self._table

    def clocks(self, levels: Levels) -> Clocks:
        """Frequencies in Hz of ``levels``; raises :class:`DeviceError` for a level outside the table."""
        t = self._table
        for dom, idx, freqs in (("cpu", levels.cpu, t.cpu_khz), ("gpu", levels.gpu, t.gpu_hz),
                                ("emc", levels.emc, t.emc_hz)):
            if not isinstance(idx, (int, np.integer)) or not 0 <= idx < len(freqs):
                raise DeviceError(
                    f"{self.profile.name} ({self.power_mode.name}): {dom} level {idx!r} "
                    f"is not in 0..{len(freqs) - 1}"
                )
        return Clocks(t.cpu_khz[levels.cpu] * 1e3, float(t.gpu_hz[levels.gpu]), float(t.emc_hz[levels.emc]))

    def max_levels(self) -> Levels:
        """The power mode's top level in every domain (what ``jetson_clocks`` pins)."""
        cpu, gpu, emc = self._table.shape
        return Levels(cpu - 1, gpu - 1, emc - 1)

    def min_levels(self) -> Levels:
        """The lowest level in every domain."""
        return Levels(0, 0, 0)

    def default_levels(self) -> Levels:
        """Where schedutil + nvhost_podgov + the EMC governor settle under a sustained DNN load."""
        t = self._table
        return Levels(
            _fraction_level(t.cpu_khz, DEFAULT_CPU_FRACTION),
            _fraction_level(t.gpu_hz, DEFAULT_GPU_FRACTION),
            _fraction_level(t.emc_hz, DEFAULT_EMC_FRACTION),
        )

    def timing(self, workload: Workload, levels: Levels) -> StageTiming:
        """Noise-free timing and domain activity of ``workload`` at ``levels``."""
        return stage_timing(self.profile, workload, self.clocks(levels), self.precision)

    def _noisy(self, latency_s: float, rails: dict[str, float]) -> tuple[float, dict[str, float]]:
        if self.noise <= 0:
            return latency_s, rails
        latency_s *= math.exp(self._rng.normal(0.0, self.noise))
        scale = max(0.0, 1.0 + self._rng.normal(0.0, self.noise))
        return latency_s, {k: v * scale for k, v in rails.items()}

    def _cost(self, timing: StageTiming, clocks: Clocks) -> StageCost:
        if timing.latency_s <= 0:
            return StageCost(0.0, 0.0, 0.0, {}, {})
        u_cpu, u_gpu, u_emc = timing.utilisation(self.profile, clocks)
        rails = rail_power(self.profile, clocks, self.power_mode.online_cpus, u_cpu, u_gpu, u_emc)
        latency, rails = self._noisy(timing.latency_s, rails)
        power = sum(rails.values())
        return StageCost(latency, power * latency, power, rails, {"cpu": u_cpu, "gpu": u_gpu, "emc": u_emc})

    def stage(self, workload: Workload, levels: Levels) -> StageCost:
        """Cost of running ``workload`` on the edge at ``levels``."""
        clocks = self.clocks(levels)
        return self._cost(stage_timing(self.profile, workload, clocks, self.precision), clocks)

    def layer_costs(self, workload: Workload, levels: Levels) -> tuple[list[StageCost], StageCost]:
        """Per-layer costs of ``workload`` and the stage's CPU-only overhead.

        They add up to :meth:`stage` (exactly without noise: power is linear in utilisation).
        """
        clocks = self.clocks(levels)
        if not workload.layers:
            return [], StageCost(0.0, 0.0, 0.0, {}, {})
        timings = layer_timings(self.profile, workload, clocks, self.precision)
        layers = [self._cost(t, clocks) for t in timings]
        return layers, self._cost(frame_timing(self.profile, clocks), clocks)

    def idle_power(self, levels: Levels) -> dict[str, float]:
        """Rail powers in W while the edge waits at ``levels`` (no work, clocks held)."""
        return rail_power(self.profile, self.clocks(levels), self.power_mode.online_cpus)

    def idle(self, duration_s: float, levels: Levels) -> StageCost:
        """Cost of the edge waiting ``duration_s`` (for the network or the cloud) at ``levels``."""
        if duration_s < 0 or not math.isfinite(duration_s):
            raise DeviceError(f"idle duration must be finite and >= 0, got {duration_s}")
        rails = self.idle_power(levels)
        if self.noise > 0:
            _, rails = self._noisy(0.0, rails)
        power = sum(rails.values())
        return StageCost(duration_s, power * duration_s, power, rails, {"cpu": 0.0, "gpu": 0.0, "emc": 0.0})


class TwinDevice(DeviceBackend):
    """A :class:`DeviceBackend` backed by a :class:`TwinModel`, with a clock, energy and temperature.

    Nodes call :meth:`apply` for the governor's action and :meth:`account` with every
    :class:`StageCost` they simulate; :meth:`sample` reports the power of the last stage accounted
    and a first-order thermal model's temperature.
    """

    backend = "twin"

    def __init__(self, model: TwinModel, levels: Levels | None = None) -> None:
        self.model = model
        self._levels = levels if levels is not None else model.default_levels()
        model.clocks(self._levels)
        self._initial = self._levels
        self.clock_s = 0.0
        self.energy_j = 0.0
        th = model.profile.thermal
        self.temperature_c = th["ambient_c"]
        self._last = model.idle(0.0, self._levels)
        #: piecewise-constant power timeline: a sample at the start and at the end of every stage
        self.timeline: deque[PowerSample] = deque(maxlen=TIMELINE_LEN)

    @property
    def name(self) -> str:
        """Board profile name."""
        return self.model.profile.name

    @property
    def table(self) -> FrequencyTable:
        """The power mode's frequency table."""
        return self.model.table

    def apply(self, levels: Levels) -> None:
        """Set the clocks (validated against the table)."""
        self.model.clocks(levels)
        self._levels = levels

    def current(self) -> Levels:
        """The levels in force now."""
        return self._levels

    def account(self, cost: StageCost) -> None:
        """Advance the twin's clock, energy meter and temperature by one stage."""
        if cost.latency_s < 0 or cost.energy_j < 0:
            raise DeviceError(f"stage cost must be non-negative, got {cost}")
        th = self.model.profile.thermal
        if cost.latency_s > 0:
            steady = th["ambient_c"] + th["r_c_per_w"] * cost.power_w
            decay = math.exp(-cost.latency_s / th["tau_s"])
            self.temperature_c = steady + (self.temperature_c - steady) * decay
        start = self.clock_s
        self.clock_s += cost.latency_s
        self.energy_j += cost.energy_j
        self._last = cost
        if cost.latency_s > 0:
            self.timeline.append(self._sample(cost, start))
            self.timeline.append(self._sample(cost, self.clock_s))

    def wait(self, duration_s: float) -> StageCost:
        """Account ``duration_s`` of waiting at the current levels and return its cost."""
        cost = self.model.idle(duration_s, self._levels)
        self.account(cost)
        return cost

    def sample(self) -> PowerSample:
        """Power of the last stage accounted, the thermal model's temperature, utilisation."""
        return self._sample(self._last, self.clock_s)

    def _sample(self, last: StageCost, t_s: float) -> PowerSample:
        return PowerSample(
            t_s=t_s,
            total_w=last.power_w,
            rails_w=dict(last.rails_w),
            temperature_c=self.temperature_c,
            cpu_util=last.util.get("cpu", float("nan")),
            gpu_util=last.util.get("gpu", float("nan")),
            emc_util=last.util.get("emc", float("nan")),
        )

    def restore(self) -> None:
        """Back to the levels the twin started at."""
        self._levels = self._initial
