"""A DVFS governor drops the clocks between frames only when the gap pays for two actuations."""

from __future__ import annotations

from dvfo_core.governor import GAP_POLICY, GapScheduler
from dvfo_core.world.frame import ACTUATION_S, GapPolicy

MS = 1_000_000


def test_nothing_is_dropped_before_the_camera_period_is_known() -> None:
    gaps = GapScheduler()
    assert gaps.on_result(0, 20 * MS) is None


def test_the_clocks_come_back_one_actuation_before_the_next_frame() -> None:
    gaps = GapScheduler()
    gaps.on_result(0, 20 * MS)
    raise_at = gaps.on_result(100 * MS, 130 * MS)  # 10 Hz camera, result 30 ms after the frame
    assert gaps.period_ns == 100 * MS
    assert raise_at == 200 * MS - int(ACTUATION_S * 1e9)


def test_a_gap_shorter_than_two_actuations_keeps_the_clocks() -> None:
    gaps = GapScheduler()
    gaps.on_result(0, 20 * MS)
    assert gaps.on_result(100 * MS, 100 * MS + 90 * MS) is None  # 10 ms left: 2 x 8 ms do not fit


def test_the_period_estimate_ignores_a_dropped_frame() -> None:
    gaps = GapScheduler()
    for k in (0, 1, 2, 4, 5, 6):  # frame 3 never produced a result
        gaps.on_result(k * 50 * MS, k * 50 * MS + 5 * MS)
    assert gaps.period_ns == 50 * MS


def test_learned_governors_drop_and_the_fixed_ones_do_what_they_model() -> None:
    assert GAP_POLICY["dvfo"] is GAP_POLICY["dvfs_only_drl"] is GapPolicy.DROP
    assert GAP_POLICY["edge_only_max"] is GapPolicy.HOLD
    assert GAP_POLICY["edge_only_default"] is GapPolicy.STOCK
