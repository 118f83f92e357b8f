"""Glue shared by ``dvfo train``, ``dvfo eval`` and ``dvfo report``: links, policies, one scenario.

Policies of learned methods are looked up in this order: an explicit file, the shipped default
(``dvfo_core/data/policies/<device>__<model>__<method>.npz``), the policy cache
(``$DVFO_POLICY_CACHE`` or ``~/.cache/dvfo/policies``), and otherwise trained with the given budget
and stored in the cache, so a report re-run reuses what it trained.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dvfo_core.device.network import BandwidthTrace, NetworkModel, RadioModel, load_trace
from dvfo_core.errors import ConfigError
from dvfo_core.evaluation.evaluate import evaluate, summarise
from dvfo_core.evaluation.methods import build_controllers, check_methods, unavailable
from dvfo_core.learning.heads import DEFAULT_HEAD
from dvfo_core.learning.learned import LEARNED, learned_table
from dvfo_core.learning.policy import Policy, PolicyError, shipped_policy_path
from dvfo_core.learning.training import TrainSpec, recipe_tag, train
from dvfo_core.world.build import World
from dvfo_core.world.cost import check_eta
from dvfo_core.world.links import LinkSampler

#: Default training budget of a learned method (steps) when no policy exists yet.
DEFAULT_STEPS = 30_000


def policy_cache_dir() -> Path:
    """The directory policies trained on demand are kept in."""
    env = os.environ.get("DVFO_POLICY_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "dvfo" / "policies"


def scenario_link(
    bandwidth_mbps: float | None, trace: str | None, rtt_ms: float = 20.0, radio: str = "wifi"
) -> tuple[NetworkModel, str]:
    """The evaluation link: a constant bandwidth or a trace (shipped name or CSV path)."""
    if (bandwidth_mbps is None) == (trace is None):
        raise ConfigError("give exactly one of --bandwidth-mbps and --bandwidth-trace")
    if bandwidth_mbps is not None:
        if not bandwidth_mbps > 0 or math.isinf(bandwidth_mbps):
            raise ConfigError(f"bandwidth must be a positive number of Mbps, got {bandwidth_mbps}")
        tr = BandwidthTrace.constant(bandwidth_mbps, rtt_ms)
        return NetworkModel(tr, RadioModel.preset(radio)), f"{bandwidth_mbps:g} Mbps"
    tr = load_trace(trace)
    return NetworkModel(tr, RadioModel.preset(radio)), f"trace {tr.name}"


def get_policy(
    world: World,
    method: str,
    *,
    path: str | Path | None = None,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
    head: str = DEFAULT_HEAD,
    progress: bool = True,
    cache: Path | None = None,
    use_shipped: bool = True,
) -> Policy:
    """The policy of a learned ``method`` for ``world`` (file, shipped, cached, or trained now)."""
    if path is not None:
        policy = Policy.load(path)
        policy.check(world.device, world.twin.table, world.model)
        return policy
    shipped = shipped_policy_path(world.device, world.model, world.power_mode, method)
    if use_shipped and shipped.is_file():
        policy = Policy.load(shipped)
        if _fits(policy, world, method):
            return policy
    spec = TrainSpec(
        method=method, steps=steps, seed=seed, head=head, links={"kinds": ["constant", "walk"], "traces": []}
    )
    cache = cache or policy_cache_dir()
    cached = cache / (
        f"{world.device}__{world.power_mode}__{world.model}__{world.split}__{method}"
        f"__{head}__{steps}__seed{seed}__{recipe_tag(spec)}.npz"
    )
    if cached.is_file():
        try:
            policy = Policy.load(cached)
        except PolicyError:  # trained by an older version: retrain below
            policy = None
        if policy is not None and _fits(policy, world, method):
            return policy
    result = train(world, LinkSampler(), spec, progress=progress)
    result.policy.save(cached)
    return result.policy


def _fits(policy: Policy, world: World, method: str) -> bool:
    try:
        policy.check(world.device, world.twin.table, world.model)
    except PolicyError:
        return False
    meta = policy.meta
    return (
        meta.split == world.split
        and meta.method == method
        and meta.table.routes == learned_table(world, method).routes
        and abs(meta.context.t_ref_s - world.context.t_ref_s) < 1e-9
        and abs(meta.context.deadline_s - world.context.deadline_s) < 1e-9
    )


def ensure_appeal(world: World, cache: Path | None = None) -> None:
    """Attach AppealNet's data to ``world`` when fine-tuned checkpoints are shipped (else it is skipped).

    The edge model is the lightest model with both a shipped checkpoint and a split profile.
    """
    if "appeal" in world.extras:
        return
    from dvfo_core.evaluation.appeal import load_or_measure
    from dvfo_core.split.checkpoint import shipped_checkpoint
    from dvfo_core.split.profile import shipped_profiles
    from dvfo_core.world.build import appeal_edge_route

    usable = []
    for m in shipped_profiles():
        try:
            shipped_checkpoint(m)
        except ConfigError:
            continue
        usable.append(m)
    if world.model not in usable:
        return
    routes = {m: appeal_edge_route(m) for m in usable}
    edge = min(usable, key=lambda m: routes[m].head.flops)
    data = load_or_measure(edge, world.model, cache or policy_cache_dir())
    world.extras["appeal"] = data
    world.extras["appeal_edge"] = routes[edge]


def run_scenario(
    world: World,
    network: NetworkModel,
    label: str,
    *,
    eta: float,
    frames: int,
    methods: Sequence[str],
    policies: dict[str, Policy],
    progress: bool = True,
    shield: bool = True,
    charge_decisions: bool = True,
) -> dict[str, Any]:
    """Every method on the same frames; the JSON document ``dvfo eval`` writes.

    Ablations: ``shield=False`` runs the learned methods without the link shield;
    ``charge_decisions=False`` puts none of their decision time on a frame's path.
    """
    eta = check_eta(eta)
    if frames < 1:
        raise ConfigError(f"--frames must be >= 1, got {frames}")
    names = check_methods(methods)
    if "appealnet" in names:
        ensure_appeal(world)
    table = policies["dvfo"].meta.table if "dvfo" in policies else world.table()
    controllers = build_controllers(
        world, names, policies, table, shield=shield, charge_decisions=charge_decisions
    )
    runs = evaluate(world, controllers, network, eta, frames, progress=progress)
    skipped = {n: unavailable(world, n) for n in names if unavailable(world, n)}
    return {
        "scenario": {
            "device": world.device,
            "power_mode": world.power_mode,
            "model": world.model,
            "split": world.split,
            "link": label,
            "mean_mbps": network.trace.mean_mbps,
            "radio": network.radio.name,
            "eta": eta,
            "frames": frames,
            "deadline_ms": world.cost.deadline_s * 1e3,
            "period_ms": world.period_s * 1e3,
            "e_ref_j": world.cost.e_ref_j,
            "t_ref_ms": world.cost.t_ref_s * 1e3,
            "routes": [list(k) for k in world.route_keys],
            "action_table": table.to_dict(),
            "policies": {
                k: {"method": p.meta.method, "head": p.meta.head, **(p.meta.training or {})}
                for k, p in policies.items()
            },
        },
        "methods": summarise(runs),
        "skipped": skipped,
        "_runs": runs,
    }


def needed_policies(methods: Sequence[str]) -> list[str]:
    """The learned methods among ``methods``."""
    return [m for m in check_methods(methods) if m in LEARNED]
