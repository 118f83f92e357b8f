"""The action table and the cost: what the agent may choose and what it pays."""

from __future__ import annotations

import math

import pytest

from dvfo_core.device.base import FrequencyTable
from dvfo_core.device.profiles import load_profile
from dvfo_core.errors import ConfigError
from dvfo_core.world.actions import ActionTable, FrameAction, spread
from dvfo_core.world.cost import CostModel, check_eta


def test_spread_keeps_the_lowest_and_highest_level_and_is_ascending() -> None:
    for n in (1, 3, 7, 12, 25):
        for k in (1, 2, 4, 6, 30):
            picks = spread(n, k)
            assert list(picks) == sorted(set(picks))
            assert picks[-1] == n - 1
            if k > 1:
                assert picks[0] == 0
            assert len(picks) == min(n, max(k, 1))


def test_flat_index_round_trips_over_the_whole_table() -> None:
    routes = (("local", 0.0), ("layer2", 0.5), ("input", 1.0))
    table = ActionTable.build(load_profile("jetson-nano").table(), routes, 3, 4, 2)
    assert table.size == 3 * 4 * 2 * 3
    seen = set()
    for i in range(table.size):
        pos = table.positions(i)
        assert table.index(*pos) == i
        act = table.action(i)
        assert table.nearest(act) == i
        seen.add(act)
    assert len(seen) == table.size
    with pytest.raises(IndexError):
        table.action(table.size)


def test_table_frequencies_are_the_boards_and_a_mismatch_is_refused() -> None:
    nano = load_profile("jetson-nano").table()
    table = ActionTable.build(nano, (("local", 0.0), ("layer1", 1.0)))
    assert table.gpu_hz == tuple(nano.gpu_hz[i] for i in table.gpu)
    table.check_device(nano, "jetson-nano")
    with pytest.raises(ConfigError, match="another device"):
        table.check_device(load_profile("jetson-xavier-nx").table(), "jetson-xavier-nx")
    assert ActionTable.from_dict(table.to_dict()) == table
    with pytest.raises(ConfigError, match="malformed"):
        ActionTable.from_dict({"cpu": [0]})
    old = {k: v for k, v in table.to_dict().items() if k != "routes"} | {"xi": [0.0, 1.0]}
    with pytest.raises(ConfigError, match="old action table"):
        ActionTable.from_dict(old)


def test_fractions_place_an_action_in_its_domains() -> None:
    routes = (("local", 0.0), ("layer1", 0.25), ("layer2", 0.25), ("input", 1.0))
    table = ActionTable.build(FrequencyTable((1, 2, 3), (10, 20), (5, 6, 7, 8)), routes, 3, 2, 2)
    assert table.fractions(FrameAction(2, 1, 3, 0.25, "layer2")) == (1.0, 1.0, 1.0, 0.25)
    assert table.fractions(FrameAction(0, 0, 0, 0.0)) == (0.0, 0.0, 0.0, 0.0)
    # the same xi at two depths are two routes; xi = 0 is the plain model whatever the split says
    assert table.route_position(FrameAction(0, 0, 0, 0.25, "layer1")) == 1
    assert table.route_position(FrameAction(0, 0, 0, 0.25, "layer2")) == 2
    assert table.route_position(FrameAction(0, 0, 0, 0.0, "layer2")) == 0
    assert table.safe_action == FrameAction(2, 1, 3, 0.0)


def test_cost_is_one_for_the_reference_frame_and_adds_the_miss_penalty() -> None:
    cm = CostModel(e_ref_j=0.3, t_ref_s=0.05, deadline_s=0.1, miss_penalty=1.0)
    for eta in (0.0, 0.3, 1.0):
        assert cm.cost(0.3, 0.05, eta) == pytest.approx(1.0)
    assert cm.cost(0.15, 0.05, 1.0) == pytest.approx(0.5)
    assert cm.cost(0.3, 0.2, 0.0) == pytest.approx(4.0 + 1.0)  # 4x latency + missed deadline
    with pytest.raises(ConfigError):
        CostModel(0.0, 0.05, 0.1)


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan])
def test_eta_outside_zero_one_is_refused(bad: float) -> None:
    with pytest.raises(ConfigError, match="eta"):
        check_eta(bad)
