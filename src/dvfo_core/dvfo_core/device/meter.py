"""A frame's board telemetry measured on a real Jetson: energy from the INA3221 rails, clocks,
temperature and utilisation read back from sysfs, and the names of the readings that are missing.

Energy (:class:`BoardMeter`): the rails are sampled at every :meth:`~BoardMeter.mark` (the head marks
a frame's start and its result) and every ``period_s`` by a small sampler thread in between; the
energy of a window is the trapezoid rule over the samples inside it
(:func:`~dvfo_core.device.energy.integrate`),
both ends being marks. Filter and error:

* each sample is what the INA3221 driver reports at that moment: the chip's own average over its
  conversion window (a few ms on the Jetson device trees), so the series is already low-pass
  filtered; nothing else is smoothed;
* between two samples ``h`` seconds apart power is taken as linear. A step of ``dP`` watts anywhere
  inside that interval is mis-attributed by at most ``dP * h / 2`` joules (e.g. 5 W and the 20 ms
  default: 50 mJ per step); a burst shorter than the chip's window or between samples is missed;
* ``mean power = energy / window``; rail powers are per-rail means over the same samples;
* a sample whose total is NaN (a file that could not be read) is left out; a window whose end
  samples are NaN, or that has fewer than two samples, has NaN energy.

Missing readings: a Telemetry field with no value carries NaN (0 for the clock fields, which are
unsigned integers; no entries for the rails) and its name in the message's ``missing`` list.
:func:`missing_fields` derives that list from the values themselves, so the field names of
``dvfo_msgs/Telemetry`` are the one list of names.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dvfo_core.device.base import PowerSample
from dvfo_core.device.energy import integrate, rail_energy
from dvfo_core.errors import DeviceError

#: ``dvfo_msgs/Telemetry`` fields that may lack a value (names as in the .msg file).
CLOCK_FIELDS = ("cpu_khz", "gpu_hz", "emc_hz")
OPTIONAL_FIELDS = (
    *CLOCK_FIELDS,
    "power_w",
    "rail_power_w",
    "temperature_c",
    "cpu_util",
    "gpu_util",
    "emc_util",
    "energy_j",
)


def missing_fields(fields: Mapping[str, Any]) -> list[str]:
    """Names of the :data:`OPTIONAL_FIELDS` in ``fields`` without a value: NaN, a 0 clock, no rails."""
    out = []
    for name in OPTIONAL_FIELDS:
        value = fields.get(name)
        if name in CLOCK_FIELDS:
            gone = not value
        elif name == "rail_power_w":
            gone = value is None or len(value) == 0
        else:
            gone = value is None or math.isnan(float(value))
        if gone:
            out.append(name)
    return out


@dataclass(frozen=True)
class BoardReading:
    """What the board itself said about one frame (sysfs backend)."""

    energy_j: float = math.nan  #: integrated from the total rail over the window
    power_w: float = math.nan  #: energy / window
    window_s: float = math.nan  #: time from the start mark to the end mark
    rails_w: dict[str, float] = field(default_factory=dict)  #: mean power of each rail
    cpu_khz: int = 0  #: read back (0: not readable)
    gpu_hz: int = 0
    emc_hz: int = 0
    temperature_c: float = math.nan
    cpu_util: float = math.nan
    gpu_util: float = math.nan
    emc_util: float = math.nan


class BoardMeter:
    """Samples the rails at marks and every ``period_s``; integrates windows; reads the rest at the end.

    Args:
        telemetry: the sysfs reader (:class:`~dvfo_core.device.sysfs.telemetry.Telemetry`): it offers
            ``power()``, ``clocks()``, ``temperature_c()``, ``cpu_util()``, ``gpu_util()``.
        period_s: sampler-thread period (0: samples only at marks).
        clock: the time base of the samples (monotonic seconds; tests pass a fake one).
        keep_s: samples older than this behind the newest are dropped (a frame never lasts longer).
    """

    def __init__(self, telemetry: Any, period_s: float = 0.02, clock: Callable[[], float] = time.monotonic,
                 keep_s: float = 60.0) -> None:
        if period_s < 0:
            raise DeviceError(f"sampling period must be >= 0, got {period_s}")
        self.telemetry, self.period_s, self.clock, self.keep_s = telemetry, period_s, clock, keep_s
        self.samples: list[PowerSample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.telemetry.cpu_util()  # the first call only sets the reference of the next one

    # -- sampling ----------------------------------------------------------------------------
    def mark(self) -> float:
        """Sample the rails now; returns the sample's time (a window end point)."""
        total, rails = self.telemetry.power()
        t = self.clock()
        with self._lock:
            self.samples.append(PowerSample(t, total, rails))
            cut = t - self.keep_s
            if self.samples[0].t_s < cut:
                self.samples = [s for s in self.samples if s.t_s >= cut]
        return t

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.mark()

    def start(self) -> BoardMeter:
        """Start the sampler thread (nothing when ``period_s`` is 0 or it runs already)."""
        if self.period_s > 0 and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="dvfo-board-meter", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the sampler thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> BoardMeter:
        self.mark()
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.mark()

    # -- windows -----------------------------------------------------------------------------
    def window(self, t0: float, t1: float) -> list[PowerSample]:
        """The readable samples from ``t0`` to ``t1`` (both included)."""
        with self._lock:
            return [s for s in self.samples if t0 <= s.t_s <= t1 and not math.isnan(s.total_w)]

    def energy_j(self, t0: float, t1: float) -> float:
        """Energy in J from mark ``t0`` to mark ``t1`` (trapezoid rule; NaN when not covered)."""
        got = self.window(t0, t1)
        if len(got) < 2 or got[0].t_s != t0 or got[-1].t_s != t1:
            return math.nan
        return integrate(got)

    @property
    def energy_total_j(self) -> float:
        """Energy over every sample kept (the span of a ``with`` block)."""
        with self._lock:
            t0, t1 = (self.samples[0].t_s, self.samples[-1].t_s) if self.samples else (0.0, 0.0)
        return self.energy_j(t0, t1)

    def reading(self, t0: float, t1: float) -> BoardReading:
        """The board's figures for the window from mark ``t0`` to mark ``t1``, read back now."""
        span = t1 - t0
        energy = self.energy_j(t0, t1)
        rails = {}
        if span > 0:
            got = self.window(t0, t1)
            names = self.telemetry.rail_names
            per_rail = rail_energy(got) if len(got) > 1 else {}
            rails = {n: per_rail.get(n, math.nan) / span for n in names}
        cpu_khz, gpu_hz, emc_hz = self.telemetry.clocks()
        tel = self.telemetry
        return BoardReading(
            energy_j=energy,
            power_w=energy / span if span > 0 else math.nan,
            window_s=span,
            rails_w=rails,
            cpu_khz=cpu_khz,
            gpu_hz=gpu_hz,
            emc_hz=emc_hz,
            temperature_c=tel.temperature_c(),
            cpu_util=tel.cpu_util(),
            gpu_util=tel.gpu_util(),
            emc_util=tel.emc_util(),
        )


