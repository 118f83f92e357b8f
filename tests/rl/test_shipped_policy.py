"""The shipped default policy fits today's twin and split profile and decides well under 1 ms."""

from __future__ import annotations

import time

import numpy as np

from dvfo_core.rl.observation import FrameTelemetry, ObservationBuilder
from dvfo_core.rl.pipeline import get_policy, shipped_policy_path
from dvfo_core.rl.policy import Policy
from dvfo_core.rl.world import WorldSpec, build_world

PATH = shipped_policy_path("jetson-nano", "resnet18")


def test_shipped_policy_matches_the_current_twin_and_profile(tmp_path) -> None:
    assert PATH.is_file() and PATH.stat().st_size < 200_000
    policy = Policy.load(PATH)
    world = build_world(WorldSpec("jetson-nano", "resnet18"))
    policy.check(world.device, world.twin.table, world.model)
    assert policy.meta.split == world.split and policy.meta.table.xi == world.xi_levels
    assert policy.meta.context == world.context  # references (E_ref, T_ref, deadline) unchanged
    # get_policy picks it (an empty cache: nothing is trained)
    assert (
        get_policy(world, "dvfo", cache=tmp_path, progress=False).weights[0].tobytes()
        == policy.weights[0].tobytes()
    )
    assert not any(tmp_path.iterdir())


def test_shipped_policy_decides_in_well_under_a_millisecond() -> None:
    policy = Policy.load(PATH)
    builder = ObservationBuilder(policy.meta.context, policy.meta.table)
    rng = np.random.default_rng(0)
    action = policy.safe_action
    times = []
    for _ in range(3000):
        tel = FrameTelemetry(
            float(rng.uniform(0.3, 16)),
            20.0,
            30.0,
            25.0,
            float(rng.uniform(0, 100)),
            1.0,
            float(rng.uniform(50, 200)),
            False,
            5.0,
            0.3,
            50.0,
        )
        t0 = time.perf_counter()
        builder.update(tel)
        d = policy.act(builder.vector(float(rng.uniform()), action))
        times.append(time.perf_counter() - t0)
        assert not d.safe_fallback
        action = d.action
    ms = np.array(times[200:]) * 1e3
    assert np.percentile(ms, 50) < 0.5
    assert np.percentile(ms, 99) < 1.0, f"p99 {np.percentile(ms, 99):.3f} ms"
