"""One frame on the digital twin: the ONE place that composes a frame's time and energy.

Timeline of a frame that offloads, starting at ``t_s``, with a camera period ``P``::

    edge  | decision | head + SCA | edge tail (primary) | wait for the cloud |  gap to the next frame  |
    link  |                       | payload (RTT once)  |
    cloud |                                            | cloud tail |
          0                                                          ^ result (latency)           P

**Latency** runs from the frame's start to the fused result (as before). **Energy is charged per
camera period**: from the frame's start to the next frame's start (or to its own end when it
overruns the period), at the clocks the method really holds in each interval:

* compute at the action's clocks; waiting for the cloud idles at those clocks; the radio's
  transmit/receive energy, and its tail energy in the gap (:meth:`RadioModel.tail_energy_j`);
* the **gap** after the result follows the method's :class:`GapPolicy`:

  - ``HOLD`` — the clocks stay where they are (``jetson_clocks``, a fixed setting);
  - ``DROP`` — a DVFS governor drops every clock to the lowest level when the result is out and
    raises it again before the next frame: each change takes :data:`ACTUATION_S` to take effect,
    charged at the frame's idle power (the higher one); with a gap shorter than two actuations it
    holds instead;
  - ``STOCK`` — Linux schedutil + nvhost_podgov + the EMC actmon governor: they keep the load
    clocks for :data:`STOCK_DOWN_S` after the work stops, then sit at the lowest levels; at the
    next frame's start they take :data:`ACTUATION_S` to come back up, during which the work runs at
    the idle clocks (its latency grows by that window times the lost speed).

**The deadline guard.** A frame that offloads waits for the cloud no longer than the deadline
allows: if the answer has not come by ``max(edge part done, deadline - rescue time)``, the edge gives
up on it and finishes alone (:attr:`Route.rescue`: nothing when the edge's own logits are already
there, the rest of the model when everything was sent), so the result is out by the deadline
whenever the edge part leaves time for the rescue. The rescued frame is charged the rescue's
compute, the wait until the give-up at the action's clocks and the whole transfer's radio energy
(the payload was handed to the link); its accuracy is the rescue's (:attr:`Route.rescue_accuracy`).
The head node gives up at the same moment (:mod:`dvfo_core.edge_pipeline`).

Every method — the agent's environment, every baseline, the oracle (vectorised in
:mod:`~dvfo_core.world.batch`), the head node's twin accounting and the demo — is charged here.
``decision_s`` is governor time on the critical path (blocking schemes), spent idling at the
chosen clocks. The figures and their sources are in docs/twin-calibration.md.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from dvfo_core.device.base import Levels
from dvfo_core.workload import Workload
from dvfo_core.world.actions import FrameAction
from dvfo_core.world.routes import Route

#: Name of this energy accounting, stored in policy files (a policy trained under another is refused).
ACCOUNTING = "camera-period/2"
#: Time a clock change takes to be in effect on a Jetson: 1 / 5 / 8 ms for CPU / GPU / EMC measured
#: on an Orin Nano (Kang, arXiv 2606.16106, "frequency actuation is not free"); the slowest domain.
ACTUATION_S = 8e-3
#: How long the stock governors keep the load clocks after the work stops (assumption: one load
#: sampling window of nvhost_podgov / the EMC actmon, tens of ms; see docs/twin-calibration.md).
STOCK_DOWN_S = 50e-3


class GapPolicy(str, enum.Enum):
    """What happens to the clocks between a frame's result and the next frame's start."""

    HOLD = "hold"
    DROP = "drop"
    STOCK = "stock"


class RouteSource(Protocol):
    """Anything that resolves ``(split, xi)`` to a :class:`Route` (a catalog, a fixed route)."""

    def route(self, split: str = "", xi: float = 0.0) -> Route:
        """The route of ``(split, xi)``."""


class _Cost(NamedTuple):
    latency_s: float
    energy_j: float
    power_w: float


@dataclass(frozen=True)
class FrameOutcome:
    """What one frame cost and delivered."""

    t_s: float  #: frame start (trace time)
    latency_s: float  #: frame start -> fused result
    energy_j: float  #: edge energy over the camera period (compute, waiting, radio, gap)
    head_s: float
    edge_tail_s: float
    transmit_s: float  #: payload on the link, RTT included (0 without offload)
    cloud_s: float
    wait_s: float  #: edge idle time waiting for the cloud
    decision_s: float  #: governor time on the critical path
    compute_energy_j: float  #: head + tail
    idle_energy_j: float  #: waiting and deciding
    radio_energy_j: float  #: transmit, reply and radio tail
    payload_bytes: float
    accuracy: float
    mbps: float  #: link bandwidth seen by the frame (at its end when nothing was sent)
    rtt_ms: float
    power_w: float  #: mean board power from start to result, as the INA3221 rails see it (no radio)
    deadline_missed: bool
    action: FrameAction
    route: str
    gap_s: float = 0.0  #: result -> next frame's start (0 when the frame overran its period)
    gap_energy_j: float = 0.0  #: board energy in the gap (radio tail excluded)
    ramp_s: float = 0.0  #: latency added by the stock governors' ramp-up
    rescued: bool = False  #: the deadline guard gave up on the cloud and the edge finished alone

    @property
    def active_energy_j(self) -> float:
        """Energy from the frame's start to its result (what a per-result meter would report)."""
        return self.energy_j - self.gap_energy_j


