"""DQN agents (stable-baselines3) for the governor, training loop helpers and export to a policy file.

Three Q-heads over the same joint action space ``cpu x gpu x emc x route``:

* ``flat`` — the paper's DQN: one output per joint action;
* ``factored`` — a branching head: one state value ``V`` plus one advantage vector per domain,
  ``Q(s, a) = V(s) + sum_d (A_d(s, a_d) - mean A_d(s))``. Outputs grow with the *sum* of the
  branch sizes instead of their product, and the greedy action is one argmax per branch. It cannot
  express interactions between domains (e.g. "a low GPU clock only pays while the cloud works")
  except through the state;
* ``routed`` — the branching head with clock advantages per route:
  ``Q(s, a) = V(s) + A_r(s, r) + sum_d A_d(s, r, a_d)`` (each advantage centred). Outputs grow with
  ``routes x sum of clock branches``; it expresses the one interaction that matters most — which
  clocks suit which route — and keeps the clock domains additive given the route.

All expand to the flat joint Q-vector inside the network (:func:`~dvfo_core.learning.policy.joint_q`
is the numpy twin of the same formula), so stable-baselines3's DQN (TD target, epsilon-greedy,
replay) is used unchanged. docs/agent.md compares them.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.torch_layers import create_mlp
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from torch import nn
from tqdm import tqdm

from dvfo_core.errors import ConfigError
from dvfo_core.learning.heads import DEFAULT_HEAD, HEADS
from dvfo_core.learning.policy import Policy, PolicyMeta, head_outputs

#: Default DQN hyper-parameters (docs/agent.md explains each choice).
DQN_DEFAULTS: dict[str, Any] = {
    "learning_rate": 1e-3,
    "buffer_size": 50_000,
    "learning_starts": 1_000,
    "batch_size": 64,
    "gamma": 0.5,
    "train_freq": 1,
    "gradient_steps": 1,
    "target_update_interval": 1_000,
    "exploration_fraction": 0.3,
    "exploration_final_eps": 0.03,
}
NET_ARCH = [128, 128]


class BranchingHead(nn.Module):
    """An MLP trunk whose outputs a subclass expands to the flat joint Q-vector."""

    name = ""  #: the head's name in :data:`~dvfo_core.learning.heads.HEADS`

    def __init__(
        self,
        features_dim: int,
        branches: tuple[int, ...],
        net_arch: list[int],
        activation_fn: type[nn.Module],
    ) -> None:
        super().__init__()
        self.branches = tuple(int(b) for b in branches)
        n_out = head_outputs(self.name, self.branches)
        self.trunk = nn.Sequential(*create_mlp(features_dim, n_out, net_arch, activation_fn))


class FactoredHead(BranchingHead):
    """MLP trunk -> ``[V, A_cpu, A_gpu, A_emc, A_route]`` -> flat joint Q-values."""

    name = "factored"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Joint Q-values ``(B, prod(branches))`` in the action table's flat order."""
        z = self.trunk(x)
        q = z[:, :1]
        start = 1
        for n in self.branches:
            adv = z[:, start : start + n]
            adv = adv - adv.mean(dim=1, keepdim=True)
            q = q.unsqueeze(-1) + adv.view(adv.shape[0], *([1] * (q.dim() - 1)), n)
            start += n
        return q.reshape(z.shape[0], -1)


class RoutedHead(BranchingHead):
    """MLP trunk -> ``[V, A_route, A_cpu|route, A_gpu|route, A_emc|route]`` -> flat joint Q-values."""

    name = "routed"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Joint Q-values ``(B, prod(branches))`` in the action table's flat order (route fastest)."""
        z = self.trunk(x)
        nc, ng, ne, nr = self.branches
        b = z.shape[0]

        def centred(t: torch.Tensor) -> torch.Tensor:
            return t - t.mean(dim=-1, keepdim=True)

        v = z[:, :1]
        a_r = centred(z[:, 1 : 1 + nr])
        clocks = z[:, 1 + nr :].view(b, nr, nc + ng + ne)
        a_c = centred(clocks[..., :nc]).permute(0, 2, 1)  # (B, nc, nr)
        a_g = centred(clocks[..., nc : nc + ng]).permute(0, 2, 1)
        a_e = centred(clocks[..., nc + ng :]).permute(0, 2, 1)
        q = (
            v.view(b, 1, 1, 1, 1)
            + a_r.view(b, 1, 1, 1, nr)
            + a_c.view(b, nc, 1, 1, nr)
            + a_g.view(b, 1, ng, 1, nr)
            + a_e.view(b, 1, 1, ne, nr)
        )
        return q.reshape(b, -1)


