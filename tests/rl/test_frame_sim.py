"""simulate_frame composes the twin, the link and the cloud exactly as documented."""

from __future__ import annotations

import numpy as np
import pytest

from dvfo_core.device.network import BandwidthTrace, NetworkModel
from dvfo_core.rl.actions import FrameAction
from dvfo_core.rl.env import World
from dvfo_core.rl.frame_sim import CachedCloud, CachedTwin, simulate_frame


def _max(world: World, xi: float) -> FrameAction:
    lv = world.twin_model.max_levels()
    return FrameAction(lv.cpu, lv.gpu, lv.emc, xi)


def test_no_offload_frame_is_the_edge_stage_alone(world: World) -> None:
    net = NetworkModel(BandwidthTrace.constant(2.0, 20.0))
    act = _max(world, 0.0)
    out = simulate_frame(world.twin_model, net, world.cloud.cloud, world.routes, act, 0.0)
    route = world.routes.route(0.0)
    stage = world.twin_model.stage(route.head, act.levels)
    assert out.latency_s == pytest.approx(stage.latency_s)
    assert out.energy_j == pytest.approx(stage.energy_j)
    assert out.transmit_s == out.wait_s == out.radio_energy_j == out.payload_bytes == 0.0


def test_offloading_frame_overlaps_the_tail_with_transfer_and_cloud(world: World) -> None:
    net = NetworkModel(BandwidthTrace.constant(2.0, 30.0))
    act = _max(world, 0.5)
    route = world.routes.route(0.5)
    assert route.cloud is not None and route.payload_bytes > 0
    tm = world.twin_model
    out = simulate_frame(tm, net, world.cloud.cloud, world.routes, act, 5.0)
    head = tm.stage(route.head, act.levels)
    tail = tm.stage(route.edge_tail, act.levels)
    tx = net.transfer(route.payload_bytes, 5.0 + head.latency_s)
    cloud_s = world.cloud.cloud.tail_latency_s(route.cloud)
    remote = tx.time_s + cloud_s
    wait = max(0.0, remote - tail.latency_s)
    assert out.latency_s == pytest.approx(head.latency_s + max(tail.latency_s, remote))
    assert out.wait_s == pytest.approx(wait)
    expected_j = head.energy_j + tail.energy_j + tm.idle(wait, act.levels).energy_j + tx.energy_j
    assert out.energy_j == pytest.approx(expected_j)
    assert out.radio_energy_j == pytest.approx(tx.energy_j) and out.radio_energy_j > 0
    assert out.accuracy == route.accuracy or np.isnan(route.accuracy)


def test_more_bandwidth_never_slows_an_offloading_frame(world: World) -> None:
    act = _max(world, 1.0)
    lat = [
        simulate_frame(
            world.twin, NetworkModel(BandwidthTrace.constant(bw, 20.0)), world.cloud, world.routes, act, 0.0
        ).latency_s
        for bw in (0.5, 2.0, 8.0, 32.0)
    ]
    assert lat == sorted(lat, reverse=True) and lat[0] > 2 * lat[-1]


def test_a_time_varying_link_is_seen_at_the_frames_time(world: World) -> None:
    trace = BandwidthTrace(np.array([0.0, 10.0]), np.array([0.5, 16.0]), np.array([20.0, 20.0]))
    net = NetworkModel(trace)
    act = _max(world, 1.0)
    slow = simulate_frame(world.twin, net, world.cloud, world.routes, act, 1.0)
    fast = simulate_frame(world.twin, net, world.cloud, world.routes, act, 12.0)
    assert slow.mbps == pytest.approx(0.5) and fast.mbps == pytest.approx(16.0)
    assert slow.transmit_s > 5 * fast.transmit_s


def test_deadline_and_decision_time_are_part_of_the_frame(world: World) -> None:
    net = NetworkModel(BandwidthTrace.constant(2.0, 20.0))
    act = _max(world, 0.0)
    base = simulate_frame(world.twin, net, world.cloud, world.routes, act, 0.0, deadline_s=1.0)
    slow = simulate_frame(
        world.twin, net, world.cloud, world.routes, act, 0.0, deadline_s=1.0, decision_s=0.01
    )
    assert not base.deadline_missed
    assert slow.latency_s == pytest.approx(base.latency_s + 0.01)
    idle_w = world.twin_model.idle(1.0, act.levels).power_w
    assert slow.energy_j == pytest.approx(base.energy_j + 0.01 * idle_w)
    late = simulate_frame(
        world.twin, net, world.cloud, world.routes, act, 0.0, deadline_s=base.latency_s * 0.9
    )
    assert late.deadline_missed


def test_the_caches_return_the_twins_own_numbers(world: World) -> None:
    tm = world.twin_model
    cached = CachedTwin(tm)
    route = world.routes.route(0.5)
    for lv in (tm.max_levels(), tm.min_levels(), tm.default_levels()):
        a, b = cached.stage(route.head, lv), tm.stage(route.head, lv)
        assert (a.latency_s, a.energy_j) == pytest.approx((b.latency_s, b.energy_j))
        for d in (0.003, 0.5):  # idle energy is linear in time at fixed clocks
            assert cached.idle(d, lv).energy_j == pytest.approx(tm.idle(d, lv).energy_j)
    cloud = CachedCloud(world.cloud.cloud)
    assert cloud.tail_latency_s(route.cloud) == world.cloud.cloud.tail_latency_s(route.cloud)


def test_a_split_profile_can_be_passed_as_it_is(world: World) -> None:
    net = NetworkModel(BandwidthTrace.constant(4.0, 20.0))
    act = _max(world, 0.5)
    prof = world.extras["profile"]
    direct = simulate_frame(world.twin, net, world.cloud, prof, act, 0.0)
    via_routes = simulate_frame(world.twin, net, world.cloud, world.routes, act, 0.0)
    assert direct == via_routes
