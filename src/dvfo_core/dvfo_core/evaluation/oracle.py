"""The oracle: per-frame exhaustive search with perfect knowledge of the coming bandwidth.

For every frame it evaluates, on the *true* link at the frame's time and with no decision time,
every route any compared method takes (DVFO's routes at every split depth, the plain model,
cloud-only, each Neurosurgeon split point, DRLDO's unranked channels) at every clock setting any
method holds (DVFO's table, the top, stock-governor and lowest levels) under every gap policy
(held, dropped, stock governors), and keeps the cheapest.

A frame's cost depends only on its own choice (energy is charged per camera period, the gap
included), so this per-frame minimum is a lower bound, frame by frame, on every method whose
routes and clocks are in the set — all of them (a test checks it on every scenario). Routes whose
accuracy is more than the world's accuracy budget below the plain model are left out, as for
DVFO, so the bound holds for every method that keeps accuracy; AppealNet's per-image routes, which
run another model, are not in it.
"""

from __future__ import annotations

import math

import numpy as np

from dvfo_core.device.base import Levels
from dvfo_core.evaluation.controllers import Choice, Controller, FrameContext
from dvfo_core.world.actions import ActionTable, FrameAction
from dvfo_core.world.batch import FrameBatch
from dvfo_core.world.build import MAX_ACCURACY_DROP, World, admissible
from dvfo_core.world.frame import GapPolicy
from dvfo_core.world.routes import INPUT, Route


class Oracle(Controller):
    """Exhaustive per-frame search over routes x clocks x gap policies on the true link."""

    name = "oracle"

    def __init__(self, table: ActionTable, max_accuracy_drop: float = MAX_ACCURACY_DROP) -> None:
        self.table = table
        self.max_accuracy_drop = max_accuracy_drop

    def reset(self, world: World, eta: float) -> None:
        """Enumerate the candidates once."""
        self.world, self.eta = world, eta
        tm = world.twin_model
        levels = {Levels(c, g, e) for c in self.table.cpu for g in self.table.gpu for e in self.table.emc}
        levels |= {tm.max_levels(), tm.default_levels(), tm.min_levels()}
        self.levels = sorted(levels, key=lambda lv: (lv.cpu, lv.gpu, lv.emc))
        self.batch = FrameBatch(world, self.levels)
        self.routes = self._routes(world)
        self._steady: tuple[object, Choice] | None = None  #: a steady link's choice is every frame's

    def _routes(self, world: World) -> list[tuple[str, float, Route]]:
        """``(split, xi, route)`` of every admissible route of every method."""
        ref = world.local.accuracy
        out: list[tuple[str, float, Route]] = [("", 0.0, world.local)]
        for split, routes in world.routes.splits.items():
            out += [(split, xi, routes.route(split, xi)) for xi in routes.xis]
        if world.routes.cloud is not None:
            out.append((INPUT, 1.0, world.routes.cloud))
        no_sca = world.extras.get("no_sca")
        if no_sca is not None:
            for split, routes in no_sca.splits.items():
                out += [(split, xi, routes.route(split, xi)) for xi in routes.xis]
        out += [("", 1.0, r) for r in world.extras.get("splits", {}).values()]
        return [c for c in out if admissible(c[2].accuracy, ref, self.max_accuracy_drop)]

    def decide(self, ctx: FrameContext) -> Choice:
        """Evaluate every candidate on the true link; keep the cheapest."""
        steady = len(ctx.network.trace.times_s) == 1
        if steady and self._steady is not None and self._steady[0] is ctx.network:
            return self._steady[1]
        choice = self._search(ctx)
        if steady:
            self._steady = (ctx.network, choice)
        return choice

    def _search(self, ctx: FrameContext) -> Choice:
        w = self.world
        cost = w.cost
        best: tuple[float, str, float, Route, int, GapPolicy] | None = None
        for split, xi, route in self.routes:
            for gap in GapPolicy:
                energy, latency = self.batch.evaluate(ctx.network, route, ctx.t_s, gap)
                c = cost.costs(energy, latency, self.eta)
                i = int(np.argmin(c))
                if best is None or c[i] < best[0]:
                    best = (float(c[i]), split, xi, route, i, gap)
        assert best is not None and math.isfinite(best[0])
        _, split, xi, route, i, gap = best
        lv = self.levels[i]
        return Choice(FrameAction(lv.cpu, lv.gpu, lv.emc, xi, split), route, gap=gap)
