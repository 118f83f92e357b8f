"""The governor's environment over the digital twin (gymnasium).

One step is one camera frame. The action is a flat index into the :class:`ActionTable`
(cpu, gpu, emc level, xi); the observation is :mod:`~dvfo_core.learning.observation`'s vector; the reward
is ``-cost`` of the frame the action ran on (:class:`~dvfo_core.world.cost.CostModel`).

Frames arrive at a fixed camera period (``t_k = t0 + k * period``), so every method sees the same
frames at the same points of the bandwidth trace; a frame slower than its deadline is a miss and
pays the miss penalty.

Two control schemes:

* **thinking-while-moving** (``concurrent=True``, DVFO): the action for frame k+1 is chosen while
  frame k runs. The observation then holds the telemetry of frame k-1 (the newest finished one),
  the action in progress (frame k's) and its elapsed/estimated remaining time; in training the
  decision point is drawn in the first half of the frame in progress. Decision time is off the
  critical path.
* **blocking** (``concurrent=False``): the governor observes after frame k-1 finished and decides
  before frame k starts; its decision time ``decision_s`` adds to frame k's latency.

Episodes start with one warm-up frame at the safe setting (the governor has no telemetry yet).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from dvfo_core.device.twin import StageCost, TwinDevice
from dvfo_core.learning.observation import OBS_HIGH, OBS_LOW, OBS_SIZE, FrameTelemetry, ObservationBuilder
from dvfo_core.world.actions import ActionTable, FrameAction
from dvfo_core.world.build import World
from dvfo_core.world.frame import FrameOutcome, GapPolicy, RouteSource

#: ``(rng) -> (network, start_s)``: draws the link an episode runs on.
NetworkSampler = Callable[[np.random.Generator], tuple[Any, float]]


class DvfoEnv(gym.Env):
    """Per-frame DVFS + offload control of one device/model over sampled bandwidth traces."""

    metadata = {"render_modes": []}  # noqa: RUF012 - gymnasium's class attribute

    def __init__(
        self,
        world: World,
        sampler: NetworkSampler,
        table: ActionTable,
        *,
        routes: RouteSource | None = None,
        concurrent: bool = True,
        episode_frames: int = 200,
        eta: float | None = None,
        eta_every: int = 0,
        decision_s: float = 0.0,
        gap: GapPolicy = GapPolicy.DROP,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.world = world
        self.sampler = sampler
        self.table = table
        self.routes = routes if routes is not None else world.routes
        self.concurrent = concurrent
        self.episode_frames = int(episode_frames)
        self.fixed_eta = eta
        self.eta_every = int(eta_every)
        self.decision_s = float(decision_s)
        self.gap = GapPolicy(gap)
        self.action_space = gym.spaces.Discrete(table.size)
        self.observation_space = gym.spaces.Box(OBS_LOW, OBS_HIGH, shape=(OBS_SIZE,), dtype=np.float32)
        self.builder = ObservationBuilder(world.context, table)
        self.safe = table.safe_action
        self._rng = np.random.default_rng(seed)
        self._device = TwinDevice(world.twin_model)
        self.network: Any = None
        self.eta = 0.5
        self._k = 0
        self._t0 = 0.0
        self._in_progress = self.safe
        self._pending: FrameOutcome | None = None
        self.last_outcome: FrameOutcome | None = None

    # ---- helpers ---------------------------------------------------------------------------
    def _t(self, k: int) -> float:
        return self._t0 + k * self.world.period_s

    def _run(self, action: FrameAction, k: int, decision_s: float = 0.0) -> FrameOutcome:
        out = self.world.frame(self.network, self.routes, action, self._t(k), decision_s, self.gap)
        if out.latency_s > 0:
            self._device.account(StageCost(out.latency_s, out.energy_j, out.power_w))
        return out

    def _observe(self, tel_from: FrameOutcome) -> None:
        self.builder.update(FrameTelemetry.from_outcome(tel_from, self._device.temperature_c))

    def _obs(self) -> np.ndarray:
        elapsed = 0.0
        if self.concurrent and self.builder.last is not None:
            # the governor runs at some point of the frame in progress (telemetry delivery jitter):
            # drawn in its first half, so a policy knows what elapsed/remaining mean at run time
            elapsed = float(self._rng.uniform(0.0, 0.5)) * self.builder.last.latency_ms * 1e-3
        return self.builder.vector(self.eta, self._in_progress, elapsed)

    # ---- gymnasium API ---------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Draw a link, an ``eta`` (unless fixed) and run the warm-up frame(s) at the safe setting."""
        super().reset(seed=seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        options = options or {}
        self.network, self._t0 = self.sampler(self._rng)
        eta = options.get("eta", self.fixed_eta)
        self.eta = float(self._rng.uniform(0.0, 1.0)) if eta is None else float(eta)
        self._device = TwinDevice(self.world.twin_model)
        self.builder.reset()
        self._k = 0
        first = self._run(self.safe, 0)
        self._observe(first)
        self._in_progress = self.safe
        self._k = 1
        if self.concurrent:  # frame 1 runs at the safe setting while the first decision is made
            self._pending = self._run(self.safe, 1)
            self._k = 2
        return self._obs(), {"eta": self.eta}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Run the next frame with ``action``; reward is minus its cost."""
        act = self.table.action(int(action))
        if self.concurrent:
            assert self._pending is not None
            self._observe(self._pending)  # the frame in progress has finished: its telemetry arrives
            out = self._run(act, self._k)  # ... and the next one starts with the action decided meanwhile
            self._pending = out
        else:
            out = self._run(act, self._k, self.decision_s)
            self._observe(out)
        self._in_progress = act
        self._k += 1
        self.last_outcome = out
        cost = self.world.cost.cost(out.energy_j, out.latency_s, self.eta)
        if self.eta_every > 0 and self.fixed_eta is None and self._k % self.eta_every == 0:
            self.eta = float(self._rng.uniform(0.0, 1.0))  # the user moves the knob: seen in the next obs
        truncated = self._k >= self.episode_frames + (2 if self.concurrent else 1)
        info = {
            "cost": cost,
            "energy_j": out.energy_j,
            "latency_s": out.latency_s,
            "deadline_missed": out.deadline_missed,
        }
        if out.accuracy == out.accuracy:  # known (a profile without accuracy gives NaN)
            info["accuracy"] = out.accuracy
        return self._obs(), -cost, False, truncated, info
