"""The link estimate from the robot's own transfers (dvfo_core.link.estimate), as a specification.

A transfer of ``nbytes`` on a link of ``mbps`` and ``rtt_ms`` takes ``rtt + bits / bandwidth``; the
estimator sees only the sizes and the times (the cloud's compute time already taken out).
"""

from __future__ import annotations

import math
import random

import pytest

from dvfo_core.link.estimate import LinkEstimator

PRIOR = (10.0, 20.0)  #: the prior link: 10 Mbps, 20 ms
SIZES = (4096, 8192)  #: payloads of two sizes, as a governor varying xi sends them
PERIOD_S = 0.25  #: one offloaded frame every camera period (4 Hz)


def seconds(nbytes: float, mbps: float, rtt_ms: float) -> float:
    """The true round trip of ``nbytes`` on the link."""
    return rtt_ms / 1e3 + nbytes * 8 / (mbps * 1e6)


def feed(est: LinkEstimator, mbps: float, rtt_ms: float, n: int, t0: float = 0.0, jitter_s: float = 0.0,
         sizes: tuple[int, ...] = SIZES) -> float:
    """``n`` transfers on the link, one per camera period from ``t0``; returns the last one's time."""
    rng = random.Random(7)
    t = t0
    for i in range(n):
        t += PERIOD_S
        nbytes = sizes[i % len(sizes)]
        est.add(nbytes, seconds(nbytes, mbps, rtt_ms) + rng.uniform(0.0, jitter_s), t)
    return t


def test_without_transfers_the_estimate_is_the_prior() -> None:
    est = LinkEstimator(*PRIOR).estimate(123.0)
    assert (est.mbps, est.rtt_ms, est.weight) == (pytest.approx(10.0), pytest.approx(20.0), 0.0)


@pytest.mark.parametrize(("mbps", "rtt_ms"), [(0.5, 3.0), (2.0, 30.0), (8.0, 50.0)])
def test_on_a_steady_link_it_converges_to_the_links_bandwidth_and_rtt(mbps: float, rtt_ms: float) -> None:
    est = LinkEstimator(*PRIOR)
    t = feed(est, mbps, rtt_ms, 30)
    got = est.estimate(t)
    assert got.mbps == pytest.approx(mbps, rel=0.2)
    assert got.rtt_ms == pytest.approx(rtt_ms, rel=0.1, abs=2.0)


def test_with_timing_noise_it_still_predicts_the_transfer_times() -> None:
    est = LinkEstimator(*PRIOR)
    t = feed(est, 2.0, 30.0, 40, jitter_s=0.005)  # up to 5 ms late, as a loaded machine answers
    got = est.estimate(t)
    for nbytes in SIZES:
        assert got.transfer_s(nbytes) == pytest.approx(seconds(nbytes, 2.0, 30.0), rel=0.1)


def test_with_one_payload_size_it_predicts_that_sizes_transfer_time() -> None:
    # one size fixes only rtt + bits / bandwidth at that size: the prior splits it
    est = LinkEstimator(*PRIOR)
    t = feed(est, 0.5, 3.0, 30, sizes=(8192,))
    assert est.estimate(t).transfer_s(8192) == pytest.approx(seconds(8192, 0.5, 3.0), rel=0.1)
    assert est.estimate(t).mbps < 1.0


def test_it_follows_a_step_down_in_bandwidth_within_six_transfers() -> None:
    est = LinkEstimator(*PRIOR)
    t = feed(est, 8.0, 3.0, 30)
    t = feed(est, 0.5, 3.0, 6, t0=t)
    got = est.estimate(t)
    assert got.mbps < 1.5
    for nbytes in SIZES:
        assert got.transfer_s(nbytes) == pytest.approx(seconds(nbytes, 0.5, 3.0), rel=0.3)


def test_it_follows_a_step_up_in_rtt_within_six_transfers() -> None:
    est = LinkEstimator(*PRIOR)
    t = feed(est, 2.0, 5.0, 30)
    t = feed(est, 2.0, 205.0, 6, t0=t)
    got = est.estimate(t)
    assert got.rtt_ms > 150.0
    for nbytes in SIZES:
        assert got.transfer_s(nbytes) == pytest.approx(seconds(nbytes, 2.0, 205.0), rel=0.2)


def test_lost_answers_count_as_a_bad_link() -> None:
    est = LinkEstimator(*PRIOR)
    t = feed(est, 8.0, 3.0, 30)
    for _ in range(3):  # the link went silent: three frames waited 1 s each in vain
        t += 1.0
        est.lost(8192, 1.0, t)
    got = est.estimate(t)
    assert got.transfer_s(8192) > 0.5
    assert got.mbps < 1.0
    assert est.lost_answers == 3 and est.transfers == 30


def test_a_recent_estimate_holds_while_nothing_is_offloaded_for_a_moment() -> None:
    est = LinkEstimator(*PRIOR)
    t = feed(est, 0.5, 3.0, 30)
    assert est.estimate(t + 1.0).mbps == pytest.approx(0.5, rel=0.15)


def test_it_ages_back_to_the_prior_when_nothing_is_offloaded_for_a_minute() -> None:
    # the policy stopped offloading because the link looked bad: the estimate must not freeze there
    est = LinkEstimator(*PRIOR)
    t = feed(est, 0.5, 300.0, 30)
    got = est.estimate(t + 60.0)
    assert got.mbps == pytest.approx(10.0, rel=0.1)
    assert got.rtt_ms == pytest.approx(20.0, rel=0.1)
    assert got.weight < 0.01


@pytest.mark.parametrize(("nbytes", "secs"), [(0, 0.0), (0, 5.0), (8192, 0.0), (8192, -1.0), (1e12, 1e-9)])
def test_degenerate_transfers_give_a_finite_bounded_estimate(nbytes: float, secs: float) -> None:
    est = LinkEstimator(*PRIOR)
    for i in range(10):
        est.add(nbytes, secs, float(i))
    got = est.estimate(10.0)
    assert math.isfinite(got.mbps) and 0 < got.mbps <= 1000
    assert math.isfinite(got.rtt_ms) and 0 <= got.rtt_ms <= 60_000
