"""Policy quality of training variants on one board/mode/model, on the report's links.

Trains DVFO with each variant (Q-head, DQN overrides, eta redrawn within episodes) at the same seed
and budget, then runs it next to the oracle and the like-for-like baselines on the same frames of
every report link (steady 0.5 / 2 / 8 Mbps and the shipped traces) at eta 0.5 and 0.9. Reports per
variant: at eta 0.5 the share of links where dvfo's cost <= every baseline's, the worst cost over
the best baseline, the mean and worst cost / oracle; at eta 0.9 the mean energy saving against
edge_only_max (jetson_clocks). The learned baselines come from the evaluation's policy cache
(trained on first use).

Prints JSON, then a one-line summary per variant. Usage::

    python bench/policy_quality.py --pairing jetson-agx-orin/30W/resnet18 \\
        --variant factored --variant 'routed' --variant 'routed:{"dqn": {"train_freq": 1}}'

A variant is ``HEAD[:JSON]`` where the JSON holds :class:`~dvfo_core.learning.training.TrainSpec`
overrides (``dqn``, ``eta_every``, ``steps``). ``--out-dir`` keeps the trained policies.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

LINKS = ((0.5, None), (2.0, None), (8.0, None), (None, "lte-like"), (None, "wifi-fades"))
BASELINES = ("edge_only_max", "edge_only_default", "neurosurgeon", "dvfs_only_drl", "drldo")


def evaluate_variant(
    world: Any,
    policy: Any,
    baseline_policies: dict[str, Any],
    frames: int,
    baselines: tuple[str, ...] = BASELINES,
    shield: bool = True,
) -> dict[str, Any]:
    """Cost ratios of one trained policy over the report links at eta 0.5 and 0.9 (``shield``: the
    learned methods decide under the link shield, as in the governor node)."""
    from dvfo_core.evaluation import pipeline

    rows = []
    for eta in (0.5, 0.9):
        for bw, trace in LINKS:
            net, label = pipeline.scenario_link(bw, trace)
            doc = pipeline.run_scenario(
                world,
                net,
                label,
                eta=eta,
                frames=frames,
                methods=["dvfo", "oracle", *baselines],
                policies={"dvfo": policy, **baseline_policies},
                progress=False,
                shield=shield,
            )
            m = doc["methods"]
            best = min(m[b]["cost"] for b in baselines if b in m)
            rows.append(
                {
                    "eta": eta,
                    "link": label,
                    "cost_over_best_baseline": m["dvfo"]["cost"] / best,
                    "cost_over_oracle": m["dvfo"]["cost"] / m["oracle"]["cost"],
                    "energy_saving_vs_jetson_clocks": 1
                    - m["dvfo"]["energy_j_per_frame"] / m["edge_only_max"]["energy_j_per_frame"],
                    "miss_rate": m["dvfo"]["deadline_miss_rate"],
                }
            )
    balanced = [r for r in rows if r["eta"] == 0.5]
    energy = [r for r in rows if r["eta"] == 0.9]
    return {
        "rows": rows,
        "eta0.5_win_share": sum(r["cost_over_best_baseline"] <= 1.0 for r in balanced) / len(balanced),
        "eta0.5_worst_over_baseline": max(r["cost_over_best_baseline"] for r in balanced),
        "eta0.5_mean_over_oracle": sum(r["cost_over_oracle"] for r in balanced) / len(balanced),
        "eta0.5_worst_over_oracle": max(r["cost_over_oracle"] for r in balanced),
        "eta0.9_mean_saving_vs_jetson_clocks": sum(r["energy_saving_vs_jetson_clocks"] for r in energy)
        / len(energy),
        "max_miss_rate": max(r["miss_rate"] for r in rows),
    }


def main() -> int:
    """Train each variant, evaluate it, print JSON and one summary line per variant."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairing", default="jetson-agx-orin/30W/resnet18", help="DEVICE/POWER_MODE/MODEL")
    ap.add_argument("--variant", action="append", default=[], help="HEAD[:JSON of TrainSpec overrides]")
    ap.add_argument("--steps", type=int, default=30_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--frames", type=int, default=100, help="frames per link and eta (default 100)")
    ap.add_argument("--out-dir", type=Path, help="keep the trained policies here")
    args = ap.parse_args()

    import torch

    from dvfo_core.evaluation import pipeline
    from dvfo_core.learning.training import TrainSpec, train
    from dvfo_core.world.build import WorldSpec, build_world
    from dvfo_core.world.links import LinkSampler

    torch.set_num_threads(1)
    device, mode, model = args.pairing.split("/")
    world = build_world(WorldSpec(device=device, model=model, power_mode=mode))
    baselines = {
        m: pipeline.get_policy(world, m, steps=args.steps, seed=args.seed, progress=False, use_shipped=False)
        for m in ("dvfs_only_drl", "drldo")
    }
    out: dict[str, Any] = {"pairing": args.pairing, "steps": args.steps, "seed": args.seed, "variants": {}}
    for i, variant in enumerate(args.variant or ["factored"]):
        head, _, extra = variant.partition(":")
        overrides = json.loads(extra) if extra else {}
        spec = TrainSpec(steps=args.steps, seed=args.seed, head=head, **overrides)
        t0 = time.perf_counter()
        result = train(world, LinkSampler(), spec, progress=False)
        res = evaluate_variant(world, result.policy, baselines, args.frames)
        res["train_wall_s"] = time.perf_counter() - t0
        if args.out_dir is not None:
            name = f"{device}__{mode}__{model}__variant{i}__{head}.npz"
            res["policy"] = str(result.policy.save(args.out_dir / name))
        out["variants"][variant] = res
    print(json.dumps(out, indent=1))
    for variant, r in out["variants"].items():
        print(
            f"{args.pairing} {variant}: eta 0.5 wins {100 * r['eta0.5_win_share']:.0f} %, worst "
            f"x{r['eta0.5_worst_over_baseline']:.3f} over a baseline, cost/oracle mean "
            f"x{r['eta0.5_mean_over_oracle']:.3f} worst x{r['eta0.5_worst_over_oracle']:.3f}; eta 0.9 "
            f"saving vs jetson_clocks {100 * r['eta0.9_mean_saving_vs_jetson_clocks']:.1f} %"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
