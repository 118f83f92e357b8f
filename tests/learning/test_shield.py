"""The link shield: no learned governor offloads a frame whose answer cannot come back by the deadline."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dvfo_core.evaluation import pipeline
from dvfo_core.governor import Governor
from dvfo_core.learning.observation import FrameTelemetry
from dvfo_core.learning.policy import Policy, shipped_policy_path
from dvfo_core.learning.shield import LinkShield
from dvfo_core.world.build import World, WorldSpec, build_world

DEVICE, MODEL, MODE = "jetson-nano", "resnet18", "MAXN"


@pytest.fixture(scope="module")
def nano() -> World:
    return build_world(WorldSpec(device=DEVICE, model=MODEL, power_mode=MODE))


@pytest.fixture(scope="module")
def scrambled() -> Policy:
    """The shipped policy's table and metadata with random weights: it offloads often and blindly."""
    shipped = Policy.load(shipped_policy_path(DEVICE, MODEL, MODE))
    rng = np.random.default_rng(7)
    weights = [rng.normal(0.0, 1.0, w.shape).astype(np.float32) for w in shipped.weights]
    biases = [rng.normal(0.0, 1.0, b.shape).astype(np.float32) for b in shipped.biases]
    return Policy(shipped.meta, weights, biases)


def _round_trip_s(world: World, split: str, xi: float, mbps: float, rtt_ms: float) -> float:
    route = world.routes.route(split, xi)
    return 8 * route.payload_bytes / (mbps * 1e6) + rtt_ms * 1e-3


def test_a_route_is_allowed_exactly_when_its_transfer_and_round_trip_fit_in_the_deadline(
    nano: World, scrambled: Policy
) -> None:
    table = scrambled.meta.table
    shield = LinkShield(table, nano.routes, nano.cost.deadline_s)
    for mbps in (0.2, 0.5, 2.0, 8.0, 50.0):
        mask = shield.mask(mbps, 20.0)
        for allowed, (split, xi) in zip(mask, table.routes, strict=True):
            route = nano.routes.route(split, xi)
            fits = _round_trip_s(nano, split, xi, mbps, 20.0) < nano.cost.deadline_s
            assert allowed == (not route.offloads or fits), (mbps, split, xi)
    assert shield.mask(0.2, 20.0).sum() < shield.mask(50.0, 20.0).sum()  # the bound bites somewhere
    assert shield.mask(50.0, 20.0).all()  # a fast link blocks nothing


def test_a_dead_link_allows_only_local_routes_and_a_missing_estimate_masks_nothing(
    nano: World, scrambled: Policy
) -> None:
    table = scrambled.meta.table
    shield = LinkShield(table, nano.routes, nano.cost.deadline_s)
    offloads = np.array([nano.routes.route(s, x).offloads for s, x in table.routes])
    assert (shield.mask(0.0, 20.0) == ~offloads).all()
    assert shield.mask(math.nan, 20.0).all() and shield.mask(8.0, math.nan).all()


def test_evaluated_with_the_shield_a_blind_policy_sends_nothing_that_cannot_come_back(
    nano: World, scrambled: Policy
) -> None:
    net, label = pipeline.scenario_link(0.5, None)
    doc = pipeline.run_scenario(
        nano, net, label, eta=0.5, frames=40, methods=["dvfo"], policies={"dvfo": scrambled}, progress=False
    )
    outcomes = doc["_runs"]["dvfo"].outcomes
    for out in outcomes[1:]:  # frame 0 has no link estimate yet: the safe setting, local
        if out.action.xi > 0:
            assert _round_trip_s(nano, out.action.split, out.action.xi, 0.5, 20.0) < nano.cost.deadline_s
    assert any(out.action.xi > 0 for out in outcomes)  # the blind policy does still offload what fits


def test_the_governor_applies_the_shield_to_the_routes_the_head_can_run(
    nano: World, scrambled: Policy, tmp_path
) -> None:
    path = scrambled.save(tmp_path / "scrambled.npz")
    governor = Governor(nano, "dvfo", 0.5, str(path), runnable=lambda s, xi: s == "layer2")
    rng = np.random.default_rng(3)
    for _ in range(200):
        mbps = float(rng.uniform(0.1, 20.0))
        governor.observe(FrameTelemetry(mbps, 20.0, 30.0, 25.0, 40.0, 2.0, 90.0, False))
        action = governor.decide().action
        assert action.route_key[0] in ("local", "layer2")
        if action.xi > 0:
            assert _round_trip_s(nano, action.split, action.xi, mbps, 20.0) < nano.cost.deadline_s


def test_with_the_shield_off_the_governor_leaves_the_choice_to_the_policy(
    nano: World, scrambled: Policy, tmp_path
) -> None:
    path = scrambled.save(tmp_path / "scrambled.npz")
    governor = Governor(nano, "dvfo", 0.5, str(path), shield=False)
    late = 0
    for _ in range(200):
        governor.observe(FrameTelemetry(0.3, 20.0, 30.0, 25.0, 40.0, 2.0, 90.0, False))
        action = governor.decide().action
        if action.xi > 0:
            late += _round_trip_s(nano, action.split, action.xi, 0.3, 20.0) >= nano.cost.deadline_s
    assert late > 0  # the blind policy does send frames that cannot come back: the parameter matters
