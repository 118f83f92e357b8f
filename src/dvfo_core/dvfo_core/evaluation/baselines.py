"""The methods DVFO is compared with, each a :class:`~dvfo_core.evaluation.controllers.Controller`.

* ``edge_only_max`` — the plain model at the power mode's top clocks, held between frames too
  (``jetson_clocks``).
* ``edge_only_default`` — the plain model under the stock governors (schedutil + nvhost_podgov +
  EMC actmon): the clocks where they settle under a DNN load (:meth:`TwinModel.default_levels`),
  dropped between frames after the governors' hold time and ramped up at each frame's start
  (:attr:`GapPolicy.STOCK`).
* ``cloud_only`` — send the compressed camera image, the cloud runs the whole model; the edge waits
  at its lowest clocks under the stock governors.
* ``neurosurgeon`` — best split point (or local / cloud-only) per frame at max clocks, predicted with
  perfect per-layer predictors (the twin) for the bandwidth its monitor measured on the last frame;
  the whole feature map is sent (no channel selection), compressed with the same codec.
* ``dvfs_only_drl`` — zTT-like: a DQN over the clocks only, full local inference, blocking decisions.
* ``appealnet`` — every frame runs a light edge model at max clocks; frames whose softmax confidence
  is below a threshold appeal to the cloud (the compressed image, the evaluated model there) and take
  the cloud's answer (:mod:`~dvfo_core.evaluation.appeal` measures confidences and picks the threshold).
* ``drldo`` — a DQN over clocks and offload ratio without SCA (offloaded channels are not ranked) and
  without concurrency (blocking decisions).

The learned ones (``dvfs_only_drl``, ``drldo``) are :class:`PolicyController` instances built by
:mod:`~dvfo_core.evaluation.methods`; the others live here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from dvfo_core.device.network import BandwidthTrace, NetworkModel
from dvfo_core.evaluation.controllers import Choice, Controller, FrameContext
from dvfo_core.workload import Workload
from dvfo_core.world.actions import FrameAction
from dvfo_core.world.build import World
from dvfo_core.world.frame import FrameOutcome, GapPolicy
from dvfo_core.world.routes import Route


def _fixed(levels: Any, xi: float = 0.0) -> FrameAction:
    return FrameAction(levels.cpu, levels.gpu, levels.emc, xi)


class EdgeOnlyMax(Controller):
    """Full local inference at the top clocks."""

    name = "edge_only_max"

    def reset(self, world: World, eta: float) -> None:
        """Pin the clocks."""
        self.choice = Choice(_fixed(world.twin_model.max_levels()), world.local, gap=GapPolicy.HOLD)

    def decide(self, ctx: FrameContext) -> Choice:
        """Always the same."""
        return self.choice


class EdgeOnlyDefault(Controller):
    """Full local inference at the stock governors' operating point."""

    name = "edge_only_default"

    def reset(self, world: World, eta: float) -> None:
        """Take the twin's model of the default governors."""
        self.choice = Choice(_fixed(world.twin_model.default_levels()), world.local, gap=GapPolicy.STOCK)

    def decide(self, ctx: FrameContext) -> Choice:
        """Always the same."""
        return self.choice


class CloudOnly(Controller):
    """Send the compressed image; the cloud runs the whole model."""

    name = "cloud_only"

    def reset(self, world: World, eta: float) -> None:
        """The edge idles at its lowest clocks while the cloud works."""
        self.choice = Choice(
            _fixed(world.twin_model.min_levels(), 1.0), world.extras["cloud_only"], gap=GapPolicy.STOCK
        )

    def decide(self, ctx: FrameContext) -> Choice:
        """Always the same."""
        return self.choice


