"""The governor's action table: which clock levels and offload shares the agent chooses from.

A Jetson offers 10–25 levels per clock domain; the joint space ``cpu x gpu x emc x xi`` would be
tens of thousands of actions. The table keeps a documented subset per domain — evenly spread over
the active power mode's levels, always including the lowest and the highest — and a list of routes
``(split, xi)`` (:mod:`~dvfo_core.world.routes`: the plain local model, channel splits at one or more
depths, the image to the cloud). The table travels inside every policy file, so a policy is only
ever run with the frequencies and routes it was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dvfo_core.device.base import FrequencyTable, Levels
from dvfo_core.errors import ConfigError


def spread(n_levels: int, k: int) -> tuple[int, ...]:
    """``k`` level indices evenly spread over ``range(n_levels)``, first and last included."""
    if n_levels <= 0:
        raise ConfigError("a clock domain has no frequency levels")
    if k <= 1:
        return (n_levels - 1,)
    if k >= n_levels:
        return tuple(range(n_levels))
    picks = np.unique(np.round(np.linspace(0, n_levels - 1, k)).astype(int))
    return tuple(int(i) for i in picks)


@dataclass(frozen=True)
class FrameAction:
    """One per-frame decision: clock levels (indices into the device table) and route.

    The route is ``(split, xi)``: ``xi = 0`` is the plain local model whatever ``split`` says;
    ``split = "input"`` with ``xi = 1`` sends the camera image; otherwise the share ``xi`` of the
    feature-map channels at ``split`` (``""``: the model's default split) is offloaded.
    """

    cpu: int
    gpu: int
    emc: int
    xi: float
    split: str = ""

    @property
    def route_key(self) -> tuple[str, float]:
        """``(split, xi)`` in canonical form (``("local", 0.0)`` for the plain model)."""
        xi = round(float(self.xi), 6)
        return ("local", 0.0) if xi == 0.0 else (self.split, xi)

    @property
    def levels(self) -> Levels:
        """The clock part as :class:`~dvfo_core.device.base.Levels`."""
        return Levels(self.cpu, self.gpu, self.emc)


RouteKey = tuple[str, float]


def route_key(split: str, xi: float) -> RouteKey:
    """Canonical ``(split, xi)``: ``("local", 0.0)`` for any ``xi = 0``."""
    return FrameAction(0, 0, 0, xi, split).route_key


@dataclass(frozen=True)
class ActionTable:
    """The discrete joint action space: per-domain level subsets and routes.

    Flat index order is ``((cpu * n_gpu + gpu) * n_emc + emc) * n_route + route`` over the
    *positions* in the subsets (row-major, route fastest).
    """

    cpu: tuple[int, ...]  #: device CPU level indices allowed
    gpu: tuple[int, ...]
    emc: tuple[int, ...]
    routes: tuple[RouteKey, ...]  #: ``(split, xi)`` routes allowed
    cpu_khz: tuple[int, ...] = ()  #: the frequencies of those levels (filled by :meth:`build`)
    gpu_hz: tuple[int, ...] = ()
    emc_hz: tuple[int, ...] = ()

    @classmethod
    def build(
        cls,
        table: FrequencyTable,
        routes: Sequence[RouteKey],
        n_cpu: int = 4,
        n_gpu: int = 6,
        n_emc: int = 4,
    ) -> ActionTable:
        """Subsample ``table`` to ``n_*`` levels per domain; keep every route in ``routes``."""
        if not routes:
            raise ConfigError("the action table needs at least one route")
        keys = tuple(dict.fromkeys(route_key(s, x) for s, x in routes))
        cpu = spread(len(table.cpu_khz), n_cpu)
        gpu = spread(len(table.gpu_hz), n_gpu)
        emc = spread(len(table.emc_hz), n_emc)
        return cls(
            cpu=cpu,
            gpu=gpu,
            emc=emc,
            routes=keys,
            cpu_khz=tuple(int(table.cpu_khz[i]) for i in cpu),
            gpu_hz=tuple(int(table.gpu_hz[i]) for i in gpu),
            emc_hz=tuple(int(table.emc_hz[i]) for i in emc),
        )

    @property
    def branches(self) -> tuple[int, int, int, int]:
        """Number of choices per domain: ``(cpu, gpu, emc, route)``."""
        return len(self.cpu), len(self.gpu), len(self.emc), len(self.routes)

    @property
    def size(self) -> int:
        """Number of joint actions."""
        n = 1
        for b in self.branches:
            n *= b
        return n

    @property
    def local_only(self) -> bool:
        """True when the only route is the plain local model."""
        return self.routes == (("local", 0.0),)

    @property
    def safe_action(self) -> FrameAction:
        """The table's first route (the plain local model) at its top clocks: needs no network."""
        return self.action(self.index(len(self.cpu) - 1, len(self.gpu) - 1, len(self.emc) - 1, 0))

    def positions(self, index: int) -> tuple[int, int, int, int]:
        """Flat index -> per-domain positions ``(i_cpu, i_gpu, i_emc, i_route)``."""
        if not 0 <= index < self.size:
            raise IndexError(f"action {index} outside 0..{self.size - 1}")
        _, ng, ne, nr = self.branches
        index, ir = divmod(index, nr)
        index, ie = divmod(index, ne)
        ic, ig = divmod(index, ng)
        return ic, ig, ie, ir

    def index(self, i_cpu: int, i_gpu: int, i_emc: int, i_route: int) -> int:
        """Per-domain positions -> flat index."""
        _, ng, ne, nr = self.branches
        return ((i_cpu * ng + i_gpu) * ne + i_emc) * nr + i_route

    def action(self, index: int) -> FrameAction:
        """The :class:`FrameAction` a flat index stands for."""
        ic, ig, ie, ir = self.positions(index)
        split, xi = self.routes[ir]
        return FrameAction(self.cpu[ic], self.gpu[ig], self.emc[ie], xi, "" if split == "local" else split)

    def actions(self) -> list[FrameAction]:
        """Every joint action, in flat-index order."""
        return [self.action(i) for i in range(self.size)]

    def route_position(self, action: FrameAction) -> int:
        """Position of ``action``'s route in :attr:`routes` (the nearest xi at its split otherwise)."""
        key = action.route_key
        if key in self.routes:
            return self.routes.index(key)
        same = [i for i, (s, _) in enumerate(self.routes) if s == key[0]] or list(range(len(self.routes)))
        return min(same, key=lambda i: abs(self.routes[i][1] - key[1]))

    def nearest(self, action: FrameAction) -> int:
        """Flat index of the table action closest (per domain) to ``action``."""

        def near(values: Sequence[float], v: float) -> int:
            return int(np.argmin([abs(x - v) for x in values]))

        return self.index(
            near(self.cpu, action.cpu),
            near(self.gpu, action.gpu),
            near(self.emc, action.emc),
            self.route_position(action),
        )

    def fractions(self, action: FrameAction) -> tuple[float, float, float, float]:
        """The action as four numbers in [0, 1] (position in each clock domain, xi itself)."""
        ic, ig, ie, _ = self.positions(self.nearest(action))

        def frac(i: int, n: int) -> float:
            return i / (n - 1) if n > 1 else 1.0

        nc, ng, ne, _ = self.branches
        return frac(ic, nc), frac(ig, ng), frac(ie, ne), float(action.xi)

    def split_names(self) -> list[str]:
        """Channel-split points among the routes, in table order (``input`` last when present)."""
        return list(dict.fromkeys(s for s, _ in self.routes if s != "local"))

    def check_device(self, table: FrequencyTable, device: str) -> None:
        """Raise :class:`ConfigError` unless every frequency of this table is in ``table`` at its level."""
        for dom, mine, theirs in (
            ("cpu", zip(self.cpu, self.cpu_khz, strict=True), table.cpu_khz),
            ("gpu", zip(self.gpu, self.gpu_hz, strict=True), table.gpu_hz),
            ("emc", zip(self.emc, self.emc_hz, strict=True), table.emc_hz),
        ):
            for level, freq in mine:
                if level >= len(theirs) or int(theirs[level]) != int(freq):
                    have = int(theirs[level]) if level < len(theirs) else "none"
                    raise ConfigError(
                        f"action table {dom} level {level} is {freq} but device {device} has {have} "
                        "(policy trained for another device or power mode)"
                    )

    def to_dict(self) -> dict[str, list]:
        """JSON-friendly form (stored in policy files)."""
        return {
            "cpu": list(self.cpu),
            "gpu": list(self.gpu),
            "emc": list(self.emc),
            "routes": [[s, x] for s, x in self.routes],
            "cpu_khz": list(self.cpu_khz),
            "gpu_hz": list(self.gpu_hz),
            "emc_hz": list(self.emc_hz),
        }

    @classmethod
    def from_dict(cls, data: dict) -> ActionTable:
        """Inverse of :meth:`to_dict`; raises :class:`ConfigError` on a malformed table."""
        if "routes" not in data and "xi" in data:
            raise ConfigError(
                "action table has xi levels but no routes: a policy of the old action table "
                "(before routes); retrain it with dvfo train"
            )
        try:
            table = cls(
                cpu=tuple(int(v) for v in data["cpu"]),
                gpu=tuple(int(v) for v in data["gpu"]),
                emc=tuple(int(v) for v in data["emc"]),
                routes=tuple(route_key(str(s), float(x)) for s, x in data["routes"]),
                cpu_khz=tuple(int(v) for v in data["cpu_khz"]),
                gpu_hz=tuple(int(v) for v in data["gpu_hz"]),
                emc_hz=tuple(int(v) for v in data["emc_hz"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"malformed action table: {exc!r}") from None
        if (
            not all(table.branches)
            or len(table.cpu_khz) != len(table.cpu)
            or len(table.gpu_hz) != len(table.gpu)
            or len(table.emc_hz) != len(table.emc)
        ):
            raise ConfigError("malformed action table: empty domain or frequency list of the wrong length")
        return table