#: The discovery topic (``Discovery.missing`` lines start with it) behind each optional field.
_TOPIC = {"cpu_khz": "cpu", "cpu_util": "cpu", "gpu_hz": "gpu", "gpu_util": "gpu", "emc_hz": "emc",
          "power_w": "power", "rail_power_w": "power", "energy_j": "power", "temperature_c": "temperature"}
_NOT_MEASURED = {"emc_util": "not measured: the unit of the actmon mc_all counter is not documented"}


class MissingReadings:
    """Which telemetry readings are missing, each said once, with the reason discovery gave.

    Args:
        discovery_missing: :attr:`~dvfo_core.device.sysfs.discovery.Discovery.missing`.
    """

    def __init__(self, discovery_missing: list[str]) -> None:
        self.discovery_missing = list(discovery_missing)
        self.reported: list[str] = []  #: every name said so far, in order
        self.last: list[str] = []  #: missing in the latest frame

    def reason(self, name: str) -> str:
        """Why ``name`` has no value (discovery's words where it has some)."""
        if name in _NOT_MEASURED:
            return _NOT_MEASURED[name]
        topic = _TOPIC.get(name, name)
        said = [m for m in self.discovery_missing if m.startswith(f"{topic}:")]
        return "; ".join(said) if said else "unreadable or unavailable during the frame"

    def update(self, missing: list[str]) -> list[str]:
        """Take one frame's ``missing`` list; returns the names never reported before."""
        self.last = list(missing)
        new = [n for n in missing if n not in self.reported]
        self.reported += new
        return new

    def describe(self, names: list[str]) -> str:
        """``name (reason)`` for each of ``names``, names sharing a reason grouped."""
        groups: dict[str, list[str]] = {}
        for n in names:
            groups.setdefault(self.reason(n), []).append(n)
        return "; ".join(f"{', '.join(ns)} ({why})" for why, ns in groups.items())
