"""The links an agent trains on: synthetic bandwidth processes and recorded traces.

Each episode draws one link from a mixture (:class:`LinkSampler`):

* ``constant`` — a steady link, bandwidth log-uniform in ``[min_mbps, max_mbps]``, RTT uniform;
* ``walk`` — an AR(1) random walk in log bandwidth (random mean, volatility and persistence, 0.5 s
  steps), RTT following it loosely;
* recorded traces (CSV files or rosbag replays) started at a random offset.

The shipped evaluation traces (``config/traces/wifi-fades.csv``, ``lte-like.csv``) come from other
processes (a two-state fading chain and a slow LTE wander) and are *not* in the default training
mix, which is what the generalisation experiment in docs/results.md relies on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dvfo_core.device.network import BandwidthTrace, NetworkModel, RadioModel
from dvfo_core.errors import ConfigError

SYNTHETIC_KINDS = ("constant", "walk")


def constant_link(rng: np.random.Generator, min_mbps: float, max_mbps: float) -> BandwidthTrace:
    """A steady link with log-uniform bandwidth and an RTT in 5–80 ms."""
    mbps = float(np.exp(rng.uniform(np.log(min_mbps), np.log(max_mbps))))
    rtt = float(rng.uniform(5.0, 80.0))
    return BandwidthTrace.constant(mbps, rtt, name=f"constant-{mbps:.2f}mbps")


def walk_link(
    rng: np.random.Generator, min_mbps: float, max_mbps: float, length_s: float = 120.0, step_s: float = 0.5
) -> BandwidthTrace:
    """An AR(1) random walk in log bandwidth, clipped to ``[min_mbps, max_mbps]``."""
    n = int(length_s / step_s)
    lo, hi = np.log(min_mbps), np.log(max_mbps)
    mean = rng.uniform(lo, hi)
    phi = rng.uniform(0.8, 0.99)
    sigma = rng.uniform(0.05, 0.5)
    x = np.empty(n)
    x[0] = mean
    noise = rng.normal(0.0, sigma, n)
    for i in range(1, n):
        x[i] = mean + phi * (x[i - 1] - mean) + noise[i]
    mbps = np.exp(np.clip(x, lo, hi))
    rtt = np.clip(rng.uniform(10.0, 40.0) * (np.exp(mean) / mbps) ** 0.3, 5.0, 300.0)
    return BandwidthTrace(np.arange(n) * step_s, mbps, rtt, name="walk")


@dataclass
class LinkSampler:
    """Draws ``(network, start_s)`` per episode: ``(rng) -> (NetworkModel, float)``."""

    kinds: Sequence[str] = SYNTHETIC_KINDS
    traces: Sequence[BandwidthTrace] = field(default_factory=tuple)
    min_mbps: float = 0.25
    max_mbps: float = 16.0
    radio: RadioModel | None = None

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in SYNTHETIC_KINDS]
        if unknown:
            raise ConfigError(
                f"unknown synthetic link kind(s) {unknown} (known: {', '.join(SYNTHETIC_KINDS)})"
            )
        if not self.kinds and not self.traces:
            raise ConfigError("the link sampler needs synthetic kinds or traces")
        if not 0 < self.min_mbps < self.max_mbps:
            raise ConfigError(f"bad bandwidth range {self.min_mbps}..{self.max_mbps} Mbps")

    def __call__(self, rng: np.random.Generator) -> tuple[NetworkModel, float]:
        """One episode's link and start time."""
        choices = [*self.kinds, *range(len(self.traces))]
        pick = choices[int(rng.integers(len(choices)))]
        if pick == "constant":
            return NetworkModel(constant_link(rng, self.min_mbps, self.max_mbps), self.radio), 0.0
        if pick == "walk":
            return NetworkModel(walk_link(rng, self.min_mbps, self.max_mbps), self.radio), 0.0
        trace = self.traces[int(pick)]
        return NetworkModel(trace, self.radio), float(rng.uniform(0.0, trace.period_s))