#: Branching heads by name (the flat head is SB3's own MLP).
BRANCHING_HEADS: dict[str, type[BranchingHead]] = {h.name: h for h in (FactoredHead, RoutedHead)}


class FactoredQNetwork(QNetwork):
    """SB3 Q-network whose head is a :class:`FactoredHead`."""

    def __init__(
        self, *args: Any, branches: tuple[int, ...] = (), head: str = "factored", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.branches = tuple(branches)
        self.head = head
        if int(np.prod(self.branches)) != int(self.action_space.n):
            raise ConfigError(f"branches {self.branches} do not multiply to {self.action_space.n} actions")
        make_head = BRANCHING_HEADS[head]
        self.q_net = make_head(self.features_dim, self.branches, self.net_arch, self.activation_fn)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data["branches"] = self.branches
        data["head"] = self.head
        return data


class FactoredDQNPolicy(DQNPolicy):
    """DQN policy with a branching Q-head; pass ``branches`` and ``head`` in ``policy_kwargs``."""

    def __init__(
        self, *args: Any, branches: tuple[int, ...] = (), head: str = "factored", **kwargs: Any
    ) -> None:
        self.branches = tuple(branches)
        self.head = head
        super().__init__(*args, **kwargs)

    def make_q_net(self) -> QNetwork:
        """Build a :class:`FactoredQNetwork` with this policy's branches and head."""
        net_args = self._update_features_extractor(self.net_args, features_extractor=None)
        return FactoredQNetwork(**net_args, branches=self.branches, head=self.head).to(self.device)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data["branches"] = self.branches
        data["head"] = self.head
        return data


def make_dqn(
    env: Any,
    head: str = DEFAULT_HEAD,
    seed: int | None = None,
    tensorboard_log: str | None = None,
    **overrides: Any,
) -> DQN:
    """A fresh SB3 DQN over ``env`` (whose ``table`` gives the branches) with :data:`DQN_DEFAULTS`."""
    if head not in HEADS:
        raise ConfigError(f"unknown Q-head {head!r} (known: {', '.join(HEADS)})")
    kwargs = {**DQN_DEFAULTS, **overrides}
    policy_kwargs: dict[str, Any] = {"net_arch": list(NET_ARCH)}
    policy: Any = "MlpPolicy"
    if head in BRANCHING_HEADS:
        policy = FactoredDQNPolicy
        policy_kwargs["branches"] = env.unwrapped.table.branches
        policy_kwargs["head"] = head
    return DQN(
        policy,
        env,
        policy_kwargs=policy_kwargs,
        seed=seed,
        tensorboard_log=tensorboard_log,
        device="cpu",
        verbose=0,
        **kwargs,
    )


def export_policy(model: DQN, meta: PolicyMeta) -> Policy:
    """The online Q-network of ``model`` as a numpy :class:`Policy` carrying ``meta``."""
    q = model.q_net.q_net
    seq = q.trunk if isinstance(q, BranchingHead) else q
    linears = [m for m in seq if isinstance(m, nn.Linear)]
    acts = [m for m in seq if not isinstance(m, nn.Linear)]
    if any(not isinstance(a, nn.ReLU) for a in acts):
        raise ConfigError("only ReLU MLP Q-networks can be exported")
    weights = [lin.weight.detach().cpu().numpy().T.copy() for lin in linears]
    biases = [lin.bias.detach().cpu().numpy().copy() for lin in linears]
    return Policy(meta, weights, biases)


class TqdmCallback(BaseCallback):
    """A tqdm progress bar over the training steps (SB3's own bar needs ``rich``)."""

    def __init__(self, total: int, desc: str = "train", disable: bool = False) -> None:
        super().__init__()
        self.total = int(total)
        self.desc = desc
        self.disable = disable
        self.bar: tqdm | None = None

    def _on_training_start(self) -> None:
        self.bar = tqdm(
            total=self.total, desc=self.desc, unit="step", disable=self.disable, initial=0, dynamic_ncols=True
        )

    def _on_step(self) -> bool:
        if self.bar is not None:
            self.bar.update(1)
        return True

    def _on_training_end(self) -> None:
        if self.bar is not None:
            self.bar.close()


class CurveCallback(BaseCallback):
    """Records the learning curve: per finished episode, steps, wall-clock and mean per-frame cost.

    Also logs ``dvfo/episode_cost``, ``dvfo/episode_energy_j``, ``dvfo/episode_latency_ms`` and
    ``dvfo/episode_miss_rate`` to TensorBoard through SB3's logger.
    """

    def __init__(self, csv_path: Path | None = None) -> None:
        super().__init__()
        self.csv_path = csv_path
        self.rows: list[dict[str, float]] = []
        self._t0 = 0.0
        self._acc: dict[str, float] = {}

    def _on_training_start(self) -> None:
        self._t0 = time.perf_counter()
        self._acc = {"n": 0.0, "cost": 0.0, "energy": 0.0, "latency": 0.0, "miss": 0.0}

    def _on_step(self) -> bool:
        for info, done in zip(self.locals["infos"], self.locals["dones"], strict=True):
            a = self._acc
            a["n"] += 1
            a["cost"] += info["cost"]
            a["energy"] += info["energy_j"]
            a["latency"] += info["latency_s"]
            a["miss"] += float(info["deadline_missed"])
            if done:
                n = a["n"]
                row = {
                    "steps": float(self.num_timesteps),
                    "wall_s": time.perf_counter() - self._t0,
                    "mean_reward": -a["cost"] / n,
                    "energy_j": a["energy"] / n,
                    "latency_ms": 1e3 * a["latency"] / n,
                    "miss_rate": a["miss"] / n,
                }
                self.rows.append(row)
                self.logger.record("dvfo/episode_cost", a["cost"] / n)
                self.logger.record("dvfo/episode_energy_j", row["energy_j"])
                self.logger.record("dvfo/episode_latency_ms", row["latency_ms"])
                self.logger.record("dvfo/episode_miss_rate", row["miss_rate"])
                self._acc = dict.fromkeys(a, 0.0)
        return True

    def _on_training_end(self) -> None:
        if self.csv_path is None or not self.rows:
            return
        self.csv_path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.csv_path.exists()
        with self.csv_path.open("a", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(self.rows[0]))
            if new:
                w.writeheader()
            w.writerows(self.rows)


class CheckpointCallback(BaseCallback):
    """Saves the model and its replay buffer every ``every`` steps (for ``dvfo train --resume``)."""

    def __init__(self, directory: Path, every: int) -> None:
        super().__init__()
        self.directory = directory
        self.every = max(1, int(every))

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every == 0:
            save_checkpoint(self.model, self.directory)
        return True


def save_checkpoint(model: DQN, directory: Path) -> None:
    """Write ``model.zip`` and ``replay_buffer.pkl`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    model.save(directory / "model.zip")
    model.save_replay_buffer(directory / "replay_buffer.pkl")


def load_checkpoint(directory: Path, env: Any) -> DQN:
    """Resume a :func:`save_checkpoint` directory on ``env``; raises :class:`ConfigError` if absent."""
    zip_path = directory / "model.zip"
    if not zip_path.is_file():
        raise ConfigError(f"{directory}: no checkpoint to resume (model.zip missing)")
    model = DQN.load(zip_path, env=env, device="cpu")
    buf = directory / "replay_buffer.pkl"
    if buf.is_file():
        model.load_replay_buffer(buf)
    return model


def learn(
    model: DQN,
    steps: int,
    *,
    progress: bool = True,
    checkpoint_dir: Path | None = None,
    checkpoint_every: int = 10_000,
    curve_csv: Path | None = None,
    resume: bool = False,
    tb_name: str = "dqn",
) -> CurveCallback:
    """Train ``model`` for ``steps`` more steps with progress bar, curve, TensorBoard and checkpoints."""
    curve = CurveCallback(curve_csv)
    callbacks: list[BaseCallback] = [curve, TqdmCallback(steps, disable=not progress)]
    if checkpoint_dir is not None:
        callbacks.append(CheckpointCallback(checkpoint_dir, checkpoint_every))
    model.learn(
        total_timesteps=int(steps),
        callback=CallbackList(callbacks),
        reset_num_timesteps=not resume,
        tb_log_name=tb_name,
        progress_bar=False,
    )
    if checkpoint_dir is not None:
        save_checkpoint(model, checkpoint_dir)
    return curve
