"""The edge side of one frame, free of middleware: split inference, offload, fusion, accounting.

:class:`EdgePipeline` turns an image and the governor's current action into either a finished
result (nothing offloaded) or a pending frame plus the payload to send; a pending frame finishes
when the cloud answers (:meth:`EdgePipeline.on_cloud`) or its wait expires (:meth:`expire`), in
which case the edge output alone is used (fallback). The wait is the deadline guard's
(:func:`dvfo_core.world.frame.give_up_time`: the latest moment the edge can still finish alone by the
deadline), capped by ``cloud_timeout_s``.

Accounting, by backend:

* twin (:class:`Accountant`): every frame's stage times and edge energy are those of the modelled
  Jetson (:func:`dvfo_core.world.frame.simulate_frame` via the world's twin, network and cloud
  models) running the route as the split profile measured it: compute *and* payload at the
  profile's resolution, the numbers training and ``dvfo eval`` use. The bytes this checkpoint
  really sent (its own, often smaller, input size) are the result's ``payload_bytes``. On the
  modelled link, a frame the model rescues (the answer would come after the guard's give-up) is
  finished alone at that moment, as modelled; on a real link, a fallback frame is charged the edge
  idling at its clocks until the wait expired.
* sysfs (:class:`MeasuredAccountant`): stage times are this machine's, measured with
  ``time.perf_counter`` around the real calls (:class:`StageTimes`); energy, power, rails, clocks,
  temperature and utilisation are what the board reports (:class:`~dvfo_core.device.meter.BoardMeter`).
  No figure comes from the twin.

The real wall-clock time of each frame on this machine is kept either way (``wall_ms``).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from dvfo_core.device.meter import BoardMeter, BoardReading
from dvfo_core.link.estimate import LinkEstimator
from dvfo_core.split.codec import EncodedFeatures
from dvfo_core.split.runner import HeadOutput, SplitRunner
from dvfo_core.world.actions import FrameAction
from dvfo_core.world.frame import FrameOutcome, GapPolicy, give_up_time, simulate_frame
from dvfo_core.world.routes import INPUT


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
    outcome: FrameOutcome  #: stage times and energy: modelled (twin) or measured (sysfs)
    wall_ms: float  #: real time on this machine from image to result
    compute_ms: float  #: real compute time on this machine (head, codec, edge tail, fusion)
    board: BoardReading | None = None  #: what the board read back (sysfs; None on the twin)


@dataclass
class StageTimes:
    """``time.perf_counter`` instants of one frame on this machine (NaN: not reached)."""

    start: float  #: the image is in the head
    head_done: float = math.nan  #: preprocessing + head + SCA + partition + encoding (plain model at xi = 0)
    edge_done: float = math.nan  #: edge tail on the primary channels
    sent: float = math.nan  #: payload handed to the middleware
    answered: float = math.nan  #: the cloud's answer arrived, or the edge stopped waiting for it
    end: float = math.nan  #: fused result
    cloud_s: float = math.nan  #: the tail's own report: compute + queue on the server
    mark: float = math.nan  #: the board meter's start mark (sysfs)


@dataclass
class FrameRun:
    """One frame as it went on this machine, handed to the accountant when it finishes."""

    action: FrameAction
    payload_bytes: int
    planned: FrameOutcome | None  #: the twin's modelled frame (None on sysfs)
    times: StageTimes
    cloud_used: bool = False
    gave_up: bool = False  #: waited for the cloud in vain (time-out or rejection)
    give_up_s: float = math.inf  #: when the edge stops waiting, seconds from the frame's start
    modelled_rescue: bool = False  #: the modelled link's answer comes after the guard gives up
    late_tail: bool = False  #: then ran the tail on every channel (xi = 1)


@dataclass
class PendingFrame:
    """A frame waiting for its cloud half."""

    seq: int
    stamp: Any
    head_out: HeadOutput | None  #: None on the image route (the edge ran nothing yet)
    edge_logits: torch.Tensor | None
    run: FrameRun
    started_s: float
    expires_s: float
    payload: EncodedFeatures
    compute_ms: float
    runner: SplitRunner  #: the split point's runner that ran the head (fusion and rescue too)
    image: torch.Tensor | None = None  #: the model input, kept on the image route for the rescue


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
    guard: bool = True  #: the deadline guard (:func:`dvfo_core.world.frame.give_up_time`) is on

    def begin(self) -> float:
        """A frame starts (nothing to mark on the twin)."""
        return math.nan

    def plan(self, action: FrameAction, now_s: float) -> FrameOutcome | None:
        """The modelled frame, known as soon as the edge part ran (it paces the link shaping)."""
        return self.outcome(action, now_s)

    def settle(self, run: FrameRun, cloud_timeout_s: float) -> tuple[FrameOutcome, BoardReading | None]:
        """The finished frame's accounting: the plan, or the fallback when the cloud never answered."""
        if run.gave_up and run.modelled_rescue:
            return run.planned, None  # the modelled link's give-up, exactly as the twin charged it
        if run.gave_up:
            waited_s = min(run.give_up_s, cloud_timeout_s) - run.planned.head_s
            return self.fallback(run.planned, waited_s, run.late_tail), None
        return run.planned, None

    def rescue(self, action: FrameAction) -> Any:
        """The twin's stage of the edge finishing a frame of ``action`` alone (the route's rescue)."""
        route = self.world.routes.route(action.split, action.xi)
        return self.world.twin.stage(route.rescue, action.levels)

    def rescue_s(self, action: FrameAction) -> float:
        """The twin's time for the edge to finish a frame of ``action`` alone."""
        return float(self.rescue(action).latency_s)

    @property
    def deadline_s(self) -> float:
        """The frame deadline."""
        return float(self.world.cost.deadline_s)

    def trace_time(self, now_s: float) -> float:
        """Seconds since the pipeline started: the position in the bandwidth trace."""
        return now_s - self.t0_s

    def outcome(self, action: FrameAction, now_s: float) -> FrameOutcome:
        """The modelled frame of ``action``'s route starting at ``now_s``."""
        route = self.world.routes.route(action.split, action.xi)
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
            self.guard,
        )

    def fallback(self, out: FrameOutcome, waited_s: float, late_tail: bool = False) -> FrameOutcome:
        """The frame as it really went: the cloud never answered and the edge idled until ``waited_s``
        after the payload left. ``late_tail``: the edge then finished the frame alone (xi = 1: the
        route's rescue — the tail on every channel at a split, the plain model on the image route)."""
        remote_wait = max(0.0, waited_s - out.edge_tail_s)
        idle_j = self.world.twin.idle(remote_wait, out.action.levels).energy_j if remote_wait > 0 else 0.0
        extra_s = extra_j = 0.0
        if late_tail:
            late = self.rescue(out.action)
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


