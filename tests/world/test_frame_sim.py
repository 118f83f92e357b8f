"""simulate_frame composes the twin, the link and the cloud exactly as documented."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dvfo_core.device.network import BandwidthTrace, NetworkModel
from dvfo_core.world.actions import FrameAction
from dvfo_core.world.batch import FrameBatch
from dvfo_core.world.build import World
from dvfo_core.world.frame import (
    ACTUATION_S,
    STOCK_DOWN_S,
    CachedCloud,
    CachedTwin,
    FrameOutcome,
    GapPolicy,
    simulate_frame,
)


def _max(world: World, xi: float, split: str = "") -> FrameAction:
    lv = world.twin_model.max_levels()
    return FrameAction(lv.cpu, lv.gpu, lv.emc, xi, split)


def test_a_local_frame_is_the_plain_model_then_the_gap_at_held_clocks(world: World) -> None:
    net = NetworkModel(BandwidthTrace.constant(2.0, 20.0))
    act = _max(world, 0.0)
    out = world.frame(net, world.routes, act, 0.0, gap=GapPolicy.HOLD)
    stage = world.twin_model.stage(world.local.head, act.levels)
    assert not any(layer.name.startswith("sca.") for layer in world.local.head.layers)
    assert out.latency_s == pytest.approx(stage.latency_s)
    assert out.gap_s == pytest.approx(world.period_s - stage.latency_s)
    idle_w = world.twin_model.idle(1.0, act.levels).energy_j
    assert out.energy_j == pytest.approx(stage.energy_j + idle_w * out.gap_s)
    assert out.active_energy_j == pytest.approx(stage.energy_j)
    assert out.transmit_s == out.wait_s == out.radio_energy_j == out.payload_bytes == 0.0
    # E_ref is exactly this: one camera period of jetson_clocks
    assert out.energy_j == pytest.approx(world.cost.e_ref_j)


def test_offloading_frame_overlaps_the_tail_with_transfer_and_cloud(world: World) -> None:
    net = NetworkModel(BandwidthTrace.constant(2.0, 30.0))
    xi = world.routes.splits[world.split].xis[len(world.routes.splits[world.split].xis) // 2]
    act = _max(world, xi)
    route = world.routes.route(world.split, xi)
    assert route.cloud is not None and route.payload_bytes > 0
    tm = world.twin_model
    out = simulate_frame(world.twin, net, world.cloud, world.routes, act, 5.0)
    head = tm.stage(route.head, act.levels)
    tail = tm.stage(route.edge_tail, act.levels)
    tx = net.transfer(route.payload_bytes, 5.0 + head.latency_s)
    cloud_s = world.cloud.cloud.tail_latency_s(route.cloud)
    remote = tx.time_s + cloud_s
    wait = max(0.0, remote - tail.latency_s)
    assert out.latency_s == pytest.approx(head.latency_s + max(tail.latency_s, remote))
    assert out.wait_s == pytest.approx(wait)
    expected_j = head.energy_j + tail.energy_j + tm.idle(wait, act.levels).energy_j + tx.energy_j
    assert out.energy_j == pytest.approx(expected_j)  # period 0: energy stops at the result
    assert out.radio_energy_j == pytest.approx(tx.energy_j) and out.radio_energy_j > 0
    assert out.accuracy == route.accuracy or np.isnan(route.accuracy)


@pytest.mark.parametrize("gap", list(GapPolicy))
def test_every_gap_policy_charges_the_period_as_documented(world: World, gap: GapPolicy) -> None:
    net = NetworkModel(BandwidthTrace.constant(2.0, 20.0))
    act = _max(world, 0.0)
    out = world.frame(net, world.routes, act, 0.0, gap=gap)
    hold_w = world.twin.idle_power_w(act.levels)
    floor_w = world.twin.idle_power_w(world.twin_model.min_levels())
    g = out.gap_s
    expected = {
        GapPolicy.HOLD: hold_w * g,
        GapPolicy.DROP: hold_w * 2 * ACTUATION_S + floor_w * (g - 2 * ACTUATION_S),
        GapPolicy.STOCK: hold_w * min(g, STOCK_DOWN_S) + floor_w * max(0.0, g - STOCK_DOWN_S),
    }[gap]
    assert g > 2 * ACTUATION_S and out.gap_energy_j == pytest.approx(expected)
    assert out.latency_s + g == pytest.approx(world.period_s)
    if gap is GapPolicy.STOCK:  # the stock governors ramp up late: the frame is slower
        assert out.ramp_s > 0 and out.latency_s > world.frame(net, world.routes, act, 0.0).latency_s
    else:
        assert out.ramp_s == 0.0


def test_dropping_the_clocks_between_frames_saves_energy_and_never_time(world: World) -> None:
    net = NetworkModel(BandwidthTrace.constant(2.0, 20.0))
    act = _max(world, 0.0)
    held = world.frame(net, world.routes, act, 0.0, gap=GapPolicy.HOLD)
    dropped = world.frame(net, world.routes, act, 0.0, gap=GapPolicy.DROP)
    assert dropped.latency_s == held.latency_s and dropped.energy_j < held.energy_j


def test_a_frame_that_overruns_its_period_is_charged_to_its_own_end(world: World) -> None:
    net = NetworkModel(BandwidthTrace.constant(0.5, 20.0))
    act = FrameAction(0, 0, 0, 1.0, "input")  # the image over 0.5 Mbps at the lowest clocks
    out = world.frame(net, world.routes, act, 0.0, gap=GapPolicy.HOLD)
    assert out.latency_s > world.period_s and out.gap_s == 0.0 and out.gap_energy_j == 0.0
    assert out.energy_j == pytest.approx(out.active_energy_j)


@pytest.mark.parametrize("gap", list(GapPolicy))
@pytest.mark.parametrize("trace", ["steady", "varying", "collapsing"])
def test_the_vectorised_frame_equals_the_scalar_one(world: World, gap: GapPolicy, trace: str) -> None:
    if trace == "steady":
        net = NetworkModel(BandwidthTrace.constant(3.0, 25.0))
    elif trace == "collapsing":  # the deadline guard rescues the offloading frames
        net = NetworkModel(BandwidthTrace(np.array([0.0, 0.2]), np.array([8.0, 0.02]), np.full(2, 20.0)))
    else:
        bw = np.array([0.5, 4, 1, 9, 2, 6])
        net = NetworkModel(BandwidthTrace(np.arange(6.0) * 0.05, bw, np.full(6, 20.0)))
    levels = sorted({a.levels for a in world.table().actions()}, key=lambda lv: (lv.cpu, lv.gpu, lv.emc))[::7]
    batch = FrameBatch(world, levels)
    rescued = 0
    for split, xi in world.route_keys:
        route = world.routes.route("" if split == "local" else split, xi)
        energy, latency = batch.evaluate(net, route, 0.13, gap)
        for i, lv in enumerate(levels):
            out = world.frame(net, route, FrameAction(lv.cpu, lv.gpu, lv.emc, xi), 0.13, gap=gap)
            assert energy[i] == pytest.approx(out.energy_j, rel=1e-12)
            assert latency[i] == pytest.approx(out.latency_s, rel=1e-12)
            rescued += out.rescued
    assert rescued > 0 or trace != "collapsing"


def test_more_bandwidth_never_slows_an_offloading_frame(world: World) -> None:
    act = _max(world, 1.0, world.split)
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
    act = _max(world, 1.0, world.split)
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


@pytest.mark.parametrize("which", ["all channels sent", "some channels sent"])
def test_the_deadline_guard_finishes_a_frame_alone_when_the_cloud_would_answer_late(
    world: World, which: str
) -> None:
    xis = world.routes.splits[world.split].xis
    xi = xis[-1] if which == "all channels sent" else xis[0]
    route = world.routes.route(world.split, xi)
    act = _max(world, xi, world.split)
    deadline = world.cost.deadline_s
    slow = NetworkModel(BandwidthTrace.constant(0.02, 20.0))

    def frame(net: NetworkModel, guard: bool) -> FrameOutcome:
        return simulate_frame(
            world.twin, net, world.cloud, world.routes, act, 0.0, deadline if guard else math.inf
        )

    unguarded, out = frame(slow, False), frame(slow, True)
    assert unguarded.latency_s > 10 * deadline and not unguarded.rescued
    rescue = world.twin_model.stage(route.rescue, act.levels)
    head = world.twin_model.stage(route.head, act.levels)
    tail = world.twin_model.stage(route.edge_tail, act.levels)
    assert (rescue.latency_s > 0) == (which == "all channels sent")
    # the edge waits until the rescue just fits, then finishes alone: the result is on time
    assert out.rescued and not out.deadline_missed
    assert out.latency_s == pytest.approx(max(head.latency_s + tail.latency_s + rescue.latency_s, deadline))
    assert out.accuracy == route.rescue_accuracy
    assert out.compute_energy_j == pytest.approx(head.energy_j + tail.energy_j + rescue.energy_j)
    assert out.radio_energy_j == pytest.approx(unguarded.radio_energy_j)  # the payload was sent
    assert out.wait_s == pytest.approx(out.latency_s - rescue.latency_s - head.latency_s - tail.latency_s)
    # an answer in time is taken as before
    fast = NetworkModel(BandwidthTrace.constant(64.0, 5.0))
    assert frame(fast, True) == frame(fast, False)


def test_the_caches_return_the_twins_own_numbers(world: World) -> None:
    tm = world.twin_model
    cached = CachedTwin(tm)
    route = world.routes.route(world.split, world.routes.splits[world.split].xis[0])
    for lv in (tm.max_levels(), tm.min_levels(), tm.default_levels()):
        a, b = cached.stage(route.head, lv), tm.stage(route.head, lv)
        assert (a.latency_s, a.energy_j) == pytest.approx((b.latency_s, b.energy_j))
        for d in (0.003, 0.5):  # idle energy is linear in time at fixed clocks
            assert cached.idle(d, lv).energy_j == pytest.approx(tm.idle(d, lv).energy_j)
    cloud = CachedCloud(world.cloud.cloud)
    assert cloud.tail_latency_s(route.cloud) == world.cloud.cloud.tail_latency_s(route.cloud)
