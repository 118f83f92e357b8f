"""The edge side of one frame, free of middleware: split inference, offload, fusion, accounting.

:class:`EdgePipeline` turns an image and the governor's current action into either a finished
result (nothing offloaded) or a pending frame plus the payload to send; a pending frame finishes
when the cloud answers (:meth:`EdgePipeline.on_cloud`) or its wait expires (:meth:`expire`), in
which case the edge output alone is used (fallback).

Accounting: on the digital twin every frame's stage times and edge energy are those of the modelled
Jetson (:func:`dvfo_core.world.frame.simulate_frame` via the world's twin, network and cloud
models, with this frame's real payload size). A fallback frame is charged the edge idling at its
clocks until the wait expired. The real wall-clock time of each stage on this machine is kept
next to it (``wall_ms``).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from dvfo_core.split.codec import EncodedFeatures
from dvfo_core.split.runner import HeadOutput, SplitRunner
from dvfo_core.world.actions import FrameAction
from dvfo_core.world.frame import FrameOutcome, GapPolicy, simulate_frame


@dataclass
class FrameResult:
    """A finished frame: fused prediction plus its accounting."""

    seq: int
    stamp: Any
    logits: np.ndarray
    class_id: int
    confidence: float
    action: FrameAction
    cloud_used: bool
    fallback: bool
    outcome: FrameOutcome  #: modelled Jetson stage times and energy (fallback included)
    wall_ms: float  #: real time on this machine from image to result
    compute_ms: float  #: real compute time on this machine (head, codec, edge tail, fusion)


@dataclass
class PendingFrame:
    """A frame waiting for its cloud half."""

    seq: int
    stamp: Any
    head_out: HeadOutput
    edge_logits: torch.Tensor | None
    action: FrameAction
    outcome: FrameOutcome
    started_s: float
    expires_s: float
    payload: EncodedFeatures
    compute_ms: float


@dataclass
class Started:
    """What :meth:`EdgePipeline.start` produced: a result now, or a payload to send and a wait."""

    result: FrameResult | None = None
    payload: EncodedFeatures | None = None
    send_after_s: float = 0.0  #: modelled time before the payload has crossed the link (shaping)
    seq: int = 0


@dataclass
class Accountant:
    """The modelled Jetson, link and cloud of a frame (a :class:`~dvfo_core.learning.env.World`)."""

    world: Any
    network: Any
    t0_s: float = field(default_factory=time.monotonic)
    gap: GapPolicy = GapPolicy.HOLD  #: what the governing method does with the clocks between frames
    period_s: float | None = None  #: the camera's period as measured (None: the world's modelled one)

    def trace_time(self, now_s: float) -> float:
        """Seconds since the pipeline started: the position in the bandwidth trace."""
        return now_s - self.t0_s

    def outcome(self, action: FrameAction, payload_bytes: float, now_s: float) -> FrameOutcome:
        """Modelled frame with this frame's real payload size."""
        route = self.world.routes.route(action.split, action.xi)
        if route.offloads:
            route = dataclasses.replace(route, payload_bytes=float(payload_bytes))
        w = self.world
        period = self.period_s if self.period_s is not None else w.period_s
        return simulate_frame(
            w.twin,
            self.network,
            w.cloud,
            route,
            action,
            self.trace_time(now_s),
            w.cost.deadline_s,
            0.0,
            period,
            self.gap,
        )

    def fallback(self, out: FrameOutcome, waited_s: float, late_tail: bool = False) -> FrameOutcome:
        """The frame as it really went: the cloud never answered and the edge idled until ``waited_s``
        after the payload left. ``late_tail``: the edge then ran the tail on every channel (xi = 1)."""
        twin = self.world.twin
        levels = out.action.levels
        remote_wait = max(0.0, waited_s - out.edge_tail_s)
        idle_j = twin.idle(remote_wait, levels).energy_j if remote_wait > 0 else 0.0
        extra_s = extra_j = 0.0
        if late_tail:
            # the profile's fallback work at xi = 1: the tail on every channel at the split
            split = out.action.split or self.world.split
            late = twin.stage(self.world.extras["profiles"][split].at(1.0).fallback_edge, levels)
            extra_s, extra_j = late.latency_s, late.energy_j
        latency_s = out.head_s + max(out.edge_tail_s, waited_s) + extra_s
        compute_j = out.compute_energy_j + extra_j
        return dataclasses.replace(
            out,
            latency_s=latency_s,
            energy_j=compute_j + idle_j + out.radio_energy_j,
            edge_tail_s=out.edge_tail_s + extra_s,
            wait_s=remote_wait,
            compute_energy_j=compute_j,
            idle_energy_j=idle_j,
            cloud_s=0.0,
            deadline_missed=latency_s > self.world.cost.deadline_s,
        )


