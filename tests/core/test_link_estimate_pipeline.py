"""On a real link the edge pipeline's frames carry the link estimate measured from their own
transfers; with the modelled link, the trace's."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from dvfo_core.device.network import BandwidthTrace, NetworkModel
from dvfo_core.edge_pipeline import Accountant, EdgePipeline
from dvfo_core.link.estimate import LinkEstimator
from dvfo_core.world.actions import FrameAction

TRACE = BandwidthTrace.constant(2.0, 20.0)


def _pipeline(parts: tuple, link: LinkEstimator | None) -> tuple[EdgePipeline, FrameAction]:
    runner, world = parts
    top = world.twin_model.max_levels()
    acct = Accountant(world, NetworkModel(TRACE))
    return EdgePipeline(runner, acct, 0.5, link), FrameAction(top.cpu, top.gpu, top.emc, 0.5, runner.split)


def _offload(pipe: EdgePipeline, action: FrameAction) -> int:
    started = pipe.start(np.zeros((32, 32, 3), np.uint8), None, action)
    assert started.payload is not None
    pipe.mark_sent(started.seq)
    return started.seq


def test_answered_frames_feed_the_estimate_and_carry_it(parts: tuple) -> None:
    link = LinkEstimator.from_trace(TRACE)
    pipe, action = _pipeline(parts, link)
    logits = np.zeros(10, np.float32)
    results = [pipe.on_cloud(_offload(pipe, action), logits, cloud_s=0.0) for _ in range(5)]
    assert link.transfers == 5 and link.lost_answers == 0
    last = results[-1].outcome
    est = link.estimate(time.monotonic())  # a moment later: aged by a fraction of a half-life
    assert last.mbps == pytest.approx(est.mbps, rel=0.05)
    assert last.rtt_ms == pytest.approx(est.rtt_ms, rel=0.05)
    # answers within milliseconds on this machine: a much faster link than the 2 Mbps prior
    assert last.mbps > 2.0 and last.rtt_ms < 20.0


def test_a_frame_left_waiting_is_a_lost_answer(parts: tuple) -> None:
    link = LinkEstimator.from_trace(TRACE)
    pipe, action = _pipeline(parts, link)
    _offload(pipe, action)
    (result,) = pipe.expire(math.inf)
    assert result.fallback and link.lost_answers == 1 and link.transfers == 0


def test_without_an_estimator_the_frames_carry_the_trace(parts: tuple) -> None:
    pipe, action = _pipeline(parts, None)
    result = pipe.on_cloud(_offload(pipe, action), np.zeros(10, np.float32), cloud_s=0.0)
    assert (result.outcome.mbps, result.outcome.rtt_ms) == (pytest.approx(2.0), pytest.approx(20.0))
