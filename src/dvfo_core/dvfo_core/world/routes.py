"""Routes: what one frame runs on the edge, sends over the link, and runs in the cloud.

A route is named by ``(split, xi)``, the two numbers a governor's action carries:

* ``xi = 0`` — the **plain local model** (:func:`local_route`): the fine-tuned network without the
  SCA module, the graph ``edge_only_*`` and DVFS-only governors run (its accuracy is measured on
  its own);
* ``split = "input"``, ``xi = 1`` — the **compressed camera image to the cloud**
  (:func:`cloud_only_route`), the cloud runs the plain model;
* ``split = S``, ``0 < xi <= 1`` — **DVFO's channel split** at split point ``S``
  (:class:`ProfileRoutes`): head + SCA + encoder of the secondary channels run before the payload
  leaves, the sliced edge tail on the primary channels and the fusion overlap the transfer; cloud
  workload, payload bytes and fused accuracy are the split profile's measurements.

:func:`split_point_routes` (Neurosurgeon's candidates: a split point's plain head, the whole feature
map sent) and ``ProfileRoutes(..., sca=False)`` (DRLDO: unranked channels, no SCA layers) are the
baselines' routes. :class:`RouteCatalog` gathers every route of one model and resolves a
``(split, xi)`` pair.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dvfo_core.errors import ConfigError
from dvfo_core.workload import Workload

#: The ``split`` of the route that sends the camera image itself (cloud-only).
INPUT = "input"
#: Name of the plain local route.
LOCAL = "local"
EMPTY = Workload("none")


@dataclass(frozen=True)
class Route:
    """What one frame runs where (resolved from split profiles)."""

    name: str  #: e.g. ``dvfo:layer2:xi=0.5``, ``local``, ``cloud_only``
    head: Workload  #: edge work before the payload can leave (head + SCA + encoder)
    edge_tail: Workload  #: edge work that overlaps the transfer (tail on the primary channels)
    cloud: Workload | None  #: cloud work; ``None`` when nothing is offloaded
    payload_bytes: float  #: bytes sent to the cloud (mean compressed size)
    accuracy: float  #: top-1 of this route on the evaluation images, in [0, 1]
    #: edge work that finishes the frame alone when the cloud's answer is given up on (the deadline
    #: guard, :mod:`dvfo_core.world.frame`): empty when the edge's own logits are already there
    rescue: Workload = EMPTY
    rescue_accuracy: float = math.nan  #: top-1 of a frame finished by :attr:`rescue`

    def route(self, split: str = "", xi: float = 0.0) -> Route:
        """A fixed route is its own route source (methods that always run one route)."""
        return self

    @property
    def offloads(self) -> bool:
        """True when the frame sends anything to the cloud."""
        return self.cloud is not None


def without_sca(w: Workload, name: str) -> Workload:
    """``w`` without the SCA module's layers."""
    return Workload(name, tuple(layer for layer in w.layers if not layer.name.startswith("sca.")))


def accuracy_of(value: float | None) -> float:
    """A profile's accuracy field as a float (NaN when unmeasured)."""
    return math.nan if value is None else float(value)


def split_edge(edge: Workload) -> tuple[Workload, Workload]:
    """``(before the payload leaves, overlapping the transfer)``: cut after the first ``Codec`` layer."""
    for i, layer in enumerate(edge.layers):
        if layer.kind == "Codec":
            return Workload(f"{edge.name}.head", edge.layers[: i + 1]), Workload(
                f"{edge.name}.tail", edge.layers[i + 1 :]
            )
    return Workload(f"{edge.name}.head", edge.layers), EMPTY


def xi_key(xi: float) -> float:
    """The canonical form of an offload share (rounded to 1e-6)."""
    return round(float(xi), 6)


