"""One frame for many clock settings at once: :func:`~dvfo_core.world.frame.simulate_frame`, vectorised.

The oracle searches every route x every clock setting x every gap policy for every frame; calling
the scalar composition thousands of times per frame would take minutes per scenario. This module
computes the same formulas, in the same order, over numpy arrays of clock settings (a test holds
it equal to the scalar composition), so the search costs a few vector operations per route.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dvfo_core.device.base import Levels
from dvfo_core.world.frame import ACTUATION_S, STOCK_DOWN_S, GapPolicy, radio_tail_j
from dvfo_core.world.routes import Route


@dataclass(frozen=True)
class _RouteArrays:
    head_s: np.ndarray
    head_j: np.ndarray
    tail_s: np.ndarray
    tail_j: np.ndarray
    idle_w: np.ndarray
    ramp_s: np.ndarray
    ramp_j: np.ndarray
    rescue_s: np.ndarray
    rescue_j: np.ndarray
    cloud_s: float


class FrameBatch:
    """Per-route arrays over a fixed list of clock settings of one world."""

    def __init__(self, world: Any, levels: Sequence[Levels]) -> None:
        self.world = world
        self.levels = list(levels)
        twin = world.twin
        self.floor_w = twin.idle_power_w(twin.floor)
        self._routes: dict[int, tuple[Route, _RouteArrays]] = {}

    def _arrays(self, route: Route) -> _RouteArrays:
        hit = self._routes.get(id(route))
        if hit is None:
            twin = self.world.twin
            head = [twin.stage(route.head, lv) for lv in self.levels]
            tail = [twin.stage(route.edge_tail, lv) for lv in self.levels]
            ramp = [twin.ramp(route, lv) for lv in self.levels]
            rescue = [twin.stage(route.rescue, lv) for lv in self.levels]
            arrays = _RouteArrays(
                head_s=np.array([c.latency_s for c in head]),
                head_j=np.array([c.energy_j for c in head]),
                tail_s=np.array([c.latency_s for c in tail]),
                tail_j=np.array([c.energy_j for c in tail]),
                idle_w=np.array([twin.idle_power_w(lv) for lv in self.levels]),
                ramp_s=np.array([r[0] for r in ramp]),
                ramp_j=np.array([r[1] for r in ramp]),
                rescue_s=np.array([c.latency_s for c in rescue]),
                rescue_j=np.array([c.energy_j for c in rescue]),
                cloud_s=self.world.cloud.tail_latency_s(route.cloud) if route.cloud is not None else 0.0,
            )
            hit = (route, arrays)  # keep the route alive so its id stays unique
            self._routes[id(route)] = hit
        return hit[1]

    def evaluate(
        self, network: Any, route: Route, t_s: float, gap: GapPolicy
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(energy_j, latency_s)`` per clock setting of a frame starting at ``t_s`` (no decision time)."""
        a = self._arrays(route)
        period = self.world.period_s
        stock = gap is GapPolicy.STOCK and period > 0
        ramp_s = a.ramp_s if stock else np.zeros_like(a.head_s)
        ramp_j = a.ramp_j if stock else np.zeros_like(a.head_s)
        head_end = t_s + 0.0 + ramp_s + a.head_s
        offloads = route.offloads and route.payload_bytes > 0
        if offloads:
            transmit, radio = self._send(network, route.payload_bytes, head_end)
        else:
            transmit = radio = np.zeros_like(a.head_s)
        remote = transmit + a.cloud_s if route.offloads else np.zeros_like(a.head_s)
        wait = np.maximum(0.0, remote - a.tail_s)
        pre = 0.0 + ramp_s + a.head_s
        latency = pre + np.maximum(a.tail_s, remote)
        compute_j = a.head_j + a.tail_j
        deadline = self.world.cost.deadline_s
        if route.offloads and np.isfinite(deadline):
            give_up = np.maximum(pre + a.tail_s, deadline - a.rescue_s)  # frame.give_up_time
            rescued = pre + remote > give_up
            wait = np.where(rescued, give_up - (pre + a.tail_s), wait)
            latency = np.where(rescued, give_up + a.rescue_s, latency)
            compute_j = np.where(rescued, compute_j + a.rescue_j, compute_j)
        idle_j = a.idle_w * (wait + 0.0) + ramp_j
        gap_s = np.maximum(0.0, period - latency)
        gap_j = _gap_energy(a.idle_w, self.floor_w, gap_s, gap)
        if offloads:
            radio = radio + np.array([radio_tail_j(network, g) if g > 0 else 0.0 for g in gap_s])
        energy = compute_j + idle_j + radio + gap_j
        return energy, latency

    @staticmethod
    def _send(network: Any, nbytes: float, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Transfer time and radio energy for each start time (:meth:`NetworkModel.transfer_many`)."""
        time_s, energy_j, _, _ = network.transfer_many(nbytes, starts)
        return time_s, energy_j


def _gap_energy(p_hold: np.ndarray, p_floor: float, gap_s: np.ndarray, policy: GapPolicy) -> np.ndarray:
    """:func:`~dvfo_core.world.frame.gap_energy_j` over arrays."""
    if policy is GapPolicy.HOLD:
        return p_hold * gap_s
    if policy is GapPolicy.DROP:
        dropped = p_hold * 2 * ACTUATION_S + p_floor * (gap_s - 2 * ACTUATION_S)
        return np.where(gap_s <= 2 * ACTUATION_S, p_hold * gap_s, dropped)
    hold_s = np.minimum(gap_s, STOCK_DOWN_S)
    return p_hold * hold_s + p_floor * (gap_s - hold_s)


