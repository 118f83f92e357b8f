"""Building a :class:`~dvfo_core.rl.env.World` from names: board profile, split profile, cloud model.

The routes come from the model's shipped split profile (:mod:`~dvfo_core.rl.routes`). Only xi levels
whose measured accuracy is within ``max_accuracy_drop`` of full local inference are offered to the
agent (all of them when the profile has no accuracy), at most ``n_xi`` of them. ``E_ref``/``T_ref``
are full local inference (plain model) at the power mode's maximum clocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dvfo_core.device.cloud import CloudModel
from dvfo_core.device.twin import TwinModel
from dvfo_core.errors import ConfigError
from dvfo_core.rl.actions import spread
from dvfo_core.rl.cost import CostModel
from dvfo_core.rl.env import World
from dvfo_core.rl.frame_sim import CachedCloud, CachedTwin, Route
from dvfo_core.rl.observation import ObsContext
from dvfo_core.rl.routes import (
    ProfileRoutes,
    accuracy_of,
    cloud_only_route,
    local_route,
    split_point_routes,
)
from dvfo_core.split import profile as split_profile

#: Default frame deadline (and camera period) as a multiple of full local latency at max clocks.
DEADLINE_FACTOR = 2.0
#: Largest accuracy drop (fraction, 0.01 = one point) an xi level may cost to be offered to DVFO.
MAX_ACCURACY_DROP = 0.01
#: Most xi levels offered to the agent (spread over the admissible ones, 0 and the largest kept).
N_XI = 5


@dataclass(frozen=True)
class WorldSpec:
    """Names and knobs a world is built from (``dvfo train`` / ``dvfo eval`` arguments)."""

    device: str
    model: str
    split: str | None = None
    power_mode: str | None = None
    deadline_ms: float | None = None
    cloud: str = "h100"
    profile_path: str | None = None
    max_accuracy_drop: float = MAX_ACCURACY_DROP
    xi_levels: tuple[float, ...] | None = None  #: None: admissible profiled levels, at most ``n_xi``
    n_xi: int = N_XI


def load_split_profile(model: str, split: str | None, path: str | Path | None = None) -> Any:
    """The split profile of ``model`` at ``split`` (the zoo's default split, or the only one present)."""
    profiles = split_profile.load_profile(model, path)
    if split is None:
        from dvfo_core.split import zoo

        default = zoo.MODELS[model].default_split if model in zoo.MODELS else None
        split = default if default in profiles else next(iter(profiles))
    if split not in profiles:
        raise ConfigError(f"no split profile for {model} at {split!r} (profiled: {', '.join(profiles)})")
    return profiles[split]


def build_world(spec: WorldSpec, twin: Any = None, cloud: Any = None) -> World:
    """The world of ``spec``; ``twin``/``cloud`` override the board twin and the cloud model (replay)."""
    prof = load_split_profile(spec.model, spec.split, spec.profile_path)
    model = TwinModel(spec.device, mode=spec.power_mode)
    twin = twin if twin is not None else CachedTwin(model)
    cloud = cloud if cloud is not None else CachedCloud(CloudModel.load(spec.cloud))
    routes = ProfileRoutes(prof)
    full_acc = accuracy_of(prof.full_local_accuracy)
    local = local_route(prof)
    ref = twin.stage(local.head, model.max_levels())
    t_ref, e_ref = ref.latency_s, ref.energy_j
    deadline_s = spec.deadline_ms * 1e-3 if spec.deadline_ms is not None else DEADLINE_FACTOR * t_ref
    if deadline_s <= 0:
        raise ConfigError(f"deadline must be > 0 ms, got {spec.deadline_ms}")
    if spec.xi_levels is not None:
        xis = tuple(spec.xi_levels)
    else:
        admissible = admissible_xis(routes, full_acc, spec.max_accuracy_drop)
        xis = tuple(admissible[i] for i in spread(len(admissible), spec.n_xi))
    for xi in xis:
        routes.route(xi)  # raises for a level the profile does not have
    names = [sp.split for sp in prof.split_points]
    position = names.index(prof.split) / max(1, len(names) - 1) if prof.split in names else 0.5
    context = ObsContext(e_ref, t_ref, deadline_s, prof.full_local.flops / 1e9, position)
    return World(
        device=spec.device,
        power_mode=model.power_mode.name,
        model=spec.model,
        split=prof.split,
        twin=twin,
        twin_model=model,
        cloud=cloud,
        routes=routes,
        local=local,
        cost=CostModel(e_ref, t_ref, deadline_s),
        context=context,
        xi_levels=tuple(xis),
        period_s=deadline_s,
        extras={
            "cloud_only": cloud_only_route(prof),
            "splits": split_point_routes(prof),
            "no_sca": ProfileRoutes(prof, sca=False),
            "profile": prof,
        },
    )


def appeal_edge_route(model: str) -> Route:
    """The plain model ``model`` on the edge (AppealNet's light edge model), from its shipped profile."""
    return local_route(load_split_profile(model, None), f"appealnet:{model}")


def admissible_xis(routes: ProfileRoutes, full_accuracy: float, max_drop: float) -> tuple[float, ...]:
    """Profiled xi levels whose fused accuracy is within ``max_drop`` of ``full_accuracy`` (xi=0 always)."""
    out = []
    for xi in routes.xis:
        acc = routes.route(xi).accuracy
        if (
            xi == 0.0
            or math.isnan(full_accuracy)
            or math.isnan(acc)
            or acc >= full_accuracy - max_drop - 1e-9
        ):
            out.append(xi)
    return tuple(out)