class EdgePipeline:
    """Head + SCA, partition by ``xi``, edge tail, payload, fusion, for one robot."""

    def __init__(self, runner: SplitRunner, accountant: Accountant, cloud_timeout_s: float = 0.5) -> None:
        self.runner = runner
        self.acct = accountant
        self.cloud_timeout_s = cloud_timeout_s
        self.pending: dict[int, PendingFrame] = {}
        self.seq = 0

    def start(self, image: np.ndarray, stamp: Any, action: FrameAction, cloud_up: bool = True) -> Started:
        """Run the edge part of one frame. ``cloud_up=False`` forces edge-only (nobody serves the tail)."""
        t_start = time.monotonic()
        self.seq += 1
        xi = action.xi if cloud_up else 0.0
        act = action if xi == action.xi else dataclasses.replace(action, xi=0.0)
        x = self.runner.preprocess(image)
        if act.xi == 0.0:  # the plain local model: no SCA, no partition, no codec
            head_out, payload, edge_logits = None, None, self.runner.plain(x)
        else:
            head_out = self.runner.head(x)
            primary, secondary = self.runner.partition(head_out, act.xi)
            payload = self.runner.encode_secondary(head_out, secondary)
            edge_logits = self.runner.edge_tail(head_out, primary)
        compute_ms = (time.monotonic() - t_start) * 1e3
        outcome = self.acct.outcome(act, payload.nbytes if payload is not None else 0, t_start)
        if payload is None:
            fused = self.runner.fuse(edge_logits, None, act.xi)
            fallback = not cloud_up and action.xi > 0
            return Started(
                result=self._result(
                    self.seq, stamp, fused, act, False, fallback, outcome, t_start, compute_ms
                ),
                seq=self.seq,
            )
        self.pending[self.seq] = PendingFrame(
            self.seq,
            stamp,
            head_out,
            edge_logits,
            act,
            outcome,
            t_start,
            t_start + max(self.cloud_timeout_s, outcome.latency_s),
            payload,
            compute_ms,
        )
        return Started(payload=payload, send_after_s=outcome.head_s + outcome.transmit_s, seq=self.seq)

    def on_cloud(self, seq: int, logits: np.ndarray | None) -> FrameResult | None:
        """Fuse the cloud's answer for frame ``seq`` (None for an unknown or expired frame).

        ``logits=None`` means the cloud rejected the frame: the edge output alone is used.
        """
        frame = self.pending.pop(seq, None)
        if frame is None:
            return None
        if logits is None:
            return self._fallback(frame)
        t0 = time.monotonic()
        cloud = torch.as_tensor(np.asarray(logits, dtype=np.float32))
        fused = self.runner.fuse(frame.edge_logits, cloud, frame.action.xi)
        compute_ms = frame.compute_ms + (time.monotonic() - t0) * 1e3
        return self._result(
            frame.seq,
            frame.stamp,
            fused,
            frame.action,
            True,
            False,
            frame.outcome,
            frame.started_s,
            compute_ms,
        )

    def expire(self, now_s: float | None = None) -> list[FrameResult]:
        """Finish, edge-only, every pending frame whose wait for the cloud has run out."""
        now_s = time.monotonic() if now_s is None else now_s
        late = [s for s, f in self.pending.items() if f.expires_s <= now_s]
        return [self._fallback(self.pending.pop(s)) for s in sorted(late)]

    def _fallback(self, frame: PendingFrame) -> FrameResult:
        t0 = time.monotonic()
        logits = frame.edge_logits
        late_tail = logits is None  # xi = 1: the edge has no tail output; finish every channel late
        if late_tail:
            logits = self.runner.fallback_tail(frame.head_out)
        fused = self.runner.fuse(logits, None, 0.0)
        outcome = self.acct.fallback(frame.outcome, self.cloud_timeout_s, late_tail)
        compute_ms = frame.compute_ms + (time.monotonic() - t0) * 1e3
        return self._result(
            frame.seq, frame.stamp, fused, frame.action, False, True, outcome, frame.started_s, compute_ms
        )

    def _result(
        self,
        seq: int,
        stamp: Any,
        fused: Any,
        action: FrameAction,
        cloud_used: bool,
        fallback: bool,
        outcome: FrameOutcome,
        started_s: float,
        compute_ms: float,
    ) -> FrameResult:
        logits = fused.logits.detach().cpu().numpy().astype(np.float32).reshape(-1)
        return FrameResult(
            seq=seq,
            stamp=stamp,
            logits=logits,
            class_id=int(fused.class_id),
            confidence=float(fused.confidence),
            action=action,
            cloud_used=cloud_used,
            fallback=fallback,
            outcome=outcome,
            wall_ms=(time.monotonic() - started_s) * 1e3,
            compute_ms=compute_ms,
        )
