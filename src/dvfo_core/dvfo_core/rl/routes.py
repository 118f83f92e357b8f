"""Routes from a split profile: what one frame runs on the edge, sends, and runs in the cloud.

* DVFO at ``xi`` (:class:`ProfileRoutes`): the profile's edge workload is cut after its ``Codec``
  layer (the encoder of the secondary channels): head + SCA + encoder run before the payload leaves,
  the sliced edge tail and the fusion overlap the transfer. Cloud workload, payload bytes and fused
  accuracy are the profile's. With ``sca=False`` the SCA layers are left out (DRLDO's routes).
* :func:`local_route`: the plain model on the edge (full-local workload without the SCA layers).
* :func:`cloud_only_route`: the zstd-compressed RGB image to the cloud, plain model there (lossless).
* :func:`split_point_routes`: each split point's plain head on the edge, the whole feature map
  (profile's codec) to the cloud, the tail there — Neurosurgeon's candidates.
"""

from __future__ import annotations

import math
from typing import Any

from dvfo_core.errors import ConfigError
from dvfo_core.rl.frame_sim import Route
from dvfo_core.workload import Workload

EMPTY = Workload("none")


def without_sca(w: Workload, name: str) -> Workload:
    return Workload(name, tuple(layer for layer in w.layers if not layer.name.startswith("sca.")))


def accuracy_of(value: float | None) -> float:
    return math.nan if value is None else float(value)


def split_edge(edge: Workload) -> tuple[Workload, Workload]:
    """``(before the payload leaves, overlapping the transfer)``: cut after the first ``Codec`` layer."""
    for i, layer in enumerate(edge.layers):
        if layer.kind == "Codec":
            return Workload(f"{edge.name}.head", edge.layers[: i + 1]), Workload(
                f"{edge.name}.tail", edge.layers[i + 1 :]
            )
    return Workload(f"{edge.name}.head", edge.layers), EMPTY


class ProfileRoutes:
    """DVFO's routes of one split profile, by xi (optionally without the SCA layers)."""

    def __init__(self, prof: Any, sca: bool = True) -> None:
        self.name = "dvfo" if sca else "no_sca"
        self._routes: dict[float, Route] = {}
        for lv in prof.levels:
            edge = lv.edge if sca else without_sca(lv.edge, "edge.no_sca")
            head, tail = split_edge(edge)
            cloud = lv.cloud if lv.secondary_channels > 0 else None
            self._routes[round(lv.xi, 6)] = Route(
                f"{self.name}:{prof.split}:xi={lv.xi:g}",
                head,
                tail,
                cloud,
                lv.payload_bytes if cloud is not None else 0.0,
                accuracy_of(lv.accuracy),
            )

    @property
    def xis(self) -> tuple[float, ...]:
        """Profiled xi levels."""
        return tuple(sorted(self._routes))

    def route(self, xi: float) -> Route:
        """The route of ``xi`` (one of :attr:`xis`)."""
        try:
            return self._routes[round(float(xi), 6)]
        except KeyError:
            raise ConfigError(
                f"xi {xi} is not a profiled level ({', '.join(f'{x:g}' for x in self.xis)})"
            ) from None


def local_route(prof: Any, name: str = "local") -> Route:
    """The plain model (no SCA) on the edge."""
    return Route(
        name,
        without_sca(prof.full_local, f"{prof.model}.local"),
        EMPTY,
        None,
        0.0,
        accuracy_of(prof.full_local_accuracy),
    )


def cloud_only_route(prof: Any) -> Route:
    """The compressed image to the cloud, which runs the plain model."""
    plain = without_sca(prof.full_local, f"{prof.model}.cloud")
    return Route(
        "cloud_only",
        EMPTY,
        EMPTY,
        plain,
        prof.cloud_only_payload_bytes,
        accuracy_of(prof.full_local_accuracy),
    )


def split_point_routes(prof: Any) -> dict[str, Route]:
    """Neurosurgeon's candidates, by split point (full-local accuracy: the int8 map of every channel)."""
    acc = accuracy_of(prof.full_local_accuracy)
    return {
        sp.split: Route(f"neurosurgeon:{sp.split}", sp.head_edge, EMPTY, sp.tail, sp.payload_bytes, acc)
        for sp in prof.split_points
    }
