"""The head stops waiting for the cloud when the deadline guard says so: on the modelled link at
the moment the twin gives up, on a real link as soon as finishing alone would just meet the deadline."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from dvfo_core.device.network import BandwidthTrace, NetworkModel
from dvfo_core.edge_pipeline import Accountant, EdgePipeline
from dvfo_core.link.estimate import LinkEstimator
from dvfo_core.world.actions import FrameAction
from dvfo_core.world.frame import give_up_time

CRAWL = BandwidthTrace.constant(0.02, 20.0)  # an offloaded frame would take seconds
TIMEOUT_S = 5.0


def _offload(parts: tuple, link: LinkEstimator | None) -> tuple[EdgePipeline, int, FrameAction]:
    runner, world = parts
    top = world.twin_model.max_levels()
    action = FrameAction(top.cpu, top.gpu, top.emc, 1.0, runner.split)  # every channel sent
    pipe = EdgePipeline(runner, Accountant(world, NetworkModel(CRAWL)), TIMEOUT_S, link)
    started = pipe.start(np.zeros((32, 32, 3), np.uint8), None, action)
    assert started.payload is not None
    pipe.mark_sent(started.seq)
    return pipe, started.seq, action


def test_on_the_modelled_link_the_frame_ends_when_the_twin_gives_up(parts: tuple) -> None:
    pipe, seq, action = _offload(parts, None)
    frame = pipe.pending[seq]
    planned = frame.run.planned
    assert planned.rescued and not planned.deadline_missed
    give_up = planned.latency_s - pipe.acct.rescue_s(action)
    assert frame.expires_s - frame.started_s == pytest.approx(give_up)
    assert give_up < pipe.acct.deadline_s < TIMEOUT_S
    assert pipe.expire(frame.started_s + 0.99 * give_up) == []
    (result,) = pipe.expire(frame.started_s + give_up)
    # the edge finished every channel alone; the accounting is the twin's rescued frame
    assert result.fallback and not result.cloud_used
    # (the modelled frame carries the profile's payload; the result says what was really sent)
    assert result.outcome == dataclasses.replace(planned, payload_bytes=frame.run.payload_bytes)
    assert result.logits.shape == (10,)
    assert pipe.on_cloud(seq, np.zeros(10, np.float32)) is None  # a late answer is dropped


def test_on_a_real_link_the_wait_is_the_guards_capped_by_the_timeout(parts: tuple) -> None:
    link = LinkEstimator.from_trace(CRAWL)
    pipe, seq, action = _offload(parts, link)
    frame = pipe.pending[seq]
    expected = give_up_time(frame.compute_ms / 1e3, pipe.acct.deadline_s, pipe.acct.rescue_s(action))
    assert frame.expires_s - frame.started_s == pytest.approx(min(TIMEOUT_S, expected))
    (result,) = pipe.expire(math.inf)
    assert result.fallback and link.lost_answers == 1
    # charged as waited: until the give-up, then the tail on every channel
    assert result.outcome.latency_s == pytest.approx(expected + pipe.acct.rescue_s(action), rel=1e-6)