def gap_energy_j(twin: Any, levels: Levels, gap_s: float, policy: GapPolicy, floor: Levels) -> float:
    """Board energy in a gap of ``gap_s`` after a frame run at ``levels`` (``floor``: lowest levels)."""
    if gap_s <= 0:
        return 0.0
    p_hold = twin.idle_power_w(levels)
    if policy is GapPolicy.HOLD:
        return p_hold * gap_s
    p_floor = twin.idle_power_w(floor)
    if policy is GapPolicy.DROP:
        if gap_s <= 2 * ACTUATION_S:
            return p_hold * gap_s
        return p_hold * 2 * ACTUATION_S + p_floor * (gap_s - 2 * ACTUATION_S)
    hold_s = min(gap_s, STOCK_DOWN_S)
    return p_hold * hold_s + p_floor * (gap_s - hold_s)


def simulate_frame(
    twin: Any,
    network: Any,
    cloud: Any,
    profile: RouteSource,
    action: FrameAction,
    t_s: float,
    deadline_s: float = math.inf,
    decision_s: float = 0.0,
    period_s: float = 0.0,
    gap: GapPolicy = GapPolicy.HOLD,
    guard: bool = True,
) -> FrameOutcome:
    """Compose one frame run with ``action`` starting at trace time ``t_s``.

    ``twin`` offers ``stage(workload, levels)``, ``idle_power_w(levels)`` and ``floor`` (a
    :class:`CachedTwin`); ``network`` offers ``transfer(nbytes, t_s)``, ``trace.at(t_s)`` and
    ``radio``; ``cloud`` offers ``tail_latency_s(workload)``; ``profile`` resolves the action's
    ``(split, xi)`` to a :class:`Route`. ``period_s`` is the camera period (0: energy stops at the
    result); ``gap`` what the clocks do until the next frame; ``guard``: the deadline guard is on
    (a robot may turn it off, the head's ``deadline_guard`` parameter).
    """
    levels = action.levels
    route = profile.route(action.split, action.xi)
    head = twin.stage(route.head, levels)
    tail = twin.stage(route.edge_tail, levels)
    ramp_s = ramp_j = 0.0
    if gap is GapPolicy.STOCK and period_s > 0:
        ramp_s, ramp_j = twin.ramp(route, levels)
    t_head_end = t_s + decision_s + ramp_s + head.latency_s
    if route.offloads and route.payload_bytes > 0:
        tx = network.transfer(route.payload_bytes, t_head_end)
        transmit_s, radio_j, mbps, rtt_ms = tx.time_s, tx.energy_j, tx.mbps, tx.rtt_ms
    else:
        transmit_s, radio_j = 0.0, 0.0
        mbps, rtt_ms = _link_at(network, t_head_end + tail.latency_s)
    cloud_s = cloud.tail_latency_s(route.cloud) if route.cloud is not None else 0.0
    remote_s = transmit_s + cloud_s if route.offloads else 0.0
    wait_s = max(0.0, remote_s - tail.latency_s)
    pre_s = decision_s + ramp_s + head.latency_s  # the payload leaves
    latency_s = pre_s + max(tail.latency_s, remote_s)
    compute_j = head.energy_j + tail.energy_j
    accuracy = route.accuracy
    rescued = False
    if guard and route.offloads and math.isfinite(deadline_s):
        rescue = twin.stage(route.rescue, levels)
        give_up_s = give_up_time(pre_s + tail.latency_s, deadline_s, rescue.latency_s)
        if pre_s + remote_s > give_up_s:
            rescued = True
            wait_s = give_up_s - (pre_s + tail.latency_s)
            latency_s = give_up_s + rescue.latency_s
            compute_j += rescue.energy_j
            transmit_s, cloud_s = give_up_s - pre_s, 0.0  # what the edge saw: no answer that long
            accuracy = route.rescue_accuracy
    idle_s = wait_s + decision_s
    p_idle = twin.idle_power_w(levels)
    idle_j = p_idle * idle_s + ramp_j
    gap_s = max(0.0, period_s - latency_s)
    gap_j = gap_energy_j(twin, levels, gap_s, gap, twin.floor)
    if route.offloads and route.payload_bytes > 0 and gap_s > 0:
        radio_j += radio_tail_j(network, gap_s)
    active_j = compute_j + idle_j
    return FrameOutcome(
        t_s=t_s,
        latency_s=latency_s,
        energy_j=active_j + radio_j + gap_j,
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
        accuracy=accuracy,
        mbps=mbps,
        rtt_ms=rtt_ms,
        power_w=active_j / latency_s if latency_s > 0 else 0.0,
        deadline_missed=latency_s > deadline_s,
        action=action,
        route=route.name,
        gap_s=gap_s,
        gap_energy_j=gap_j,
        ramp_s=ramp_s,
        rescued=rescued,
    )


