"""The governor's decision logic, free of middleware: telemetry in, one action per frame out.

Thinking while moving: the governor decides as soon as a frame's telemetry arrives, while the next
frame is already running on the action in progress; the head never waits for it. The observation
carries the action in progress, so the policy knows what the edge is doing while it thinks.

Methods the node graph can execute (every method here is a choice of clocks and route on the
head's model): ``dvfo`` and ``dvfs_only_drl`` (learned policies), ``edge_only_max``
(jetson_clocks) and ``edge_only_default`` (the stock governors). The other compared methods need
other models and run in ``dvfo eval`` on the twin. Between frames the learned governors drop the
clocks (:data:`GAP_POLICY`).

Link shield: a learned governor does not offload a frame whose payload cannot reach the cloud and
come back by the deadline on the link as last measured (:mod:`~dvfo_core.learning.shield`).

Safe setting: when the policy cannot decide (NaN or missing telemetry, a policy that does not fit
the board) the governor sends the policy's documented safe action (full local inference at the
power mode's top clocks) and flags ``safe_fallback``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dvfo_core.errors import ConfigError
from dvfo_core.learning.observation import FrameTelemetry, ObservationBuilder
from dvfo_core.learning.policy import Policy, shipped_policy
from dvfo_core.learning.shield import LinkShield
from dvfo_core.world.actions import FrameAction
from dvfo_core.world.build import World
from dvfo_core.world.frame import ACTUATION_S, GapPolicy

NODE_METHODS = ("dvfo", "dvfs_only_drl", "edge_only_max", "edge_only_default")
LEARNED = ("dvfo", "dvfs_only_drl")
#: What each method does with the clocks between frames (the head's twin accounting charges it).
GAP_POLICY = {
    "dvfo": GapPolicy.DROP,
    "dvfs_only_drl": GapPolicy.DROP,
    "edge_only_max": GapPolicy.HOLD,
    "edge_only_default": GapPolicy.STOCK,
}


@dataclass(frozen=True)
class GovernorDecision:
    """One decision with its timing."""

    action: FrameAction
    decision_ms: float
    safe_fallback: bool


class Governor:
    """Chooses the clocks and ``xi`` of the next frame."""

    def __init__(
        self,
        world: World,
        method: str,
        eta: float,
        policy_path: str = "",
        runnable: Callable[[str, float], bool] | None = None,
        shield: bool = True,
    ) -> None:
        self.world = world
        #: which routes ``(split, xi)`` the head can run (None: every route of the policy's table)
        self.runnable = runnable
        self.routes: Any = None
        self.use_shield = shield
        self.shield: LinkShield | None = None
        self.eta = eta
        self.method = ""
        self.policy: Policy | None = None
        self.builder: ObservationBuilder | None = None
        top = world.twin_model.max_levels()
        self.safe_action = FrameAction(top.cpu, top.gpu, top.emc, 0.0)
        self.in_progress = self.safe_action
        self.set_method(method, policy_path)

    def set_method(self, method: str, policy_path: str = "") -> None:
        """Switch method (and policy file); raises :class:`ConfigError` when it cannot run here."""
        if method not in NODE_METHODS:
            raise ConfigError(
                f"method {method!r} cannot run in the node graph; choose {', '.join(NODE_METHODS)}"
            )
        policy = builder = shield = None
        if method in LEARNED:
            w = self.world
            if policy_path:
                path = Path(policy_path)
                if not path.is_file():
                    raise ConfigError(f"no policy file {path} (train one: dvfo train --out {path})")
            elif method == "dvfo":
                path = shipped_policy(w.device, w.model, w.power_mode)
            else:
                raise ConfigError(f"{method} has no shipped policy: give one with the policy parameter")
            policy = Policy.load(path)
            policy.check(self.world.device, self.world.twin.table, self.world.model)
            builder = ObservationBuilder(policy.meta.context, policy.meta.table)
            self.safe_action = policy.safe_action
            self.routes = policy.route_mask(self.runnable) if self.runnable is not None else None
            if self.use_shield:
                shield = LinkShield(policy.meta.table, w.routes, w.cost.deadline_s)
        self.method, self.policy, self.builder, self.shield = method, policy, builder, shield

    def observe(self, tel: FrameTelemetry) -> None:
        """The telemetry of a finished frame."""
        if self.builder is not None:
            self.builder.update(tel)

    def decide(self, elapsed_s: float = 0.0) -> GovernorDecision:
        """The action of the next frame (timed)."""
        t0 = time.perf_counter()
        if self.method in ("edge_only_max", "edge_only_default"):
            twin = self.world.twin_model
            lv = twin.max_levels() if self.method == "edge_only_max" else twin.default_levels()
            action, safe = FrameAction(lv.cpu, lv.gpu, lv.emc, 0.0), False
        else:
            assert self.policy is not None and self.builder is not None
            if not math.isfinite(self.eta):
                action, safe = self.policy.safe_action, True
            else:
                obs = self.builder.vector(self.eta, self.in_progress, elapsed_s)
                decision = self.policy.act(obs, self._route_mask())
                action, safe = decision.action, decision.safe_fallback
        self.in_progress = action
        return GovernorDecision(action, (time.perf_counter() - t0) * 1e3, safe)

    def _route_mask(self) -> Any:
        """The routes the head can run, less those the link shield rules out for the next frame."""
        last = self.builder.last if self.builder is not None else None
        if self.shield is None or last is None:
            return self.routes
        reachable = self.shield.mask(last.bandwidth_mbps, last.rtt_ms)
        return reachable if self.routes is None else reachable & self.routes


class PeriodEstimator:
    """The camera period from the frames' stamps: the median of the last deltas (a dropped frame or a
    late one does not move it)."""

    def __init__(self, window: int = 15) -> None:
        self.stamps: list[int] = []
        self.window = window

    def add(self, stamp_ns: int) -> None:
        """A frame's stamp (older or repeated stamps are ignored)."""
        if not self.stamps or stamp_ns > self.stamps[-1]:
            self.stamps.append(stamp_ns)
            del self.stamps[: -self.window]

    @property
    def period_ns(self) -> int | None:
        """The camera period, once two frames have been seen."""
        if len(self.stamps) < 2:
            return None
        deltas = sorted(b - a for a, b in zip(self.stamps, self.stamps[1:], strict=False))
        return deltas[len(deltas) // 2]


class GapScheduler:
    """When a DROP governor lowers the clocks after a result and raises them for the next frame.

    After a result the clocks go to the floor when the gap to the next frame's start (by the
    estimated camera period) is longer than two actuations
    (:data:`~dvfo_core.world.frame.ACTUATION_S`), and the next frame's clocks are applied one
    actuation before it starts, as the twin charges it (:func:`~dvfo_core.world.frame.gap_energy_j`).
    """

    def __init__(self, window: int = 15) -> None:
        self.camera = PeriodEstimator(window)

    @property
    def period_ns(self) -> int | None:
        """The camera period, once two frames have been seen."""
        return self.camera.period_ns

    def on_result(self, stamp_ns: int, now_ns: int) -> int | None:
        """A frame stamped ``stamp_ns`` finished at ``now_ns``: the time to raise the clocks again,
        or None when the gap is too short to drop them."""
        self.camera.add(stamp_ns)
        period = self.period_ns
        if period is None:
            return None
        raise_at = stamp_ns + period - int(ACTUATION_S * 1e9)
        return raise_at if raise_at - now_ns > int(ACTUATION_S * 1e9) else None
