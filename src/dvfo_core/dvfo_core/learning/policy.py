"""Policy files: a trained Q-network as plain numpy arrays plus the metadata that binds it to a device.

A policy file is a ``.npz`` archive (no pickle) holding the weights of the Q-network's layers and a
JSON metadata string: format version, device, power mode, model, split, method, the action table
(level indices *and* frequencies), the observation feature names and references, the head kind
(``flat`` or ``factored``) and how it was trained. :class:`Policy` runs it with numpy only — the
robot needs neither stable-baselines3 nor torch to decide — and refuses a device whose frequency
table does not match the one the policy was trained on.

Safe setting: when an observation is not finite (missing telemetry, NaN readings) the policy does
not guess; :meth:`Policy.act` returns the *safe action*: no offload (``xi = 0``) at the table's
highest clock levels — full local inference at the power mode's maximum clocks, which needs no
network and has the shortest compute latency. The decision says ``safe_fallback=True``.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dvfo_core.device.base import FrequencyTable
from dvfo_core.errors import ConfigError
from dvfo_core.learning.heads import HEADS
from dvfo_core.learning.observation import OBS_NAMES
from dvfo_core.paths import artifacts_dir
from dvfo_core.world.actions import ActionTable, FrameAction
from dvfo_core.world.build import ObsContext
from dvfo_core.world.frame import ACCOUNTING

FORMAT = "dvfo-policy"
FORMAT_VERSION = 2  #: 2: actions choose a route (split, xi); energy per camera period


class PolicyError(ConfigError):
    """A policy file is unreadable, malformed, or made for another device/model."""


@dataclass(frozen=True)
class Decision:
    """One governor decision."""

    action: FrameAction
    index: int  #: flat index into the action table (-1 for the safe fallback)
    safe_fallback: bool


@dataclass(frozen=True)
class PolicyMeta:
    """Everything a policy file says about itself besides its weights."""

    device: str
    power_mode: str
    model: str
    split: str
    method: str
    head: str
    table: ActionTable
    context: ObsContext
    obs_names: tuple[str, ...] = OBS_NAMES
    training: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The metadata as a JSON string (stored in the archive)."""
        return json.dumps(
            {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "accounting": ACCOUNTING,
                "device": self.device,
                "power_mode": self.power_mode,
                "model": self.model,
                "split": self.split,
                "method": self.method,
                "head": self.head,
                "action_table": self.table.to_dict(),
                "observation": {"names": list(self.obs_names), "context": self.context.to_dict()},
                "training": self.training,
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str, where: str) -> PolicyMeta:
        """Parse and validate metadata; raises :class:`PolicyError` naming ``where``."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PolicyError(f"{where}: metadata is not JSON ({exc.msg})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise PolicyError(f"{where}: not a DVFO policy file")
        if data.get("version") != FORMAT_VERSION:
            raise PolicyError(
                f"{where}: policy format version {data.get('version')} (expected {FORMAT_VERSION}): "
                "made for another action table; retrain it with dvfo train"
            )
        if data.get("accounting") != ACCOUNTING:
            raise PolicyError(
                f"{where}: trained with energy accounting {data.get('accounting')!r}, this version uses "
                f"{ACCOUNTING!r}; retrain it with dvfo train"
            )
        try:
            obs = data["observation"]
            meta = cls(
                device=str(data["device"]),
                power_mode=str(data["power_mode"]),
                model=str(data["model"]),
                split=str(data["split"]),
                method=str(data["method"]),
                head=str(data["head"]),
                table=ActionTable.from_dict(data["action_table"]),
                context=ObsContext.from_dict(obs["context"]),
                obs_names=tuple(obs["names"]),
                training=dict(data.get("training") or {}),
            )
        except (KeyError, TypeError, ValueError, ConfigError) as exc:
            raise PolicyError(f"{where}: malformed metadata ({exc})") from None
        if meta.head not in HEADS:
            raise PolicyError(f"{where}: unknown head {meta.head!r} (known: {', '.join(HEADS)})")
        if meta.obs_names != OBS_NAMES:
            raise PolicyError(f"{where}: observation features differ from this version's {len(OBS_NAMES)}")
        return meta


class Policy:
    """A loaded policy: numpy forward pass, safe fallback, device check."""

    def __init__(self, meta: PolicyMeta, weights: list[np.ndarray], biases: list[np.ndarray]) -> None:
        self.meta = meta
        self.weights = [np.ascontiguousarray(w, dtype=np.float32) for w in weights]
        self.biases = [np.ascontiguousarray(b, dtype=np.float32) for b in biases]
        self._check_shapes()
        table = meta.table
        self.safe_action = table.safe_action

    # ---- structure -------------------------------------------------------------------------
    def _check_shapes(self) -> None:
        meta = self.meta
        if not self.weights or len(self.weights) != len(self.biases):
            raise PolicyError(f"policy for {meta.device}/{meta.model}: no layers or unpaired biases")
        n_in = len(OBS_NAMES)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            if w.ndim != 2 or b.shape != (w.shape[1],) or w.shape[0] != n_in:
                raise PolicyError(
                    f"policy for {meta.device}/{meta.model}: layer {i} has shape {w.shape}/{b.shape}"
                )
            n_in = w.shape[1]
        want = head_outputs(meta.head, meta.table.branches)
        if n_in != want:
            raise PolicyError(
                f"policy for {meta.device}/{meta.model}: output size {n_in} does not fit the "
                f"{meta.head} head over {meta.table.size} actions (expected {want})"
            )

    # ---- files -----------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the policy to ``path`` (``.npz``; the suffix is added when missing)."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"meta": np.array(self.meta.to_json())}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            arrays[f"w{i}"] = w
            arrays[f"b{i}"] = b
        with path.open("wb") as fh:
            np.savez_compressed(fh, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """Read a policy file; raises :class:`PolicyError` with the file name on any problem."""
        path = Path(path)
        if not path.is_file():
            raise PolicyError(f"{path}: no such policy file")
        try:
            with np.load(path, allow_pickle=False) as data:
                files = set(data.files)
                if "meta" not in files:
                    raise PolicyError(f"{path}: not a DVFO policy file (no metadata)")
                meta = PolicyMeta.from_json(str(data["meta"]), str(path))
                n = sum(1 for f in files if f.startswith("w"))
                weights = [data[f"w{i}"] for i in range(n)]
                biases = [data[f"b{i}"] for i in range(n)]
        except PolicyError:
            raise
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            raise PolicyError(f"{path}: unreadable policy file ({type(exc).__name__}: {exc})") from None
        try:
            return cls(meta, weights, biases)
        except PolicyError as exc:
            raise PolicyError(f"{path}: {exc}") from None

    # ---- use -------------------------------------------------------------------------------
    def check(self, device: str, table: FrequencyTable, model: str | None = None) -> None:
        """Raise :class:`PolicyError` unless this policy was trained for ``device``/``table``/``model``."""
        meta = self.meta
        if device != meta.device:
            raise PolicyError(f"policy was trained for device {meta.device!r}, not {device!r}")
        if model is not None and model != meta.model:
            raise PolicyError(f"policy was trained for model {meta.model!r}, not {model!r}")
        try:
            meta.table.check_device(table, device)
        except ConfigError as exc:
            raise PolicyError(str(exc)) from None

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """Q-value of every joint action (flat order) for one observation."""
        return joint_q(self._trunk(obs), self.meta.table.branches, self.meta.head)

    def _trunk(self, obs: np.ndarray) -> np.ndarray:
        x = np.asarray(obs, dtype=np.float32)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = x @ w + b
            if i < last:
                np.maximum(x, 0.0, out=x)
        return x

    def route_mask(self, runnable: Callable[[str, float], bool]) -> np.ndarray:
        """Which routes of the table ``runnable(split, xi)`` accepts (the plain model always)."""
        mask = np.array([split == "local" or runnable(split, xi) for split, xi in self.meta.table.routes])
        mask[0] = True  # the first route is the plain model (the safe setting's)
        return mask

    def act(self, obs: np.ndarray, routes: np.ndarray | None = None) -> Decision:
        """The greedy action for ``obs``, or the safe setting when ``obs`` is not finite.

        ``routes`` (a boolean mask over the table's routes, :meth:`route_mask`) limits the choice to
        the routes this robot can run; the greedy action is taken among those.
        """
        obs = np.asarray(obs, dtype=np.float32)
        if obs.shape != (len(OBS_NAMES),) or not np.isfinite(obs).all():
            return Decision(self.safe_action, -1, True)
        table = self.meta.table
        q = self.q_values(obs)
        if routes is not None and not routes.all():  # route: the fastest-varying position of the flat order
            q = np.where(np.tile(routes, table.size // len(routes)), q, -np.inf)
        index = int(np.argmax(q))
        return Decision(table.action(index), index, False)


def head_outputs(head: str, branches: tuple[int, ...]) -> int:
    """Number of network outputs of a Q-head over ``branches = (cpu, gpu, emc, route)``."""
    if head == "flat":
        return int(np.prod(branches))
    if head == "factored":
        return 1 + sum(branches)
    *clocks, n_routes = branches
    return 1 + n_routes + n_routes * sum(clocks)  # routed


def joint_q(out: np.ndarray, branches: tuple[int, ...], head: str) -> np.ndarray:
    """The network's outputs as the joint Q-vector in flat action order (route fastest).

    ``factored``: ``Q = V + sum_d (A_d - mean A_d)``; ``routed``: ``Q = V + (A_r - mean A_r) +
    sum_d (A_d|r - mean A_d|r)``, one clock advantage vector per route. The same formulas as
    :mod:`~dvfo_core.learning.agents`' torch heads.
    """
    if head == "flat":
        return out

    def centred(a: np.ndarray) -> np.ndarray:
        return a - a.mean(axis=-1, keepdims=True)

    nc, ng, ne, nr = branches
    if head == "factored":
        q = np.full((), out[0], dtype=np.float32)
        start = 1
        for n in branches:
            q = q[..., None] + centred(out[start : start + n])
            start += n
        return q.reshape(-1)
    a_r = centred(out[1 : 1 + nr])
    clocks = out[1 + nr :].reshape(nr, nc + ng + ne)
    a_c, a_g, a_e = (centred(clocks[:, i:j]).T for i, j in ((0, nc), (nc, nc + ng), (nc + ng, nc + ng + ne)))
    q = (
        out[0]
        + a_r[None, None, None, :]
        + a_c[:, None, None, :]
        + a_g[None, :, None, :]
        + a_e[None, None, :, :]
    )
    return q.reshape(-1)


def shipped_policy_path(device: str, model: str, power_mode: str, method: str = "dvfo") -> Path:
    """Where the shipped policy of a board, power mode and model lives (``data/policies/``)."""
    suffix = "" if method == "dvfo" else f"__{method}"
    return artifacts_dir() / "policies" / f"{device}__{power_mode}__{model}{suffix}.npz"


def shipped_policies() -> list[str]:
    """``device/mode/model`` of every shipped DVFO policy."""
    out = []
    for p in sorted((artifacts_dir() / "policies").glob("*.npz")):
        parts = p.stem.split("__")
        if len(parts) == 3:
            out.append("/".join(parts))
    return out


def shipped_policy(device: str, model: str, power_mode: str) -> Path:
    """The shipped DVFO policy of a board, power mode and model; :class:`PolicyError` names a missing one."""
    path = shipped_policy_path(device, model, power_mode)
    if not path.is_file():
        raise PolicyError(
            f"no shipped policy for {device} ({power_mode}) with {model}; shipped: "
            f"{', '.join(shipped_policies()) or 'none'} (train one: dvfo train --device {device} "
            f"--power-mode {power_mode} --model {model} --out FILE, then set the governor's policy parameter)"
        )
    return path