class _LinkMonitor:
    """The bandwidth/RTT a run-time system knows: the link seen by the last frame."""

    def __init__(self) -> None:
        self.mbps: float | None = None
        self.rtt_ms = 20.0

    def observe(self, outcome: FrameOutcome) -> None:
        if outcome.mbps > 0:
            self.mbps, self.rtt_ms = outcome.mbps, outcome.rtt_ms

    def network(self, ctx: FrameContext) -> NetworkModel:
        if self.mbps is None:  # start-up: a probe of the link at t=0, as Neurosurgeon's profiler does
            self.mbps, self.rtt_ms = ctx.network.trace.at(ctx.t_s)
        return NetworkModel(BandwidthTrace.constant(self.mbps, self.rtt_ms), ctx.network.radio)


class Neurosurgeon(Controller):
    """Per frame, the best of local / each split point / cloud-only at max clocks for the measured link."""

    name = "neurosurgeon"

    def reset(self, world: World, eta: float) -> None:
        """Candidates: every split point's route, full local and cloud-only."""
        self.world, self.eta = world, eta
        self.action = _fixed(world.twin_model.max_levels())
        self.candidates: list[Route] = [
            world.local,
            *world.extras["splits"].values(),
            world.extras["cloud_only"],
        ]
        self.monitor = _LinkMonitor()

    def decide(self, ctx: FrameContext) -> Choice:
        """Predict each candidate with the measured link, pick the cheapest."""
        net = self.monitor.network(ctx)
        w = self.world
        best, best_cost = self.candidates[0], float("inf")
        for route in self.candidates:
            out = w.frame(net, route, self.action, ctx.t_s, 0.0, GapPolicy.HOLD)
            c = w.cost.cost(out.energy_j, out.latency_s, self.eta)
            if c < best_cost:
                best, best_cost = route, c
        return Choice(self.action, best, gap=GapPolicy.HOLD)

    def observe(self, outcome: FrameOutcome, temperature_c: float) -> None:
        """Update the link estimate."""
        self.monitor.observe(outcome)


@dataclass(frozen=True)
class AppealData:
    """Per-image confidences and correctness of the edge model and the cloud (on real images)."""

    confidence: tuple[float, ...]  #: edge model's max softmax probability per image
    edge_correct: tuple[bool, ...]
    cloud_correct: tuple[bool, ...]
    threshold: float  #: appeal when confidence < threshold
    edge_model: str  #: the light model the edge runs

    @property
    def scheme_accuracy(self) -> float:
        """Top-1 of the appeal scheme over every image (not just the frames a run happened to see)."""
        right = [
            c if conf < self.threshold else e
            for conf, e, c in zip(self.confidence, self.edge_correct, self.cloud_correct, strict=True)
        ]
        return sum(right) / len(right) if right else float("nan")


class AppealNet(Controller):
    """The light edge model at max clocks; low-confidence frames appeal to the cloud's model."""

    name = "appealnet"

    def reset(self, world: World, eta: float) -> None:
        """Build the two routes: the edge model alone, and the edge model followed by an appeal."""
        self.data: AppealData = world.extras["appeal"]
        self.action = _fixed(world.twin_model.max_levels())
        local, cloud = world.extras["appeal_edge"], world.extras["cloud_only"]
        # an appealed frame: the local run finishes (its confidence decides), then the image goes up;
        # the deadline guard falls back on the edge model's own answer, already there
        self.appeal = Route(
            "appealnet:appeal",
            local.head + local.edge_tail,
            Workload("none"),
            cloud.cloud,
            cloud.payload_bytes,
            0.0,
        )
        self.local = local

    def decide(self, ctx: FrameContext) -> Choice:
        """Appeal when this frame's image is one the edge model is unsure of."""
        d = self.data
        i = ctx.k % len(d.confidence)
        edge = float(d.edge_correct[i])
        if d.confidence[i] < d.threshold:
            route = replace(self.appeal, accuracy=float(d.cloud_correct[i]), rescue_accuracy=edge)
        else:
            route = replace(self.local, accuracy=edge)
        return Choice(self.action, route, gap=GapPolicy.HOLD)