class ProfileRoutes:
    """DVFO's channel-split routes of one split profile, by xi (optionally without the SCA layers)."""

    def __init__(self, prof: Any, sca: bool = True) -> None:
        self.name = "dvfo" if sca else "no_sca"
        self.split = prof.split
        self._routes: dict[float, Route] = {}
        for lv in prof.levels:
            if lv.secondary_channels == 0:
                continue  # xi = 0 at a split is the plain model plus SCA: never cheaper than local
            edge = lv.edge if sca else without_sca(lv.edge, "edge.no_sca")
            head, tail = split_edge(edge)
            self._routes[xi_key(lv.xi)] = Route(
                f"{self.name}:{prof.split}:xi={lv.xi:g}",
                head,
                tail,
                lv.cloud,
                lv.payload_bytes,
                accuracy_of(lv.accuracy),
                lv.fallback_edge,
                accuracy_of(lv.fallback_accuracy),
            )

    @property
    def xis(self) -> tuple[float, ...]:
        """Profiled offloading xi levels (> 0)."""
        return tuple(sorted(self._routes))

    def route(self, split: str = "", xi: float = 0.0) -> Route:
        """The route of ``xi`` (one of :attr:`xis`) at this profile's split."""
        try:
            return self._routes[xi_key(xi)]
        except KeyError:
            raise ConfigError(
                f"{self.split}: xi {xi} is not a profiled level ({', '.join(f'{x:g}' for x in self.xis)})"
            ) from None


def local_route(prof: Any, name: str = LOCAL) -> Route:
    """The plain model (no SCA) on the edge, with its own measured accuracy."""
    acc = getattr(prof, "plain_local_accuracy", None)
    return Route(
        name,
        without_sca(prof.full_local, f"{prof.model}.local"),
        EMPTY,
        None,
        0.0,
        accuracy_of(acc if acc is not None else prof.full_local_accuracy),
    )


def cloud_only_route(prof: Any) -> Route:
    """The compressed image to the cloud, which runs the plain model."""
    plain = local_route(prof)
    return Route(
        "cloud_only",
        EMPTY,
        EMPTY,
        without_sca(prof.full_local, f"{prof.model}.cloud"),
        prof.cloud_only_payload_bytes,
        plain.accuracy,
        plain.head,
        plain.accuracy,
    )


def split_point_routes(prof: Any) -> dict[str, Route]:
    """Neurosurgeon's candidates, by split point (plain-model accuracy: the int8 map of every channel;
    the rescue runs the plain tail on the edge)."""
    acc = local_route(prof).accuracy
    return {
        sp.split: Route(
            f"neurosurgeon:{sp.split}", sp.head_edge, EMPTY, sp.tail, sp.payload_bytes, acc, sp.tail, acc
        )
        for sp in prof.split_points
    }


class RouteCatalog:
    """Every route of one model a method may choose, resolved by ``(split, xi)``.

    ``splits`` maps a split point to its channel-split routes (DVFO's, or DRLDO's without SCA);
    ``default_split`` is the one an empty ``split`` means. ``xi = 0`` is always :attr:`local`;
    ``(INPUT, 1)`` is :attr:`cloud` when given.
    """

    def __init__(
        self,
        local: Route,
        splits: Mapping[str, ProfileRoutes],
        default_split: str,
        cloud: Route | None = None,
    ) -> None:
        if default_split not in splits:
            raise ConfigError(f"default split {default_split!r} is not among {', '.join(splits)}")
        self.local = local
        self.splits = dict(splits)
        self.default_split = default_split
        self.cloud = cloud

    def route(self, split: str = "", xi: float = 0.0) -> Route:
        """The route of ``(split, xi)``; raises :class:`ConfigError` for one this catalog lacks."""
        if xi_key(xi) == 0.0:
            return self.local
        if split == INPUT:
            if self.cloud is None or xi_key(xi) != 1.0:
                raise ConfigError(f"route ({INPUT}, {xi:g}) is not available (only xi = 1 sends the image)")
            return self.cloud
        name = split or self.default_split
        routes = self.splits.get(name)
        if routes is None:
            raise ConfigError(f"no channel-split routes at {name!r} (have: {', '.join(self.splits)})")
        return routes.route(name, xi)

    def keys(self, splits: Iterable[str] | None = None) -> list[tuple[str, float]]:
        """Every ``(split, xi)`` this catalog resolves: local, each split's xi levels, cloud-only."""
        out: list[tuple[str, float]] = [(LOCAL, 0.0)]
        for name in splits if splits is not None else self.splits:
            out += [(name, xi) for xi in self.splits[name].xis]
        if self.cloud is not None:
            out.append((INPUT, 1.0))
        return out
