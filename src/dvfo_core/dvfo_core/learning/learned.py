"""The learned methods and how each differs from DVFO: routes, action table, decision scheme.

=================  =================================  =========================  =====================
method             routes                             actions                    decisions
=================  =================================  =========================  =====================
``dvfo``           local, SCA channel splits at every  clocks x routes            thinking-while-moving
                   profiled depth, image to the cloud
``dvfs_only_drl``  the plain local model              clocks                     blocking
``drldo``          local, unranked channels (no SCA)  clocks x xi (default split) blocking
                   at the default split
=================  =================================  =========================  =====================

All three are DVFS governors: between frames they drop the clocks to the floor
(:attr:`~dvfo_core.world.frame.GapPolicy.DROP`), charged with the actuation delay.
"""

from __future__ import annotations

from dataclasses import dataclass

from dvfo_core.errors import ConfigError
from dvfo_core.world.actions import ActionTable
from dvfo_core.world.build import World
from dvfo_core.world.frame import GapPolicy
from dvfo_core.world.routes import LOCAL, RouteCatalog


@dataclass(frozen=True)
class LearnedSpec:
    """How a learned method differs from DVFO."""

    routes: str  #: ``dvfo`` (SCA), ``local`` or ``no_sca``
    concurrent: bool  #: thinking-while-moving (else blocking)
    gap: GapPolicy = GapPolicy.DROP


LEARNED: dict[str, LearnedSpec] = {
    "dvfo": LearnedSpec("dvfo", True),
    "dvfs_only_drl": LearnedSpec("local", False),
    "drldo": LearnedSpec("no_sca", False),
}


def learned_routes(world: World, method: str) -> RouteCatalog:
    """The routes a learned method runs frames on."""
    spec = LEARNED[method].routes
    if spec in ("dvfo", "local"):
        return world.routes
    if "no_sca" not in world.extras:
        raise ConfigError(f"{world.model}/{world.split}: the split profile has no no-SCA routes for drldo")
    return world.extras["no_sca"]


def learned_table(world: World, method: str, **sizes: int) -> ActionTable:
    """The action table a learned method chooses from."""
    spec = LEARNED[method].routes
    if spec == "local":
        return world.table(routes=[(LOCAL, 0.0)], **sizes)
    if spec == "no_sca":
        xis = [xi for split, xi in world.route_keys if split == world.split]
        return world.table(routes=[(LOCAL, 0.0)] + [(world.split, xi) for xi in xis], **sizes)
    return world.table(**sizes)
