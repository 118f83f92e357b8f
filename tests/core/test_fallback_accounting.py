"""A frame whose cloud never answered is charged what the edge really did: wait, then (xi = 1) the tail."""

from __future__ import annotations

import pytest

from dvfo_core.device.network import BandwidthTrace, NetworkModel
from dvfo_core.edge_pipeline import Accountant
from dvfo_core.world.actions import FrameAction
from dvfo_core.world.build import WorldSpec, build_world


def test_an_unanswered_full_offload_pays_the_tail_on_every_channel_late() -> None:
    world = build_world(WorldSpec("jetson-nano", "resnet18"))
    acct = Accountant(world, NetworkModel(BandwidthTrace.constant(2.0, 20.0)), t0_s=0.0)
    top = world.twin_model.max_levels()
    out = acct.outcome(FrameAction(top.cpu, top.gpu, top.emc, 1.0, world.split), 0.0)
    late = acct.fallback(out, waited_s=0.5, late_tail=True)
    tail = world.twin_model.stage(world.extras["profiles"][world.split].at(1.0).fallback_edge, top)
    assert late.latency_s == pytest.approx(out.head_s + 0.5 + tail.latency_s)
    assert late.compute_energy_j == pytest.approx(out.compute_energy_j + tail.energy_j)
    assert late.cloud_s == 0.0 and late.deadline_missed
