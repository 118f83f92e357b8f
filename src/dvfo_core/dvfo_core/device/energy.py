"""Energy from a series of power readings (trapezoid rule), shared by the sysfs backend and the twin."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dvfo_core.device.base import PowerSample
from dvfo_core.errors import DeviceError


def _series(samples: Sequence[PowerSample]) -> tuple[np.ndarray, np.ndarray]:
    t = np.array([s.t_s for s in samples], dtype=float)
    p = np.array([s.total_w for s in samples], dtype=float)
    if np.any(np.diff(t) < 0):
        raise DeviceError("power samples must be in time order")
    if not np.all(np.isfinite(p)):
        raise DeviceError("power samples contain a non-finite total_w")
    return t, p


def integrate(samples: Sequence[PowerSample]) -> float:
    """Energy in J over the span of ``samples`` (trapezoid rule; 0 for fewer than two samples)."""
    if len(samples) < 2:
        return 0.0
    t, p = _series(samples)
    return float(np.sum((p[1:] + p[:-1]) * np.diff(t)) / 2.0)


def energy_between(samples: Sequence[PowerSample], t0: float, t1: float) -> float:
    """Energy in J between ``t0`` and ``t1``, power interpolated linearly between samples.

    Raises :class:`DeviceError` when the interval is not covered by the samples.
    """
    if t1 < t0:
        raise DeviceError(f"interval end {t1} is before its start {t0}")
    t, p = _series(samples)
    if len(t) < 2 or t0 < t[0] - 1e-12 or t1 > t[-1] + 1e-12:
        raise DeviceError(f"power samples do not cover [{t0}, {t1}]")
    total = 0.0
    for i in range(len(t) - 1):  # segment by segment: a step (two samples at one time) is exact
        a, b = max(t[i], t0), min(t[i + 1], t1)
        if b <= a:
            continue
        span = t[i + 1] - t[i]
        pa = p[i] + (p[i + 1] - p[i]) * (a - t[i]) / span
        pb = p[i] + (p[i + 1] - p[i]) * (b - t[i]) / span
        total += (pa + pb) * (b - a) / 2.0
    return float(total)


def rail_energy(samples: Sequence[PowerSample]) -> dict[str, float]:
    """Energy in J per rail over the span of ``samples`` (trapezoid rule)."""
    if len(samples) < 2:
        return {}
    t = np.array([s.t_s for s in samples], dtype=float)
    names = sorted({k for s in samples for k in s.rails_w})
    out = {}
    for name in names:
        p = np.array([s.rails_w.get(name, 0.0) for s in samples], dtype=float)
        out[name] = float(np.sum((p[1:] + p[:-1]) * np.diff(t)) / 2.0)
    return out
