"""The gymnasium environment: API, thinking-while-moving vs blocking timing, reward = -cost."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from dvfo_core.device.network import BandwidthTrace, NetworkModel
from dvfo_core.errors import ConfigError
from dvfo_core.learning.env import DvfoEnv
from dvfo_core.learning.observation import OBS_NAMES, scaled
from dvfo_core.world.build import World
from dvfo_core.world.links import LinkSampler


def _steady(mbps: float):
    return lambda rng: (NetworkModel(BandwidthTrace.constant(mbps, 20.0)), 0.0)


def test_environment_passes_gymnasiums_checker(world: World) -> None:
    env = DvfoEnv(world, LinkSampler(), world.table(), episode_frames=20, seed=1)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=3)
    assert obs.shape == (len(OBS_NAMES),) and np.isfinite(obs).all()
    assert 0.0 <= info["eta"] <= 1.0


def test_episode_length_and_reward_is_minus_the_frames_cost(world: World) -> None:
    env = DvfoEnv(world, _steady(2.0), world.table(), episode_frames=15, eta=0.3, seed=0)
    env.reset(seed=0)
    steps = 0
    truncated = False
    while not truncated:
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        out = env.last_outcome
        assert not terminated
        assert reward == pytest.approx(-world.cost.cost(out.energy_j, out.latency_s, 0.3))
        assert info["cost"] == pytest.approx(-reward)
        steps += 1
    assert steps == 15


def test_concurrent_observation_lags_one_frame_and_carries_the_action_in_progress(world: World) -> None:
    table = world.table()
    latency_i = OBS_NAMES.index("latency")
    xi_i = OBS_NAMES.index("xi_in_progress")
    for concurrent in (True, False):
        env = DvfoEnv(world, _steady(8.0), table, concurrent=concurrent, eta=0.5, seed=0)
        env.reset(seed=0)
        outs, obs = [], []
        a_local = table.index(len(table.cpu) - 1, len(table.gpu) - 1, len(table.emc) - 1, 0)
        a_off = table.index(0, 0, 0, len(table.routes) - 1)  # slowest clocks, the image offloaded
        for a in (a_local, a_off, a_local, a_off):
            o, *_ = env.step(a)
            outs.append(env.last_outcome)
            obs.append(o)
        t_ref_ms = world.context.t_ref_s * 1e3
        for k in range(1, 4):
            newest = scaled(outs[k].latency_s * 1e3, t_ref_ms)
            previous = scaled(outs[k - 1].latency_s * 1e3, t_ref_ms)
            assert abs(newest - previous) > 0.1
            assert obs[k][latency_i] == pytest.approx(previous if concurrent else newest, rel=1e-5)
            assert obs[k][xi_i] == pytest.approx(table.action((a_local, a_off)[k % 2]).xi)


def test_blocking_decision_time_delays_the_frame_concurrent_does_not(world: World) -> None:
    table = world.table()
    a = table.index(len(table.cpu) - 1, len(table.gpu) - 1, len(table.emc) - 1, 0)
    lat = {}
    for concurrent in (True, False):
        env = DvfoEnv(world, _steady(2.0), table, concurrent=concurrent, decision_s=0.004, eta=0.5, seed=0)
        env.reset(seed=0)
        env.step(a)
        lat[concurrent] = env.last_outcome.latency_s
    assert lat[False] == pytest.approx(lat[True] + 0.004)


def test_eta_is_drawn_per_episode_unless_fixed(world: World) -> None:
    env = DvfoEnv(world, LinkSampler(), world.table(), seed=0)
    etas = {round(env.reset()[1]["eta"], 6) for _ in range(5)}
    assert len(etas) == 5
    env = DvfoEnv(world, LinkSampler(), world.table(), eta=0.8, seed=0)
    obs, info = env.reset()
    assert info["eta"] == 0.8 and obs[OBS_NAMES.index("eta")] == pytest.approx(0.8)


def test_a_random_eta_is_redrawn_every_n_frames_and_the_next_observation_shows_it(world: World) -> None:
    env = DvfoEnv(world, LinkSampler(), world.table(), eta_every=5, episode_frames=30, seed=0)
    obs, _ = env.reset()
    seen = [env.eta]
    for _ in range(12):
        obs, _, _, _, _ = env.step(0)
        assert obs[OBS_NAMES.index("eta")] == pytest.approx(env.eta)
        seen.append(env.eta)
    changes = [i for i, (a, b) in enumerate(pairwise(seen)) if a != b]
    assert len(changes) == 2 and changes[1] - changes[0] == 5  # 12 frames: two redraws, 5 apart
    fixed = DvfoEnv(world, LinkSampler(), world.table(), eta=0.3, eta_every=5, seed=0)
    fixed.reset()
    for _ in range(12):
        fixed.step(0)
    assert fixed.eta == 0.3  # a fixed eta is never redrawn


def test_training_links_stay_in_their_range_and_traces_start_anywhere() -> None:
    rng = np.random.default_rng(0)
    for kind in ("constant", "walk"):
        sampler = LinkSampler(kinds=(kind,), min_mbps=0.5, max_mbps=4.0)
        for _ in range(20):
            net, start = sampler(rng)
            assert start == 0.0
            assert 0.5 - 1e-9 <= net.trace.mbps.min() and net.trace.mbps.max() <= 4.0 + 1e-9
        if kind == "walk":
            assert len(set(net.trace.mbps.round(6))) > 10  # it moves
    trace = BandwidthTrace.constant(3.0)
    starts = [LinkSampler(kinds=(), traces=(trace,))(rng)[1] for _ in range(10)]
    assert len(set(starts)) == 10 and all(0 <= s < trace.period_s for s in starts)
    with pytest.raises(ConfigError):
        LinkSampler(kinds=("fades",))
    with pytest.raises(ConfigError):
        LinkSampler(kinds=(), traces=())
