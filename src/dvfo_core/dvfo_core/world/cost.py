"""The weighted cost every method is judged by, and the agent's reward is the negative of.

``cost = eta * E / E_ref + (1 - eta) * T / T_ref + miss_penalty * [T > deadline]``

``E_ref`` and ``T_ref`` are the energy and latency of full local inference at the power mode's
maximum clocks (``jetson_clocks``), so ``edge_only_max`` costs exactly 1 when it meets its
deadline. ``eta`` is the robot's run-time energy weight in [0, 1]; the policy takes it as an input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dvfo_core.errors import ConfigError

#: Cost added for a frame that misses its deadline (one full-local frame's worth).
DEFAULT_MISS_PENALTY = 1.0


def check_eta(eta: float) -> float:
    """``eta`` as a float in [0, 1]; raises :class:`ConfigError` otherwise."""
    eta = float(eta)
    if not 0.0 <= eta <= 1.0 or math.isnan(eta):
        raise ConfigError(f"eta must be in [0, 1], got {eta}")
    return eta


@dataclass(frozen=True)
class CostModel:
    """Normalisation and deadline of one device/model pairing."""

    e_ref_j: float  #: energy per frame of full local inference at max clocks
    t_ref_s: float  #: latency of full local inference at max clocks
    deadline_s: float  #: frame latency budget
    miss_penalty: float = DEFAULT_MISS_PENALTY

    def __post_init__(self) -> None:
        if not (self.e_ref_j > 0 and self.t_ref_s > 0 and self.deadline_s > 0):
            raise ConfigError(
                f"cost references must be positive (E_ref={self.e_ref_j}, T_ref={self.t_ref_s}, "
                f"deadline={self.deadline_s})"
            )

    def cost(self, energy_j: float, latency_s: float, eta: float) -> float:
        """Weighted, normalised cost of one frame (lower is better)."""
        return float(self.costs(np.asarray(energy_j), np.asarray(latency_s), eta))

    def costs(self, energy_j: np.ndarray, latency_s: np.ndarray, eta: float) -> np.ndarray:
        """:meth:`cost` of many frames (or candidate actions) at once."""
        missed = np.where(latency_s > self.deadline_s, self.miss_penalty, 0.0)
        return eta * energy_j / self.e_ref_j + (1.0 - eta) * latency_s / self.t_ref_s + missed