@dataclass
class MeasuredAccountant(Accountant):
    """Frames accounted from measurements on a real Jetson (``backend: sysfs``).

    Stage times come from :class:`StageTimes`; energy, power, rails, clocks, temperature and
    utilisation from ``meter`` over the window from the frame's start mark to its result. The link
    estimate (bandwidth, RTT) is the pipeline's :class:`~dvfo_core.link.estimate.LinkEstimator`
    (the head always gives one on sysfs; without one, the configured trace); the world supplies
    routes and the deadline, never costs.
    """

    meter: BoardMeter | None = None

    def begin(self) -> float:
        """Mark the frame's start on the board meter."""
        return self.meter.mark()

    def plan(self, action: FrameAction, now_s: float) -> FrameOutcome | None:
        """Nothing is modelled: the frame is known when it ends."""
        return None

    def settle(self, run: FrameRun, cloud_timeout_s: float) -> tuple[FrameOutcome, BoardReading | None]:
        """The frame as measured: stage times on this machine, energy from the rails."""
        t = run.times
        board = self.meter.reading(t.mark, self.meter.mark())
        head_s = t.head_done - t.start
        if run.payload_bytes > 0:
            sent = t.sent if math.isfinite(t.sent) else t.edge_done  # never sent: left waiting
            cloud_s = t.cloud_s if run.cloud_used and math.isfinite(t.cloud_s) else 0.0
            edge_tail_s = (t.edge_done - t.head_done) + (t.end - t.answered)
            transmit_s = max(0.0, t.answered - sent - cloud_s)
            wait_s = max(0.0, t.answered - t.edge_done)
        else:
            edge_tail_s, transmit_s, cloud_s, wait_s = t.end - t.head_done, 0.0, 0.0, 0.0
        latency_s = t.end - t.start
        now = time.monotonic()
        mbps, rtt_ms = self.network.trace.at(self.trace_time(now))
        period = self.period_s if self.period_s is not None else 0.0
        out = FrameOutcome(
            t_s=self.trace_time(now - latency_s),
            latency_s=latency_s,
            energy_j=board.energy_j,
            head_s=head_s,
            edge_tail_s=edge_tail_s,
            transmit_s=transmit_s,
            cloud_s=cloud_s,
            wait_s=wait_s,
            decision_s=0.0,
            compute_energy_j=math.nan,  # the rails see the board, not the stages
            idle_energy_j=math.nan,
            radio_energy_j=math.nan,
            payload_bytes=float(run.payload_bytes),
            accuracy=math.nan,
            mbps=float(mbps),
            rtt_ms=float(rtt_ms),
            power_w=board.power_w,
            deadline_missed=latency_s > self.world.cost.deadline_s,
            action=run.action,
            route=self.world.routes.route(run.action.split, run.action.xi).name,
            gap_s=max(0.0, period - latency_s),
            gap_energy_j=0.0,  # the gap lies after the result: not in this frame's window
        )
        return out, board