def give_up_time(edge_done_s: float, deadline_s: float, rescue_s: float) -> float:
    """When the deadline guard stops waiting for the cloud (seconds from the frame's start): the
    latest moment the rescue still ends by the deadline, but never before the edge part is done."""
    return max(edge_done_s, deadline_s - rescue_s)


def radio_tail_j(network: Any, gap_s: float) -> float:
    """The radio's tail energy over the ``gap_s`` after a transfer (:meth:`RadioModel.tail_energy_j`)."""
    return float(network.radio.tail_energy_j(gap_s))


def _link_at(network: Any, t_s: float) -> tuple[float, float]:
    mbps, rtt_ms = network.trace.at(t_s)
    return float(mbps), float(rtt_ms)


class CachedTwin:
    """A twin wrapper that memoises stage costs per (workload, levels) and idle power per levels.

    The twin's costs depend only on the workload and the clocks (noise-free twin), so training can
    call :func:`simulate_frame` hundreds of thousands of times at dictionary speed. Idle energy is
    linear in the duration (constant power at fixed clocks).
    """

    def __init__(self, twin: Any) -> None:
        self.twin = twin
        self.floor: Levels = twin.min_levels()
        self._stage: dict[tuple[int, Levels], tuple[Workload, _Cost]] = {}
        self._idle_w: dict[Levels, float] = {}
        self._ramp: dict[tuple[int, Levels], tuple[Route, tuple[float, float]]] = {}

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

    def idle_power_w(self, levels: Levels) -> float:
        """Board power while idling at ``levels``."""
        power = self._idle_w.get(levels)
        if power is None:
            power = float(self.twin.idle(1.0, levels).energy_j)
            self._idle_w[levels] = power
        return power

    def idle(self, duration_s: float, levels: Levels) -> _Cost:
        """The edge idling ``duration_s`` at ``levels``."""
        power = self.idle_power_w(levels)
        return _Cost(duration_s, power * duration_s, power)

    def ramp(self, route: Route, levels: Levels) -> tuple[float, float]:
        """Stock governors' ramp-up: ``(added latency, its energy)`` for ``route`` run at ``levels``.

        For :data:`ACTUATION_S` after the frame starts the clocks are still at the floor, so the work
        done in that window is the share ``t_load / t_floor`` of what the load clocks would do; the
        frame is late by the rest, and that time is charged at the floor's busy power.
        """
        key = (id(route), levels)
        hit = self._ramp.get(key)
        if hit is None:
            load = [self.stage(w, levels) for w in (route.head, route.edge_tail)]
            floor = [self.stage(w, self.floor) for w in (route.head, route.edge_tail)]
            load_s = sum(c.latency_s for c in load)
            floor_s = sum(c.latency_s for c in floor)
            if floor_s <= 0:
                value = (0.0, 0.0)
            else:
                window = min(ACTUATION_S, floor_s)
                late = window * (1.0 - load_s / floor_s)
                value = (late, late * sum(c.energy_j for c in floor) / floor_s)
            hit = (route, value)
            self._ramp[key] = hit
        return hit[1]


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
