"""Training a learned method on a world: environment, DQN, checkpoints, export to a policy file."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import stable_baselines3
import torch

from dvfo_core.learning.agents import (
    DQN_DEFAULTS,
    NET_ARCH,
    CurveCallback,
    export_policy,
    learn,
    load_checkpoint,
    make_dqn,
)
from dvfo_core.learning.env import DvfoEnv, NetworkSampler
from dvfo_core.learning.heads import DEFAULT_HEAD
from dvfo_core.learning.learned import LEARNED, learned_routes, learned_table
from dvfo_core.learning.policy import Policy, PolicyMeta
from dvfo_core.world.build import World
from dvfo_core.world.frame import ACCOUNTING

#: Frames per training episode.
EPISODE_FRAMES = 200
#: With a random eta, a new one every this many frames: a policy sees 10x more (eta, link) pairs
#: than with one eta per episode, and learns what a user moving the knob at run time does.
ETA_EVERY = 20


@dataclass
class TrainSpec:
    """What to train and how (``dvfo train`` arguments)."""

    method: str = "dvfo"
    steps: int = 30_000
    seed: int = 0
    head: str = DEFAULT_HEAD
    concurrent: bool | None = None  #: None: the method's own scheme
    decision_ms: float = 1.0  #: decision time charged to blocking frames during training
    episode_frames: int = EPISODE_FRAMES
    eta: float | None = None  #: None: a random eta per episode
    eta_every: int = ETA_EVERY  #: with a random eta: a new one every this many frames (0: once per episode)
    links: dict[str, Any] = field(default_factory=dict)  #: description of the link sampler (metadata)
    dqn: dict[str, Any] = field(default_factory=dict)  #: DQN hyper-parameter overrides


@dataclass
class TrainResult:
    """A trained policy and its learning curve."""

    policy: Policy
    curve: CurveCallback
    wall_s: float
    model: Any


def recipe_tag(spec: TrainSpec) -> str:
    """A short digest of what shapes a trained policy besides method, head, steps and seed.

    DQN hyper-parameters (defaults and overrides), network, episode length, eta redraws and the
    energy accounting: the policy cache keys on it so a changed recipe never reuses an old policy.
    """
    recipe = {
        "dqn": {**DQN_DEFAULTS, **spec.dqn},
        "net": NET_ARCH,
        "episode_frames": spec.episode_frames,
        "eta_every": spec.eta_every,
        "eta": spec.eta,
        "accounting": ACCOUNTING,
    }
    return hashlib.sha1(json.dumps(recipe, sort_keys=True, default=str).encode()).hexdigest()[:8]


def make_env(world: World, sampler: NetworkSampler, spec: TrainSpec) -> DvfoEnv:
    """The training environment of ``spec.method`` on ``world``."""
    concurrent = LEARNED[spec.method].concurrent if spec.concurrent is None else spec.concurrent
    return DvfoEnv(
        world,
        sampler,
        learned_table(world, spec.method),
        routes=learned_routes(world, spec.method),
        concurrent=concurrent,
        episode_frames=spec.episode_frames,
        eta=spec.eta,
        eta_every=spec.eta_every,
        decision_s=spec.decision_ms * 1e-3,
        gap=LEARNED[spec.method].gap,
        seed=spec.seed,
    )


def train(
    world: World,
    sampler: NetworkSampler,
    spec: TrainSpec,
    *,
    work_dir: Path | None = None,
    resume: bool = False,
    progress: bool = True,
    extra_meta: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``spec.method`` on ``world``; with ``work_dir``: TensorBoard logs, checkpoints, curve CSV.

    ``resume`` continues from ``work_dir/checkpoint`` (model and replay buffer) for ``spec.steps`` more.
    """
    torch.manual_seed(spec.seed)
    env = make_env(world, sampler, spec)
    tb = str(work_dir / "tensorboard") if work_dir is not None else None
    ckpt = work_dir / "checkpoint" if work_dir is not None else None
    if resume and ckpt is not None:
        model = load_checkpoint(ckpt, env)
        model.tensorboard_log = tb
    else:
        model = make_dqn(env, head=spec.head, seed=spec.seed, tensorboard_log=tb, **spec.dqn)
    t0 = time.perf_counter()
    curve = learn(
        model,
        spec.steps,
        progress=progress,
        checkpoint_dir=ckpt,
        curve_csv=work_dir / "curve.csv" if work_dir is not None else None,
        resume=resume,
        tb_name=spec.method,
    )
    wall = time.perf_counter() - t0
    meta = PolicyMeta(
        device=world.device,
        power_mode=world.power_mode,
        model=world.model,
        split=world.split,
        method=spec.method,
        head=spec.head,
        table=env.table,
        context=world.context,
        training={
            "algorithm": "DQN (stable-baselines3 " + stable_baselines3.__version__ + ")",
            "steps": int(model.num_timesteps),
            "seed": spec.seed,
            "concurrent": env.concurrent,
            "episode_frames": spec.episode_frames,
            "eta": spec.eta
            if spec.eta is not None
            else f"random, redrawn every {spec.eta_every} frames"
            if spec.eta_every > 0
            else "random per episode",
            "dqn": {**DQN_DEFAULTS, **spec.dqn},
            "recipe": recipe_tag(spec),
            "links": spec.links,
            "wall_s": round(wall, 1),
            "accounting": ACCOUNTING,
            "period_s": world.period_s,
            **(extra_meta or {}),
        },
    )
    return TrainResult(export_policy(model, meta), curve, wall, model)
