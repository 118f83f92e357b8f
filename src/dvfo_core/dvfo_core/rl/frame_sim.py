"""One frame on the digital twin: the ONE place that composes edge stages, transfer, cloud and waiting.

Timeline of a frame that offloads (``xi > 0``), starting at ``t_s``::

    edge  | decision | head + SCA | edge tail (primary channels) | wait for the cloud (idle at its clocks) |
    link  |                       | payload over the network (RTT once) |
    cloud |                                                            | cloud tail |
                                                                                  ^ fused result

The payload leaves as soon as the head and the SCA ranking are done; the edge finishes the primary
channels while the secondary ones travel and the cloud computes. The frame ends when both outputs are
there. Edge energy = head + tail at the chosen clocks + idling at those clocks while waiting + the
radio's transmit energy. ``decision_s`` is governor time on the frame's critical path (the blocking
scheme; zero under thinking-while-moving), spent idling at the chosen clocks.

Everything here is middleware-free and cheap (a few dict look-ups with :class:`CachedTwin`), so the
RL environment, the baselines, the oracle and the head node's twin mode all call it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from dvfo_core.device.base import Levels
from dvfo_core.rl.actions import FrameAction
from dvfo_core.workload import Workload


@dataclass(frozen=True)
class Route:
    """What one frame runs where, for one offload share (resolved from a split profile)."""

    name: str  #: e.g. ``dvfo:layer2:xi=0.50``, ``local``, ``cloud_only``
    head: Workload  #: edge work before the payload can leave (head + SCA + encoder)
    edge_tail: Workload  #: edge work that overlaps the transfer (tail on the primary channels)
    cloud: Workload | None  #: cloud work; ``None`` when nothing is offloaded
    payload_bytes: float  #: bytes sent to the cloud (mean compressed size)
    accuracy: float  #: top-1 of this route on the evaluation images, in [0, 1]

    def route(self, xi: float) -> Route:
        """A fixed route is its own route source (baselines that do not offload channels)."""
        return self

    @property
    def offloads(self) -> bool:
        """True when the frame sends anything to the cloud."""
        return self.cloud is not None


class RouteSource(Protocol):
    """Anything that resolves an offload share to a :class:`Route` (a split profile adapter)."""

    def route(self, xi: float) -> Route:
        """The route of offload share ``xi``."""


class _Cost(NamedTuple):
    latency_s: float
    energy_j: float
    power_w: float


@dataclass(frozen=True)
class FrameOutcome:
    """What one frame cost and delivered."""

    t_s: float  #: frame start (trace time)
    latency_s: float  #: frame start -> fused result
    energy_j: float  #: edge energy incl. waiting and radio
    head_s: float
    edge_tail_s: float
    transmit_s: float  #: payload on the link, RTT included (0 without offload)
    cloud_s: float
    wait_s: float  #: edge idle time waiting for the cloud
    decision_s: float  #: governor time on the critical path
    compute_energy_j: float  #: head + tail
    idle_energy_j: float  #: waiting and deciding
    radio_energy_j: float
    payload_bytes: float
    accuracy: float
    mbps: float  #: link bandwidth seen by the frame (at its end when nothing was sent)
    rtt_ms: float
    power_w: float  #: mean board power over the frame, as the INA3221 rails see it (radio excluded)
    deadline_missed: bool
    action: FrameAction
    route: str


def simulate_frame(
    twin: Any,
    network: Any,
    cloud: Any,
    profile: RouteSource,
    action: FrameAction,
    t_s: float,
    deadline_s: float = math.inf,
    decision_s: float = 0.0,
) -> FrameOutcome:
    """Compose one frame run with ``action`` starting at trace time ``t_s``.

    ``twin`` offers ``stage(workload, levels)`` and ``idle(duration_s, levels)`` (a
    :class:`dvfo_core.device.twin.TwinModel` or a :class:`CachedTwin`); ``network`` offers
    ``transfer(nbytes, t_s)`` and ``trace.at(t_s)``; ``cloud`` offers ``tail_latency_s(workload)``;
    ``profile`` resolves ``action.xi`` to a :class:`Route` — a route source, or a
    :class:`~dvfo_core.split.profile.SplitProfile` (adapted once with
    :class:`~dvfo_core.rl.routes.ProfileRoutes`).
    """
    levels = action.levels
    route = _route_source(profile).route(action.xi)
    head = twin.stage(route.head, levels)
    tail = twin.stage(route.edge_tail, levels)
    t_head_end = t_s + decision_s + head.latency_s
    if route.offloads and route.payload_bytes > 0:
        tx = network.transfer(route.payload_bytes, t_head_end)
        transmit_s, radio_j, mbps, rtt_ms = tx.time_s, tx.energy_j, tx.mbps, tx.rtt_ms
    else:
        transmit_s, radio_j = 0.0, 0.0
        mbps, rtt_ms = _link_at(network, t_head_end + tail.latency_s)
    cloud_s = cloud.tail_latency_s(route.cloud) if route.cloud is not None else 0.0
    remote_s = transmit_s + cloud_s if route.offloads else 0.0
    wait_s = max(0.0, remote_s - tail.latency_s)
    idle_s = wait_s + decision_s
    idle_j = twin.idle(idle_s, levels).energy_j if idle_s > 0 else 0.0
    latency_s = decision_s + head.latency_s + max(tail.latency_s, remote_s)
    compute_j = head.energy_j + tail.energy_j
    energy_j = compute_j + idle_j + radio_j
    return FrameOutcome(
        t_s=t_s,
        latency_s=latency_s,
        energy_j=energy_j,
        head_s=head.latency_s,
        edge_tail_s=tail.latency_s,
        transmit_s=transmit_s,
        cloud_s=cloud_s,
        wait_s=wait_s,
        decision_s=decision_s,
        compute_energy_j=compute_j,
        idle_energy_j=idle_j,
        radio_energy_j=radio_j,
        payload_bytes=float(route.payload_bytes) if route.offloads else 0.0,
        accuracy=route.accuracy,
        mbps=mbps,
        rtt_ms=rtt_ms,
        power_w=(compute_j + idle_j) / latency_s if latency_s > 0 else 0.0,
        deadline_missed=latency_s > deadline_s,
        action=action,
        route=route.name,
    )


_ADAPTED: dict[int, tuple[Any, RouteSource]] = {}


def _route_source(profile: Any) -> RouteSource:
    if hasattr(profile, "route"):
        return profile
    hit = _ADAPTED.get(id(profile))
    if hit is None or hit[0] is not profile:
        from dvfo_core.rl.routes import ProfileRoutes  # routes builds on this module

        hit = (profile, ProfileRoutes(profile))
        _ADAPTED[id(profile)] = hit
    return hit[1]


def _link_at(network: Any, t_s: float) -> tuple[float, float]:
    mbps, rtt_ms = network.trace.at(t_s)
    return float(mbps), float(rtt_ms)


class CachedTwin:
    """A twin wrapper that memoises stage costs per (workload, levels) and idle power per levels.

    The twin's costs depend only on the workload and the clocks (noise-free twin), so training can
    call :func:`simulate_frame` hundreds of thousands of times at dictionary speed. Idle energy is
    linear in the duration (constant power at fixed clocks), which :meth:`idle` relies on.
    """

    def __init__(self, twin: Any) -> None:
        self.twin = twin
        self._stage: dict[tuple[int, Levels], tuple[Workload, _Cost]] = {}
        self._idle_w: dict[Levels, float] = {}

    @property
    def table(self) -> Any:
        """The wrapped twin's frequency table."""
        return self.twin.table

    def stage(self, workload: Workload, levels: Levels) -> _Cost:
        """Cost of ``workload`` at ``levels`` (computed once)."""
        key = (id(workload), levels)
        hit = self._stage.get(key)
        if hit is None:
            if not workload.layers:
                cost = _Cost(0.0, 0.0, 0.0)
            else:
                c = self.twin.stage(workload, levels)
                cost = _Cost(float(c.latency_s), float(c.energy_j), float(c.power_w))
            hit = (workload, cost)  # keep the workload alive so its id stays unique
            self._stage[key] = hit
        return hit[1]

    def idle(self, duration_s: float, levels: Levels) -> _Cost:
        """The edge idling ``duration_s`` at ``levels``."""
        power = self._idle_w.get(levels)
        if power is None:
            power = float(self.twin.idle(1.0, levels).energy_j)
            self._idle_w[levels] = power
        return _Cost(duration_s, power * duration_s, power)


class CachedCloud:
    """Memoises ``tail_latency_s`` per workload (the cloud model is deterministic)."""

    def __init__(self, cloud: Any) -> None:
        self.cloud = cloud
        self._cache: dict[int, tuple[Workload, float]] = {}

    def tail_latency_s(self, workload: Workload) -> float:
        """The wrapped cloud's tail latency (computed once per workload)."""
        hit = self._cache.get(id(workload))
        if hit is None:
            hit = (workload, float(self.cloud.tail_latency_s(workload)))
            self._cache[id(workload)] = hit
        return hit[1]
