"""A match counts once it has settled: what the adapters report as subscribers and publishers."""

from __future__ import annotations

from dvfo_core.runtime.matching import MATCH_SETTLE_S, SettledCount


def test_a_new_match_counts_only_after_it_has_held_for_the_settle_time() -> None:
    count = SettledCount(2.0)
    assert count.update(0, 10.0) == 0
    assert count.update(1, 10.5) == 0, "just matched: the other side may not have matched back"
    assert count.update(1, 12.4) == 0
    assert count.update(1, 12.5) == 1, "held for 2 s"


def test_a_lost_match_counts_at_once_and_a_second_one_waits_again() -> None:
    count = SettledCount(2.0)
    count.update(1, 0.0)
    assert count.update(1, 2.0) == 1
    assert count.update(2, 3.0) == 1, "the second subscriber is not relied on yet"
    assert count.update(2, 5.0) == 2
    assert count.update(0, 5.1) == 0, "gone: at once"
    assert count.update(1, 5.2) == 0, "back: settles again"
    assert count.update(1, 7.2) == 1


def test_no_settle_time_follows_the_raw_count_and_the_default_covers_the_measured_window() -> None:
    count = SettledCount(0.0)
    assert [count.update(n, t) for t, n in enumerate([0, 1, 3, 2, 0])] == [0, 1, 3, 2, 0]
    assert MATCH_SETTLE_S >= 3 * 0.65, "about three times the longest one-sided window measured"
