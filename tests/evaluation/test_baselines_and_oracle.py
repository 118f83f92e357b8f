"""Baselines behave as their definitions say; the oracle is a lower bound of its search space."""

from __future__ import annotations

import pytest

from dvfo_core.device.network import BandwidthTrace, NetworkModel, load_trace
from dvfo_core.evaluation.baselines import CloudOnly, EdgeOnlyDefault, EdgeOnlyMax, Neurosurgeon
from dvfo_core.evaluation.controllers import PolicyController
from dvfo_core.evaluation.evaluate import run_method
from dvfo_core.evaluation.oracle import Oracle
from dvfo_core.learning.agents import export_policy, make_dqn
from dvfo_core.learning.env import DvfoEnv
from dvfo_core.learning.policy import PolicyMeta
from dvfo_core.world.build import World
from dvfo_core.world.frame import GapPolicy
from dvfo_core.world.links import LinkSampler


def _net(mbps: float) -> NetworkModel:
    return NetworkModel(BandwidthTrace.constant(mbps, 20.0))


def test_edge_only_max_is_the_cost_reference(world: World) -> None:
    run = run_method(world, EdgeOnlyMax(), _net(2.0), eta=0.5, frames=5)
    s = run.summary()
    assert s["cost"] == pytest.approx(1.0)
    assert s["energy_j_per_frame"] == pytest.approx(world.cost.e_ref_j)
    assert s["offload_frames"] == 0.0


def test_fixed_baselines_use_their_documented_clocks_and_routes(world: World) -> None:
    tm = world.twin_model
    default = run_method(world, EdgeOnlyDefault(), _net(2.0), 0.5, 3).outcomes[0]
    assert default.action.levels == tm.default_levels() and default.route == "local"
    cloud = run_method(world, CloudOnly(), _net(2.0), 0.5, 3).outcomes[0]
    assert cloud.action.levels == tm.min_levels() and cloud.route == "cloud_only"
    assert cloud.payload_bytes == pytest.approx(world.extras["cloud_only"].payload_bytes)


def test_neurosurgeon_goes_local_on_a_slow_link_and_follows_the_link_it_measured(world: World) -> None:
    slow = run_method(world, Neurosurgeon(), _net(0.1), 0.5, 4)
    assert {o.route for o in slow.outcomes} == {"local"}
    fast = run_method(world, Neurosurgeon(), _net(1000.0), 0.5, 4)
    assert all(o.route != "local" for o in fast.outcomes)  # a free link makes offloading cheaper
    for o in fast.outcomes:
        assert o.action.levels == world.twin_model.max_levels()


def test_oracle_is_never_beaten_by_any_action_of_dvfos_space(world: World) -> None:
    table = world.table(n_cpu=2, n_gpu=3, n_emc=2)
    net = NetworkModel(load_trace("wifi-fades"))
    oracle = run_method(world, Oracle(table), net, 0.5, 6)
    for k, best in enumerate(oracle.costs):
        t = k * world.period_s
        for i in range(table.size):
            out = world.frame(net, world.routes, table.action(i), t, gap=GapPolicy.DROP)
            assert best <= world.cost.cost(out.energy_j, out.latency_s, 0.5) + 1e-12


@pytest.mark.parametrize("eta", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("link", [0.5, 8.0, "lte-like"])
def test_oracle_bounds_every_baseline_frame_by_frame(world: World, eta: float, link: float | str) -> None:
    """The oracle's space holds every baseline's routes, clocks and gap policy: none may beat it."""
    table = world.table(n_cpu=2, n_gpu=3, n_emc=2)
    net = NetworkModel(load_trace(link)) if isinstance(link, str) else _net(link)
    bound = run_method(world, Oracle(table), net, eta, 5).costs
    for ctrl in (EdgeOnlyMax(), EdgeOnlyDefault(), CloudOnly(), Neurosurgeon()):
        costs = run_method(world, ctrl, net, eta, 5).costs
        assert all(b <= c + 1e-9 for b, c in zip(bound, costs, strict=True)), ctrl.name


def test_policy_controller_hides_decision_time_only_when_concurrent(world: World) -> None:
    table = world.table(n_cpu=2, n_gpu=2, n_emc=2)
    env = DvfoEnv(world, LinkSampler(), table, seed=0)
    meta = PolicyMeta(
        world.device, world.power_mode, world.model, world.split, "dvfo", "flat", table, world.context
    )
    policy = export_policy(make_dqn(env, head="flat", seed=0), meta)
    conc = run_method(world, PolicyController("dvfo", policy, concurrent=True), _net(2.0), 0.5, 20)
    block = run_method(world, PolicyController("dvfo", policy, concurrent=False), _net(2.0), 0.5, 20)
    # frame 0's action is decided before the first frame (the governor node: on activation)
    assert all(o.decision_s == 0.0 for o in conc.outcomes)
    assert block.outcomes[0].decision_s == 0.0
    assert all(o.decision_s > 0.0 for o in block.outcomes[1:])
    uncharged = PolicyController("dvfo", policy, concurrent=False, charge_decisions=False)
    assert all(o.decision_s == 0.0 for o in run_method(world, uncharged, _net(2.0), 0.5, 20).outcomes)
    assert len(conc.decision_s) == 20 and max(conc.decision_s) < 0.05
    # the first frames have no telemetry yet: the safe setting, counted
    assert conc.fallbacks == 2 and block.fallbacks == 1
