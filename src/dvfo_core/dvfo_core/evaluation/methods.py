"""The compared methods by name and the controllers for a run.

Learned methods (``dvfo``, ``dvfs_only_drl``, ``drldo``) are defined in
:mod:`~dvfo_core.learning.learned`; the fixed baselines in :mod:`~dvfo_core.evaluation.baselines`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dvfo_core.errors import ConfigError
from dvfo_core.evaluation.baselines import AppealNet, CloudOnly, EdgeOnlyDefault, EdgeOnlyMax, Neurosurgeon
from dvfo_core.evaluation.controllers import Controller, PolicyController
from dvfo_core.evaluation.oracle import Oracle
from dvfo_core.learning.learned import LEARNED, learned_routes
from dvfo_core.learning.policy import Policy
from dvfo_core.world.actions import ActionTable
from dvfo_core.world.build import World

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


def check_methods(names: Sequence[str]) -> list[str]:
    """Validate method names (``all`` expands to :data:`METHODS`)."""
    if not names or list(names) == ["all"]:
        return list(METHODS)
    bad = [n for n in names if n not in METHODS]
    if bad:
        raise ConfigError(f"unknown method(s) {', '.join(bad)} (known: {', '.join(METHODS)})")
    return list(names)


def unavailable(world: World, name: str) -> str | None:
    """Why ``name`` cannot run on ``world`` (missing data), or None."""
    if name == "appealnet" and "appeal" not in world.extras:
        return "no per-image confidence data for this model (needs its fine-tuned checkpoint)"
    return None


def build_controllers(
    world: World,
    names: Sequence[str],
    policies: Mapping[str, Policy],
    oracle_table: ActionTable,
    shield: bool = True,
    charge_decisions: bool = True,
) -> list[Controller]:
    """Controllers for ``names``; learned methods need their policy in ``policies`` and decide under
    the link shield unless ``shield`` is false (:mod:`~dvfo_core.learning.shield`); with
    ``charge_decisions`` false their decision time is on no frame's path.

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
        elif name == "oracle":
            out.append(Oracle(oracle_table))
        elif name in LEARNED:
            policy = policies.get(name)
            if policy is None:
                raise ConfigError(f"no policy for learned method {name}")
            policy.check(world.device, world.twin.table, world.model)
            # a policy runs under the scheme it was trained with (a blocking-trained dvfo stays blocking)
            concurrent = bool(policy.meta.training.get("concurrent", LEARNED[name].concurrent))
            out.append(
                PolicyController(
                    name,
                    policy,
                    learned_routes(world, name),
                    concurrent,
                    LEARNED[name].gap,
                    shield,
                    charge_decisions,
                )
            )
        else:
            raise ConfigError(f"unknown method {name}")
    return out
