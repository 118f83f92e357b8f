"""Policy files: exported Q-network, metadata binding, numpy decisions, safe fallback, bad files."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from dvfo_core.device.profiles import load_profile
from dvfo_core.learning.agents import export_policy, make_dqn
from dvfo_core.learning.env import DvfoEnv
from dvfo_core.learning.heads import HEADS
from dvfo_core.learning.observation import OBS_SIZE, FrameTelemetry, ObservationBuilder
from dvfo_core.learning.policy import Policy, PolicyError, PolicyMeta
from dvfo_core.world.build import World
from dvfo_core.world.links import LinkSampler


def _policy(world: World, head: str) -> tuple[Policy, object]:
    table = world.table(n_cpu=2, n_gpu=3, n_emc=2)
    env = DvfoEnv(world, LinkSampler(), table, seed=0)
    model = make_dqn(env, head=head, seed=0)
    meta = PolicyMeta(
        world.device, world.power_mode, world.model, world.split, "dvfo", head, table, world.context
    )
    return export_policy(model, meta), model


@pytest.mark.parametrize("head", HEADS)
def test_exported_numpy_policy_computes_the_sb3_q_values(world: World, head: str) -> None:
    policy, model = _policy(world, head)
    obs = np.random.default_rng(0).uniform(-1, 1, (16, OBS_SIZE)).astype(np.float32)
    with torch.no_grad():
        q_sb3 = model.q_net(torch.from_numpy(obs)).numpy()
    for o, q in zip(obs, q_sb3, strict=True):
        np.testing.assert_allclose(policy.q_values(o), q, rtol=1e-4, atol=1e-5)
        assert policy.act(o).index == int(np.argmax(q))
        routes = np.zeros(len(policy.meta.table.routes), bool)
        routes[0] = True  # only the plain model is runnable: the argmax over its actions
        chosen = policy.act(o, routes)
        assert chosen.action.xi == 0.0
        assert chosen.index == max(range(len(q)), key=lambda i: q[i] if i % len(routes) == 0 else -np.inf)


def test_save_load_round_trip_keeps_weights_and_metadata(world: World, tmp_path: Path) -> None:
    policy, _ = _policy(world, "factored")
    path = policy.save(tmp_path / "p")
    assert path.suffix == ".npz"
    back = Policy.load(path)
    assert back.meta == policy.meta
    obs = np.linspace(-1, 1, OBS_SIZE, dtype=np.float32)
    assert back.act(obs) == policy.act(obs)


def test_a_policy_refuses_another_device_model_or_power_mode(world: World) -> None:
    policy, _ = _policy(world, "flat")
    policy.check(world.device, world.twin.table, world.model)
    with pytest.raises(PolicyError, match="jetson-nano"):
        policy.check("jetson-xavier-nx", load_profile("jetson-xavier-nx").table(), world.model)
    with pytest.raises(PolicyError, match="model"):
        policy.check(world.device, world.twin.table, "vgg16")
    with pytest.raises(PolicyError, match="another device or power mode"):  # same name, other table
        policy.check(world.device, load_profile("jetson-xavier-nx").table(), world.model)


def test_non_finite_observations_get_the_documented_safe_setting(world: World) -> None:
    policy, _ = _policy(world, "flat")
    table = policy.meta.table
    builder = ObservationBuilder(world.context, table)
    assert np.isnan(builder.vector(0.5, policy.safe_action)).all()  # no telemetry yet
    d = policy.act(builder.vector(0.5, policy.safe_action))
    assert d.safe_fallback and d.index == -1
    assert d.action.xi == 0.0
    assert (d.action.cpu, d.action.gpu, d.action.emc) == (table.cpu[-1], table.gpu[-1], table.emc[-1])
    good = FrameTelemetry(4.0, 20.0, 30.0, 20.0, 10.0, 1.0, 60.0, False, 5.0, 0.3, 50.0)
    builder.update(good)
    assert not policy.act(builder.vector(0.5, policy.safe_action)).safe_fallback
    nan_bw = FrameTelemetry(math.nan, 20.0, 30.0, 20.0, 10.0, 1.0, 60.0, False, 5.0, 0.3, 50.0)
    builder.update(nan_bw)
    assert policy.act(builder.vector(0.5, policy.safe_action)).safe_fallback
    # power, energy and temperature are optional readings: imputed, no fallback
    no_power = FrameTelemetry(4.0, 20.0, 30.0, 20.0, 10.0, 1.0, 60.0, False)
    builder.update(no_power)
    obs = builder.vector(0.5, policy.safe_action)
    assert np.isfinite(obs).all() and not policy.act(obs).safe_fallback


def test_unreadable_and_foreign_files_are_clear_errors(world: World, tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such policy"):
        Policy.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"\x00not a zip at all")
    with pytest.raises(PolicyError, match="unreadable"):
        Policy.load(junk)
    other = tmp_path / "other.npz"
    np.savez(other, w0=np.zeros((2, 2)))
    with pytest.raises(PolicyError, match="not a DVFO policy"):
        Policy.load(other)
    policy, _ = _policy(world, "flat")
    good = policy.save(tmp_path / "good.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(PolicyError):
        Policy.load(truncated)
    with zipfile.ZipFile(good) as zf:
        names = zf.namelist()
    assert "meta.npy" in names and "w0.npy" in names


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 1}, "format version 1 .*another action table; retrain it with dvfo train"),
        ({"accounting": "per-result"}, "energy accounting 'per-result'.*retrain it with dvfo train"),
        (
            {
                "action_table": {
                    "cpu": [0],
                    "gpu": [0],
                    "emc": [0],
                    "xi": [0.0],
                    "cpu_khz": [1],
                    "gpu_hz": [1],
                    "emc_hz": [1],
                }
            },
            "old action table",
        ),
    ],
)
def test_a_policy_of_another_action_table_or_accounting_is_one_clear_error(
    tmp_path: Path, change: dict, message: str
) -> None:
    import json

    from dvfo_core.learning.policy import shipped_policy_path

    src = shipped_policy_path("jetson-nano", "resnet18", "MAXN")
    with np.load(src, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["meta"]))
    meta.update(change)
    arrays["meta"] = np.array(json.dumps(meta))
    bad = tmp_path / "old.npz"
    np.savez_compressed(bad, **arrays)
    with pytest.raises(PolicyError, match=message) as err:
        Policy.load(bad)
    assert "\n" not in str(err.value) and str(bad) in str(err.value)


def test_a_route_mask_keeps_the_choice_among_the_routes_the_robot_can_run() -> None:
    from dvfo_core.learning.policy import shipped_policy_path

    policy = Policy.load(shipped_policy_path("jetson-nano", "resnet18", "MAXN"))
    mask = policy.route_mask(lambda split, xi: split == "layer2")
    routes = policy.meta.table.routes
    assert mask[0] and all(m == (s in ("local", "layer2")) for m, (s, _) in zip(mask, routes, strict=True))
    builder = ObservationBuilder(policy.meta.context, policy.meta.table)
    rng = np.random.default_rng(1)
    for _ in range(200):
        builder.update(FrameTelemetry(float(rng.uniform(0.3, 30)), 20.0, 30.0, 25.0, 40.0, 2.0, 90.0, False))
        d = policy.act(builder.vector(float(rng.uniform()), policy.safe_action), mask)
        assert d.action.route_key[0] in ("local", "layer2")
