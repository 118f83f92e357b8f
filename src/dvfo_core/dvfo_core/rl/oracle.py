"""The oracle: per-frame exhaustive search with perfect knowledge of the coming bandwidth.

For every frame it simulates every candidate on the *true* link at the frame's time and keeps the
cheapest; decision time is zero.

* ``oracle`` searches DVFO's own action space: every clock setting of the action table x every
  admissible xi level. It is the lower bound of what a DVFO policy with that table can reach, the
  reference for "cost within 10 % of the oracle".
* ``oracle_all`` (``all_routes=True``) also tries every route any method in the harness uses — full
  local inference, each split point (Neurosurgeon's routes), cloud-only — at those clocks and at the
  top, default and lowest levels: a lower bound, per frame, on every method whose clocks are in that
  set. It shows what DVFO's action space leaves on the table.
"""

from __future__ import annotations

from dvfo_core.device.base import Levels
from dvfo_core.rl.actions import ActionTable, FrameAction
from dvfo_core.rl.controllers import Choice, Controller, FrameContext
from dvfo_core.rl.env import World
from dvfo_core.rl.frame_sim import Route, simulate_frame


class Oracle(Controller):
    """Exhaustive per-frame search over clocks x routes on the true link."""

    def __init__(self, table: ActionTable, all_routes: bool = False) -> None:
        self.table = table
        self.all_routes = all_routes
        self.name = "oracle_all" if all_routes else "oracle"

    def reset(self, world: World, eta: float) -> None:
        """Enumerate the candidates once."""
        self.world, self.eta = world, eta
        tm = world.twin_model
        levels = {Levels(c, g, e) for c in self.table.cpu for g in self.table.gpu for e in self.table.emc}
        routes: list[tuple[float, Route]] = [(xi, world.routes.route(xi)) for xi in self.table.xi]
        if self.all_routes:
            levels |= {tm.max_levels(), tm.default_levels(), tm.min_levels()}
            routes.append((0.0, world.local))
            routes += [(1.0, r) for r in world.extras.get("splits", {}).values()]
            if "cloud_only" in world.extras:
                routes.append((1.0, world.extras["cloud_only"]))
        self.levels = sorted(levels, key=lambda lv: (lv.cpu, lv.gpu, lv.emc))
        self.routes = routes

    def decide(self, ctx: FrameContext) -> Choice:
        """Simulate every candidate on the true link; keep the cheapest."""
        w = self.world
        best: Choice | None = None
        best_cost = float("inf")
        for xi, route in self.routes:
            for lv in self.levels:
                act = FrameAction(lv.cpu, lv.gpu, lv.emc, xi)
                out = simulate_frame(w.twin, ctx.network, w.cloud, route, act, ctx.t_s, w.cost.deadline_s)
                c = w.cost.cost(out.energy_j, out.latency_s, self.eta)
                if c < best_cost:
                    best, best_cost = Choice(act, route), c
        assert best is not None
        return best
