"""The per-frame decision interface every method implements, and the learned-policy controller.

A :class:`Controller` is asked, before each frame, for the clocks and the route of that frame, and
is told the outcome afterwards (its telemetry). The evaluation harness (:mod:`~dvfo_core.evaluation.evaluate`)
runs every method through this interface on the same frames, at the same trace times.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from dvfo_core.learning.observation import FrameTelemetry, ObservationBuilder
from dvfo_core.learning.policy import Policy
from dvfo_core.learning.shield import LinkShield
from dvfo_core.world.actions import FrameAction
from dvfo_core.world.build import World
from dvfo_core.world.frame import FrameOutcome, GapPolicy, RouteSource


@dataclass(frozen=True)
class FrameContext:
    """What a method is given before frame ``k`` (the oracle alone may look at ``network``)."""

    k: int
    t_s: float
    eta: float
    network: Any


@dataclass(frozen=True)
class Choice:
    """A method's decision for one frame."""

    action: FrameAction
    routes: RouteSource
    decision_s: float = 0.0  #: governor time on the frame's critical path
    safe_fallback: bool = False
    gap: GapPolicy = GapPolicy.HOLD  #: what the clocks do between the result and the next frame


class Controller(ABC):
    """One method under evaluation."""

    name: str = ""

    def reset(self, world: World, eta: float) -> None:  # noqa: B027 - optional hook
        """Start a new run on ``world`` with energy weight ``eta``."""

    @abstractmethod
    def decide(self, ctx: FrameContext) -> Choice:
        """The action and routes for frame ``ctx.k``."""

    def observe(self, outcome: FrameOutcome, temperature_c: float) -> None:  # noqa: B027 - optional hook
        """The telemetry of a finished frame."""


class PolicyController(Controller):
    """Runs a :class:`Policy` the way the governor node does.

    Thinking-while-moving (``concurrent=True``): the decision for frame k is taken while frame k-1
    runs, from the telemetry of frame k-2 and the action in progress; its time is hidden unless it
    outlasts the frame in progress. Blocking: decided at frame k's start from frame k-1's telemetry,
    the decision time is added to frame k's latency. Decision time is measured on this CPU. Either
    way frame 0's action is decided before the first frame, as the governor node does on activation.
    With ``shield`` (the default, as in the governor node) the routes whose answer cannot come back
    by the deadline on the observed link are not chosen (:mod:`~dvfo_core.learning.shield`).
    ``charge_decisions=False`` puts no decision time on any frame's path (a sensitivity check).
    """

    def __init__(
        self,
        name: str,
        policy: Policy,
        routes: RouteSource | None = None,
        concurrent: bool = True,
        gap: GapPolicy = GapPolicy.DROP,
        shield: bool = True,
        charge_decisions: bool = True,
    ) -> None:
        self.name = name
        self.use_shield = shield
        self.charge_decisions = charge_decisions
        self.gap = gap
        self.policy = policy
        self._routes = routes
        self.concurrent = concurrent
        self.decision_times_s: list[float] = []
        self.fallbacks = 0

    def reset(self, world: World, eta: float) -> None:
        """Fresh observation state; routes default to the world's DVFO routes."""
        self.routes = self._routes if self._routes is not None else world.routes
        table = self.policy.meta.table
        self.shield = LinkShield(table, self.routes, world.cost.deadline_s) if self.use_shield else None
        self.builder = ObservationBuilder(self.policy.meta.context, self.policy.meta.table)
        self.eta = eta
        self.in_progress = self.policy.safe_action
        self._held: FrameTelemetry | None = None
        self._last_latency_s = 0.0
        self.decision_times_s = []
        self.fallbacks = 0

    def decide(self, ctx: FrameContext) -> Choice:
        """Build the observation, run the policy, time it."""
        t0 = time.perf_counter()
        obs = self.builder.vector(self.eta, self.in_progress, 0.0)
        last = self.builder.last
        mask = self.shield.mask(last.bandwidth_mbps, last.rtt_ms) if self.shield and last else None
        decision = self.policy.act(obs, mask)
        dt = time.perf_counter() - t0
        self.decision_times_s.append(dt)
        self.fallbacks += int(decision.safe_fallback)
        if ctx.k == 0 or not self.charge_decisions:
            on_path = 0.0  # decided before the first frame starts (the node: on activation)
        else:
            on_path = max(0.0, dt - self._last_latency_s) if self.concurrent else dt
        self.in_progress = decision.action
        return Choice(decision.action, self.routes, on_path, decision.safe_fallback, self.gap)

    def observe(self, outcome: FrameOutcome, temperature_c: float) -> None:
        """Blocking: use it now. Concurrent: it becomes visible one decision later."""
        tel = FrameTelemetry.from_outcome(outcome, temperature_c)
        self._last_latency_s = outcome.latency_s
        if not self.concurrent:
            self.builder.update(tel)
            return
        if self._held is not None:
            self.builder.update(self._held)
        self._held = tel