class EdgePipeline:
    """Head + SCA, partition by ``xi``, edge tail, payload, fusion, for one robot."""

    def __init__(
        self,
        runner: SplitRunner,
        accountant: Accountant,
        cloud_timeout_s: float = 0.5,
        link: LinkEstimator | None = None,
        other_splits: Sequence[SplitRunner] = (),
    ) -> None:
        """``link``: on a real link, the estimator fed with every offloaded frame's transfer; the
        frames' ``mbps`` and ``rtt_ms`` are then its estimate instead of the configured trace's.
        ``runner`` runs the plain model, the image route and its split point's channel split;
        ``other_splits`` the channel splits at further split points (their own checkpoints)."""
        for other in other_splits:
            if (other.model, other.image_shape) != (runner.model, runner.image_shape):
                raise ValueError(
                    f"split runners disagree: {other.model} at {other.image_shape} with "
                    f"{runner.model} at {runner.image_shape}"
                )
        self.runner = runner
        #: the runner of each split point this head can run a channel split at
        self.runners = {r.split: r for r in (*other_splits, runner)}
        self.acct = accountant
        self.cloud_timeout_s = cloud_timeout_s
        self.link = link
        self.pending: dict[int, PendingFrame] = {}
        self.seq = 0

    def start(self, image: np.ndarray, stamp: Any, action: FrameAction, cloud_up: bool = True) -> Started:
        """Run the edge part of one frame. ``cloud_up=False`` forces edge-only (nobody serves the tail)."""
        times = StageTimes(math.nan, mark=self.acct.begin())
        times.start = time.perf_counter()
        t_start = time.monotonic()
        self.seq += 1
        xi = action.xi if cloud_up else 0.0
        act = action if xi == action.xi else dataclasses.replace(action, xi=0.0)
        x = self.runner.preprocess(image)
        runner = self.runners.get(act.split, self.runner)  # the default one: plain model, image route
        if act.xi == 0.0:  # the plain local model: no SCA, no partition, no codec
            head_out, payload, edge_logits = None, None, self.runner.plain(x)
            times.head_done = times.edge_done = time.perf_counter()
        elif act.split == INPUT:  # the image route: the model input itself to the cloud
            head_out, payload, edge_logits = None, self.runner.encode_image(x), None
            times.head_done = times.edge_done = time.perf_counter()
        else:  # the channel split at the action's split point (its own checkpoint)
            head_out = runner.head(x)
            primary, secondary = runner.partition(head_out, act.xi)
            payload = runner.encode_secondary(head_out, secondary)
            times.head_done = time.perf_counter()
            edge_logits = runner.edge_tail(head_out, primary)
            times.edge_done = time.perf_counter()
        compute_ms = (times.edge_done - times.start) * 1e3
        nbytes = payload.nbytes if payload is not None else 0
        run = FrameRun(act, nbytes, self.acct.plan(act, t_start), times)
        if payload is None:
            fused = self.runner.fuse(edge_logits, None, act.xi)
            fallback = not cloud_up and action.xi > 0
            return Started(
                result=self._result(self.seq, stamp, fused, run, fallback, t_start, compute_ms),
                seq=self.seq,
            )
        planned = run.planned
        wait_s = self._wait_s(run, compute_ms / 1e3)
        self.pending[self.seq] = PendingFrame(
            self.seq,
            stamp,
            head_out,
            edge_logits,
            run,
            t_start,
            t_start + wait_s,
            payload,
            compute_ms,
            runner,
            x if head_out is None else None,
        )
        send_after = planned.head_s + planned.transmit_s if planned is not None else 0.0
        return Started(payload=payload, send_after_s=send_after, seq=self.seq)

    def _wait_s(self, run: FrameRun, compute_s: float) -> float:
        """How long a frame that offloaded waits for the cloud, in seconds from its start."""
        planned = run.planned
        if planned is not None and self.link is None:
            # the modelled link holds the payload for its modelled time: the answer comes then,
            # unless the twin's deadline guard gives up first
            if planned.rescued:
                run.modelled_rescue = True
                run.give_up_s = planned.latency_s - self.acct.rescue_s(run.action)
                return run.give_up_s
            return max(self.cloud_timeout_s, planned.latency_s)
        if self.acct.guard:  # a real link: the guard's give-up from what the frame took so far
            run.give_up_s = give_up_time(compute_s, self.acct.deadline_s, self.acct.rescue_s(run.action))
        return min(self.cloud_timeout_s, run.give_up_s)

    def mark_sent(self, seq: int) -> None:
        """Frame ``seq``'s payload was handed to the middleware now."""
        frame = self.pending.get(seq)
        if frame is not None:
            frame.run.times.sent = time.perf_counter()

    def on_cloud(self, seq: int, logits: np.ndarray | None, cloud_s: float = math.nan) -> FrameResult | None:
        """Fuse the cloud's answer for frame ``seq`` (None for an unknown or expired frame).

        ``logits=None`` means the cloud rejected the frame: the edge output alone is used.
        ``cloud_s``: the tail's own compute + queue time for the frame, as it reported it.
        """
        frame = self.pending.pop(seq, None)
        if frame is None:
            return None
        frame.run.times.answered = time.perf_counter()
        frame.run.times.cloud_s = cloud_s
        self._measure(frame, lost=False)
        if logits is None:
            return self._fallback(frame)
        t0 = time.perf_counter()
        cloud = torch.as_tensor(np.asarray(logits, dtype=np.float32))
        fused = frame.runner.fuse(frame.edge_logits, cloud, frame.run.action.xi)
        compute_ms = frame.compute_ms + (time.perf_counter() - t0) * 1e3
        frame.run.cloud_used = True
        return self._result(frame.seq, frame.stamp, fused, frame.run, False, frame.started_s, compute_ms)

    def expire(self, now_s: float | None = None) -> list[FrameResult]:
        """Finish, edge-only, every pending frame whose wait for the cloud has run out."""
        now_s = time.monotonic() if now_s is None else now_s
        late = [s for s, f in self.pending.items() if f.expires_s <= now_s]
        return [self._fallback(self.pending.pop(s)) for s in sorted(late)]

    def _fallback(self, frame: PendingFrame) -> FrameResult:
        t0 = time.perf_counter()
        if math.isnan(frame.run.times.answered):  # timed out (a rejection stamped its answer)
            frame.run.times.answered = t0
            self._measure(frame, lost=True)
        logits = frame.edge_logits
        late_tail = logits is None  # xi = 1: the edge has no output; finish the frame late (the rescue)
        if late_tail and frame.head_out is None:  # the image route: the plain model
            logits = frame.runner.plain(frame.image)
        elif late_tail:  # every channel sent: the tail on all of them
            logits = frame.runner.fallback_tail(frame.head_out)
        fused = frame.runner.fuse(logits, None, 0.0)
        frame.run.gave_up, frame.run.late_tail = True, late_tail
        compute_ms = frame.compute_ms + (time.perf_counter() - t0) * 1e3
        return self._result(frame.seq, frame.stamp, fused, frame.run, True, frame.started_s, compute_ms)

    def _measure(self, frame: PendingFrame, lost: bool) -> None:
        """Feed the link estimator with the frame's transfer: payload sent -> answer, less the cloud's
        own report; or, ``lost``, the time it waited in vain. A payload never sent tells nothing."""
        t = frame.run.times
        if self.link is None or not math.isfinite(t.sent):
            return
        now = time.monotonic()
        if lost:
            self.link.lost(frame.run.payload_bytes, t.answered - t.sent, now)
        else:
            cloud_s = t.cloud_s if math.isfinite(t.cloud_s) else 0.0
            self.link.add(frame.run.payload_bytes, t.answered - t.sent - cloud_s, now)

    def _result(
        self,
        seq: int,
        stamp: Any,
        fused: Any,
        run: FrameRun,
        fallback: bool,
        started_s: float,
        compute_ms: float,
    ) -> FrameResult:
        run.times.end = time.perf_counter()
        outcome, board = self.acct.settle(run, self.cloud_timeout_s)
        outcome = dataclasses.replace(outcome, payload_bytes=float(run.payload_bytes))  # what was sent
        if self.link is not None:  # a real link: its estimate, not the trace
            est = self.link.estimate(time.monotonic())
            outcome = dataclasses.replace(outcome, mbps=est.mbps, rtt_ms=est.rtt_ms)
        logits = fused.logits.detach().cpu().numpy().astype(np.float32).reshape(-1)
        return FrameResult(
            seq=seq,
            stamp=stamp,
            logits=logits,
            class_id=int(fused.class_id),
            confidence=float(fused.confidence),
            action=run.action,
            cloud_used=run.cloud_used,
            fallback=fallback,
            outcome=outcome,
            wall_ms=(time.monotonic() - started_s) * 1e3,
            compute_ms=compute_ms,
            board=board,
        )
