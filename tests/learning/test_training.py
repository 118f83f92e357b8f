"""Training: seedable, resumable, logged; the factored head is a real alternative to the flat one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dvfo_core.learning.agents import FactoredHead, RoutedHead
from dvfo_core.learning.heads import HEADS
from dvfo_core.learning.policy import Policy
from dvfo_core.learning.training import TrainSpec, recipe_tag, train
from dvfo_core.world.build import World
from dvfo_core.world.frame import ACCOUNTING
from dvfo_core.world.links import LinkSampler

SMALL = {"learning_starts": 50, "buffer_size": 2_000, "batch_size": 16, "target_update_interval": 100}


def _spec(**kw: object) -> TrainSpec:
    base = {"steps": 300, "seed": 7, "episode_frames": 50, "dqn": SMALL}
    base.update(kw)
    return TrainSpec(**base)  # type: ignore[arg-type]


def test_same_seed_same_policy(world: World) -> None:
    a = train(world, LinkSampler(), _spec(), progress=False).policy
    b = train(world, LinkSampler(), _spec(), progress=False).policy
    for wa, wb in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(wa, wb)
    c = train(world, LinkSampler(), _spec(seed=8), progress=False).policy
    assert not np.array_equal(a.weights[0], c.weights[0])


def test_training_writes_tensorboard_checkpoint_and_curve_and_resumes(world: World, tmp_path: Path) -> None:
    work = tmp_path / "run"
    first = train(world, LinkSampler(), _spec(), work_dir=work, progress=False)
    assert (work / "checkpoint" / "model.zip").is_file() and (
        work / "checkpoint" / "replay_buffer.pkl"
    ).is_file()
    assert any((work / "tensorboard").rglob("events.out.tfevents.*"))
    rows = (work / "curve.csv").read_text().splitlines()
    assert rows[0].startswith("steps,wall_s,mean_reward") and len(rows) == 1 + 300 // 50
    assert first.policy.meta.training["steps"] == 300
    second = train(world, LinkSampler(), _spec(), work_dir=work, resume=True, progress=False)
    assert second.model.num_timesteps == 600
    assert second.policy.meta.training["steps"] == 600
    assert second.model.replay_buffer.size() == 600
    rows = (work / "curve.csv").read_text().splitlines()
    assert float(rows[-1].split(",")[0]) == 600


def test_factored_head_expands_to_the_joint_q_vector() -> None:
    head = FactoredHead(5, (2, 3, 2, 4), [8], torch.nn.ReLU)
    x = torch.randn(3, 5)
    q = head(x)
    assert q.shape == (3, 2 * 3 * 2 * 4)
    z = head.trunk(x)
    v, parts = z[:, :1], []
    start = 1
    for n in (2, 3, 2, 4):
        a = z[:, start : start + n]
        parts.append(a - a.mean(1, keepdim=True))
        start += n
    for flat in range(48):
        i, rest = divmod(flat, 24)
        j, rest = divmod(rest, 8)
        k, m = divmod(rest, 4)
        expected = v[:, 0] + parts[0][:, i] + parts[1][:, j] + parts[2][:, k] + parts[3][:, m]
        torch.testing.assert_close(q[:, flat], expected)


def test_the_recipe_tag_changes_with_whatever_shapes_a_policy_besides_seed_and_budget() -> None:
    base = TrainSpec()
    assert recipe_tag(base) == recipe_tag(TrainSpec(seed=3, steps=10))  # keyed on their own
    assert recipe_tag(base) != recipe_tag(TrainSpec(dqn={"train_freq": 4}))
    assert recipe_tag(base) != recipe_tag(TrainSpec(eta_every=0))
    assert recipe_tag(base) != recipe_tag(TrainSpec(episode_frames=50))


def test_routed_head_gives_each_route_its_own_clock_advantages() -> None:
    branches = (2, 3, 2, 4)  # cpu, gpu, emc, route
    head = RoutedHead(5, branches, [8], torch.nn.ReLU)
    x = torch.randn(3, 5)
    q = head(x)
    assert q.shape == (3, 2 * 3 * 2 * 4)
    z = head.trunk(x)
    assert z.shape == (3, 1 + 4 + 4 * (2 + 3 + 2))

    def centred(a: torch.Tensor) -> torch.Tensor:
        return a - a.mean(-1, keepdim=True)

    v, a_r = z[:, 0], centred(z[:, 1:5])
    per_route = z[:, 5:].view(3, 4, 7)
    a_c, a_g, a_e = centred(per_route[..., :2]), centred(per_route[..., 2:5]), centred(per_route[..., 5:])
    for flat in range(48):
        i, rest = divmod(flat, 24)
        j, rest = divmod(rest, 8)
        k, r = divmod(rest, 4)
        expected = v + a_r[:, r] + a_c[:, r, i] + a_g[:, r, j] + a_e[:, r, k]
        torch.testing.assert_close(q[:, flat], expected)


@pytest.mark.parametrize("head", HEADS)
def test_trained_policy_carries_its_metadata(world: World, head: str, tmp_path: Path) -> None:
    res = train(world, LinkSampler(), _spec(head=head), progress=False)
    path = res.policy.save(tmp_path / f"{head}.npz")
    p = Policy.load(path)
    assert (p.meta.device, p.meta.model, p.meta.split, p.meta.head) == (
        world.device,
        world.model,
        world.split,
        head,
    )
    assert p.meta.training["concurrent"] is True and p.meta.training["seed"] == 7
    assert p.meta.table.routes == world.route_keys
    assert p.meta.training["accounting"] == ACCOUNTING
