"""The link shield: a learned governor never offloads a frame whose answer cannot come back in time.

A route that offloads is only worth its radio energy when the cloud's answer can arrive by the
frame's deadline. Sending ``payload_bytes`` over a link of bandwidth ``B`` and round-trip time
``RTT`` takes at least ``8 x payload_bytes / B + RTT``, before any edge or cloud compute. When that
alone exceeds the deadline, the answer is never used — the deadline guard finishes the frame on the
edge (or it misses) — and the frame costs the route's edge work, its radio energy and the rescue:
strictly more than the plain local model. The shield removes such routes from the policy's choice,
using only the link estimate the governor already observes (the last frame's telemetry).

This is *shielding* in the sense of safe reinforcement learning (Alshiekh et al., "Safe
Reinforcement Learning via Shielding", AAAI 2018): a run-time filter that blocks actions a known
model of the environment proves unsafe, leaving the learned choice among the rest untouched. The
bound is a necessary condition (it ignores compute), so the shield never blocks a route that could
have met the deadline on the estimated link. It applies to every learned method that can offload
(DVFO and DRLDO), in evaluation and in the governor node alike.
"""

from __future__ import annotations

import math

import numpy as np

from dvfo_core.world.actions import ActionTable
from dvfo_core.world.frame import RouteSource


class LinkShield:
    """Masks, per decision, the routes whose payload cannot reach the cloud and return by the deadline."""

    def __init__(self, table: ActionTable, routes: RouteSource, deadline_s: float) -> None:
        resolved = [routes.route(split, xi) for split, xi in table.routes]
        self.payload_bits = np.array([8.0 * r.payload_bytes if r.offloads else 0.0 for r in resolved])
        self.offloads = np.array([r.offloads for r in resolved])
        self.deadline_s = deadline_s

    def mask(self, bandwidth_mbps: float, rtt_ms: float) -> np.ndarray:
        """Boolean mask over the table's routes: True where the answer can still come back in time.

        A link measured dead (bandwidth <= 0) allows no offloading route. A missing estimate (NaN)
        masks nothing: the policy then takes its safe setting, which offloads nothing, anyway.
        """
        if math.isnan(bandwidth_mbps) or math.isnan(rtt_ms):
            return np.ones(len(self.offloads), dtype=bool)
        if bandwidth_mbps <= 0:
            return ~self.offloads
        round_trip_s = self.payload_bits / (bandwidth_mbps * 1e6) + max(rtt_ms, 0.0) * 1e-3
        return ~self.offloads | (round_trip_s < self.deadline_s)
