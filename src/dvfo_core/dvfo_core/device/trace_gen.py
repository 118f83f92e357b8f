"""Generate the shipped bandwidth traces in ``config/traces`` deterministically from a seed.

Run ``python -m dvfo_core.device.trace_gen [--out DIR] [--seed 2306]``. The steady traces match the
paper's shaped links (0.5, 2 and 8 Mbps); ``wifi-fades`` is an 8 Mbps Wi-Fi uplink with short deep
fades (a two-state Markov chain over log-normal jitter); ``lte-like`` is a slowly wandering LTE uplink
(AR(1) in log bandwidth) with a higher, jittery RTT.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from dvfo_core.device.network import BandwidthTrace, traces_dir

DEFAULT_SEED = 2306


def steady(mbps: float, rtt_ms: float = 20.0, length_s: float = 60.0) -> BandwidthTrace:
    """A constant link sampled every second (a file users can edit)."""
    t = np.arange(0.0, length_s, 1.0)
    return BandwidthTrace(t, np.full_like(t, mbps), np.full_like(t, rtt_ms), name=f"steady-{mbps:g}mbps")


def wifi_fades(seed: int = DEFAULT_SEED, length_s: float = 300.0, step_s: float = 0.1) -> BandwidthTrace:
    """8 Mbps mean Wi-Fi with fades to ~0.3-1 Mbps lasting ~0.5-3 s."""
    rng = np.random.default_rng(seed)
    n = int(length_s / step_s)
    good = 8.0 * np.exp(rng.normal(0.0, 0.15, n))
    fade = rng.uniform(0.3, 1.0, n)
    state = np.zeros(n, dtype=bool)
    p_enter, p_leave = step_s / 12.0, step_s / 1.5  # a fade every ~12 s lasting ~1.5 s
    for i in range(1, n):
        state[i] = (rng.random() >= p_leave) if state[i - 1] else (rng.random() < p_enter)
    mbps = np.where(state, fade, good)
    rtt = np.where(state, 60.0, 12.0) * np.exp(rng.normal(0.0, 0.2, n))
    return BandwidthTrace(np.arange(n) * step_s, mbps, rtt, name="wifi-fades")


def lte_like(seed: int = DEFAULT_SEED, length_s: float = 600.0, step_s: float = 1.0) -> BandwidthTrace:
    """An LTE uplink wandering around ~3 Mbps (0.5-12 Mbps), RTT ~50 ms with jitter."""
    rng = np.random.default_rng(seed + 1)
    n = int(length_s / step_s)
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = 0.95 * x[i - 1] + rng.normal(0.0, 0.18)
    mbps = np.clip(3.0 * np.exp(x), 0.5, 12.0)
    rtt = 50.0 + 15.0 * np.abs(rng.normal(0.0, 1.0, n))
    return BandwidthTrace(np.arange(n) * step_s, mbps, rtt, name="lte-like")


def generate(out: Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write every shipped trace into ``out`` and return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    traces = [steady(0.5), steady(2.0), steady(8.0), wifi_fades(seed), lte_like(seed)]
    paths = []
    for tr in traces:
        path = out / f"{tr.name}.csv"
        tr.save(path)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: regenerate the traces."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="output directory (default: config/traces)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args(argv)
    for p in generate(args.out or traces_dir(), args.seed):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
