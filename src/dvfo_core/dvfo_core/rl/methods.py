"""The compared methods by name: how each learned one is trained, and the controllers for a run.

Learned methods (one :class:`~dvfo_core.rl.policy.Policy` each per device/model):

=================  ===============================  =====================  =================
method             routes                           actions                decisions
=================  ===============================  =====================  =================
``dvfo``           SCA-ranked secondary channels    clocks x xi levels     thinking-while-moving
``dvfs_only_drl``  full local inference             clocks (xi = 0)        blocking
``drldo``          unranked channels (no SCA)       clocks x xi levels     blocking
=================  ===============================  =====================  =================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dvfo_core.errors import ConfigError
from dvfo_core.rl.actions import ActionTable
from dvfo_core.rl.baselines import AppealNet, CloudOnly, EdgeOnlyDefault, EdgeOnlyMax, Neurosurgeon
from dvfo_core.rl.controllers import Controller, PolicyController
from dvfo_core.rl.env import World
from dvfo_core.rl.frame_sim import RouteSource
from dvfo_core.rl.oracle import Oracle
from dvfo_core.rl.policy import Policy

#: Every method ``dvfo eval`` compares, in report order.
METHODS = (
    "dvfo",
    "oracle",
    "edge_only_max",
    "edge_only_default",
    "cloud_only",
    "neurosurgeon",
    "dvfs_only_drl",
    "appealnet",
    "drldo",
)
#: Methods available on request (``--methods``), not part of the default comparison.
EXTRA_METHODS = ("oracle_all",)


@dataclass(frozen=True)
class LearnedSpec:
    """How a learned method differs from DVFO."""

    routes: str  #: ``dvfo`` (SCA), ``local`` or ``no_sca``
    local_only: bool  #: action table restricted to xi = 0
    concurrent: bool  #: thinking-while-moving (else blocking)


LEARNED: dict[str, LearnedSpec] = {
    "dvfo": LearnedSpec("dvfo", False, True),
    "dvfs_only_drl": LearnedSpec("local", True, False),
    "drldo": LearnedSpec("no_sca", False, False),
}


def learned_routes(world: World, method: str) -> RouteSource:
    """The routes a learned method runs frames on."""
    spec = LEARNED[method]
    if spec.routes == "dvfo":
        return world.routes
    if spec.routes == "local":
        return world.local
    if "no_sca" not in world.extras:
        raise ConfigError(f"{world.model}/{world.split}: the split profile has no no-SCA routes for drldo")
    return world.extras["no_sca"]


def learned_table(world: World, method: str, **sizes: int) -> ActionTable:
    """The action table a learned method chooses from."""
    return world.table(xi=(0.0,) if LEARNED[method].local_only else None, **sizes)


def check_methods(names: Sequence[str]) -> list[str]:
    """Validate method names (``all`` expands to :data:`METHODS`)."""
    if not names or list(names) == ["all"]:
        return list(METHODS)
    bad = [n for n in names if n not in METHODS + EXTRA_METHODS]
    if bad:
        raise ConfigError(f"unknown method(s) {', '.join(bad)} (known: {', '.join(METHODS + EXTRA_METHODS)})")
    return list(names)


def unavailable(world: World, name: str) -> str | None:
    """Why ``name`` cannot run on ``world`` (missing data), or None."""
    if name == "appealnet" and "appeal" not in world.extras:
        return "no per-image confidence data for this model (needs its fine-tuned checkpoint)"
    return None


def build_controllers(
    world: World, names: Sequence[str], policies: Mapping[str, Policy], oracle_table: ActionTable
) -> list[Controller]:
    """Controllers for ``names``; learned methods need their policy in ``policies``.

    Methods :func:`unavailable` on ``world`` are left out (the caller reports why).
    """
    simple = {
        "edge_only_max": EdgeOnlyMax,
        "edge_only_default": EdgeOnlyDefault,
        "cloud_only": CloudOnly,
        "neurosurgeon": Neurosurgeon,
        "appealnet": AppealNet,
    }
    out: list[Controller] = []
    for name in names:
        if unavailable(world, name):
            continue
        if name in simple:
            out.append(simple[name]())
        elif name in ("oracle", "oracle_all"):
            out.append(Oracle(oracle_table, all_routes=name == "oracle_all"))
        elif name in LEARNED:
            policy = policies.get(name)
            if policy is None:
                raise ConfigError(f"no policy for learned method {name}")
            policy.check(world.device, world.twin.table, world.model)
            # a policy runs under the scheme it was trained with (a blocking-trained dvfo stays blocking)
            concurrent = bool(policy.meta.training.get("concurrent", LEARNED[name].concurrent))
            out.append(PolicyController(name, policy, learned_routes(world, name), concurrent))
        else:
            raise ConfigError(f"unknown method {name}")
    return out
