"""The simulated world of one board, power mode and model, built from names.

Routes come from the model's shipped split profiles (:mod:`~dvfo_core.world.routes`): the plain
local model, DVFO's channel split at every profiled split point, the image to the cloud. Only
routes whose measured accuracy is within ``max_accuracy_drop`` of the plain local model are offered
to the agent, at most ``n_xi`` xi levels per split point. ``E_ref`` is the energy of one camera
period of the plain model at the power mode's maximum clocks held all period (``jetson_clocks``),
``T_ref`` its latency; the camera period (and deadline) defaults to ``2 x T_ref``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvfo_core.device.cloud import CloudModel
from dvfo_core.device.twin import TwinModel
from dvfo_core.errors import ConfigError
from dvfo_core.split import profile_data as split_profile
from dvfo_core.world.actions import ActionTable, FrameAction, RouteKey, spread
from dvfo_core.world.cost import CostModel
from dvfo_core.world.frame import (
    CachedCloud,
    CachedTwin,
    FrameOutcome,
    GapPolicy,
    RouteSource,
    simulate_frame,
)
from dvfo_core.world.routes import (
    INPUT,
    LOCAL,
    ProfileRoutes,
    Route,
    RouteCatalog,
    cloud_only_route,
    local_route,
    split_point_routes,
)

#: Default frame deadline (and camera period) as a multiple of full local latency at max clocks.
DEADLINE_FACTOR = 2.0
#: Largest accuracy drop (fraction, 0.01 = one point) a route may cost to be offered to DVFO.
MAX_ACCURACY_DROP = 0.01
#: Most xi levels offered per split point (spread over the admissible ones, the largest kept).
N_XI = 4


@dataclass(frozen=True)
class ObsContext:
    """The references that scale a device/model's observations (stored in the policy file)."""

    e_ref_j: float
    t_ref_s: float
    deadline_s: float
    model_gflops: float
    split_position: float  #: index of the default split among the model's split points, in [0, 1]

    def to_dict(self) -> dict[str, float]:
        """JSON-friendly form."""
        return {k: float(getattr(self, k)) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObsContext:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: float(data[k]) for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class WorldSpec:
    """Names and knobs a world is built from (``dvfo train`` / ``dvfo eval`` arguments)."""

    device: str
    model: str
    split: str | None = None  #: the default split point (the zoo's default when None)
    power_mode: str | None = None
    deadline_ms: float | None = None
    cloud: str = "h100"
    profile_path: str | None = None
    max_accuracy_drop: float = MAX_ACCURACY_DROP
    xi_levels: tuple[float, ...] | None = None  #: None: admissible profiled levels, at most ``n_xi``
    n_xi: int = N_XI
    splits: tuple[str, ...] | None = None  #: channel-split points offered (None: every profiled one)


@dataclass
class World:
    """Everything fixed for one device / power mode / model (see :func:`build_world`)."""

    device: str
    power_mode: str
    model: str
    split: str  #: the default split point
    twin: Any  #: a :class:`~dvfo_core.world.frame.CachedTwin`
    twin_model: Any  #: the wrapped :class:`~dvfo_core.device.twin.TwinModel`
    cloud: Any  #: a :class:`~dvfo_core.world.frame.CachedCloud`
    routes: RouteCatalog  #: every route DVFO may take
    local: Route  #: the plain model on the edge
    cost: CostModel
    context: ObsContext
    route_keys: tuple[RouteKey, ...]  #: DVFO's admissible routes, in action-table order
    period_s: float  #: camera period (= the deadline unless configured otherwise)
    extras: dict[str, Any] = field(default_factory=dict)  #: baselines' routes, appeal data, profiles

    @property
    def xi_levels(self) -> tuple[float, ...]:
        """The offload shares among DVFO's routes (0 included)."""
        return tuple(sorted({xi for _, xi in self.route_keys}))

    def table(
        self,
        n_cpu: int = 4,
        n_gpu: int = 6,
        n_emc: int = 4,
        routes: Sequence[RouteKey] | None = None,
    ) -> ActionTable:
        """An action table over this device's active power mode (DVFO's routes unless given)."""
        keys = self.route_keys if routes is None else tuple(routes)
        return ActionTable.build(self.twin.table, keys, n_cpu, n_gpu, n_emc)

    def frame(
        self,
        network: Any,
        routes: RouteSource,
        action: FrameAction,
        t_s: float,
        decision_s: float = 0.0,
        gap: GapPolicy = GapPolicy.HOLD,
    ) -> FrameOutcome:
        """One frame with this world's twin, cloud and camera period (see :func:`simulate_frame`)."""
        return simulate_frame(
            self.twin,
            network,
            self.cloud,
            routes,
            action,
            t_s,
            self.cost.deadline_s,
            decision_s,
            self.period_s,
            gap,
        )


def evaluated_modes(profile: Any) -> list[str]:
    """The power modes a board is evaluated and shipped in: its default mode and its max mode."""
    default = profile.mode(None).name
    top = profile.max_mode
    return [default] if top == default else [default, top]


def load_split_profiles(model: str, path: str | Path | None = None) -> dict[str, Any]:
    """Every split profile of ``model`` (the shipped file unless ``path``), keyed by split point."""
    return split_profile.load_profile(model, path)


def load_split_profile(model: str, split: str | None, path: str | Path | None = None) -> Any:
    """The split profile of ``model`` at ``split`` (the zoo's default split, or the only one present)."""
    profiles = load_split_profiles(model, path)
    return profiles[_default_split(model, split, profiles)]


def _default_split(model: str, split: str | None, profiles: dict[str, Any]) -> str:
    if split is None:
        from dvfo_core.split import zoo

        default = zoo.MODELS[model].default_split if model in zoo.MODELS else None
        split = default if default in profiles else next(iter(profiles))
    if split not in profiles:
        raise ConfigError(f"no split profile for {model} at {split!r} (profiled: {', '.join(profiles)})")
    return split


def admissible(accuracy: float, reference: float, max_drop: float) -> bool:
    """True when ``accuracy`` is within ``max_drop`` of ``reference`` (or either is unmeasured)."""
    return math.isnan(reference) or math.isnan(accuracy) or accuracy >= reference - max_drop - 1e-9


def build_world(spec: WorldSpec, twin: Any = None, cloud: Any = None) -> World:
    """The world of ``spec``; ``twin``/``cloud`` override the board twin and the cloud model (replay)."""
    profiles = load_split_profiles(spec.model, spec.profile_path)
    default = _default_split(spec.model, spec.split, profiles)
    names = list(spec.splits) if spec.splits is not None else sorted(profiles, key=_depth(profiles))
    if default not in names:
        names.append(default)
    for name in names:
        if name not in profiles:
            raise ConfigError(
                f"no split profile for {spec.model} at {name!r} (profiled: {', '.join(profiles)})"
            )
    prof = profiles[default]
    model = TwinModel(spec.device, mode=spec.power_mode)
    twin = twin if twin is not None else CachedTwin(model)
    cloud = cloud if cloud is not None else CachedCloud(CloudModel.load(spec.cloud))
    local = local_route(prof)
    cloud_route = cloud_only_route(prof)
    catalog = RouteCatalog(local, {n: ProfileRoutes(profiles[n]) for n in names}, default, cloud_route)
    ref = twin.stage(local.head, model.max_levels())
    t_ref = ref.latency_s
    deadline_s = spec.deadline_ms * 1e-3 if spec.deadline_ms is not None else DEADLINE_FACTOR * t_ref
    if deadline_s <= 0:
        raise ConfigError(f"deadline must be > 0 ms, got {spec.deadline_ms}")
    e_ref = ref.energy_j + twin.idle_power_w(model.max_levels()) * max(0.0, deadline_s - t_ref)
    keys = _dvfo_keys(catalog, names, spec)
    split_names = [sp.split for sp in prof.split_points]
    position = split_names.index(default) / max(1, len(split_names) - 1) if default in split_names else 0.5
    context = ObsContext(e_ref, t_ref, deadline_s, prof.full_local.flops / 1e9, position)
    return World(
        device=spec.device,
        power_mode=model.power_mode.name,
        model=spec.model,
        split=default,
        twin=twin,
        twin_model=model,
        cloud=cloud,
        routes=catalog,
        local=local,
        cost=CostModel(e_ref, t_ref, deadline_s),
        context=context,
        route_keys=keys,
        period_s=deadline_s,
        extras={
            "cloud_only": cloud_route,
            "splits": split_point_routes(prof),
            "no_sca": RouteCatalog(local, {default: ProfileRoutes(prof, sca=False)}, default),
            "profile": prof,
            "profiles": {n: profiles[n] for n in names},
        },
    )


def _depth(profiles: dict[str, Any]) -> Any:
    """Sort key: split points in the model's order (earliest first)."""

    def key(name: str) -> int:
        order = [sp.split for sp in next(iter(profiles.values())).split_points]
        return order.index(name) if name in order else len(order)

    return key


def _dvfo_keys(catalog: RouteCatalog, names: Sequence[str], spec: WorldSpec) -> tuple[RouteKey, ...]:
    """DVFO's admissible routes: local, at most ``n_xi`` xi levels per split point, cloud-only."""
    ref = catalog.local.accuracy
    keys: list[RouteKey] = [(LOCAL, 0.0)]
    for name in names:
        routes = catalog.splits[name]
        if spec.xi_levels is not None:
            xis = [x for x in spec.xi_levels if x > 0]
            for xi in xis:
                routes.route(name, xi)  # raises for a level the profile does not have
        else:
            drop = spec.max_accuracy_drop
            ok = [x for x in routes.xis if admissible(routes.route(name, x).accuracy, ref, drop)]
            xis = [ok[i] for i in spread(len(ok), spec.n_xi)] if ok else []
        keys += [(name, float(x)) for x in xis]
    if catalog.cloud is not None and admissible(catalog.cloud.accuracy, ref, spec.max_accuracy_drop):
        keys.append((INPUT, 1.0))
    return tuple(keys)


def appeal_edge_route(model: str) -> Route:
    """The plain model ``model`` on the edge (AppealNet's light edge model), from its shipped profile."""
    return local_route(load_split_profile(model, None), f"appealnet:{model}")
