"""The shipped DVFO policies on every board/mode/model, against the oracle and the untrained baselines.

For each shipped pairing, the shipped policy (and, with ``--against DIR``, the policy of the same
name in DIR: e.g. the previous recipe's files, ``git show``-ed into a folder) runs next to the
oracle and the baselines that need no training (edge_only_max = jetson_clocks, edge_only_default =
the stock governors, neurosurgeon) on the same frames of every report link (steady 0.5 / 2 / 8 Mbps
and the shipped traces) at eta 0.5 and 0.9, under the link shield as in the governor node
(``--no-shield-too`` adds each set once more without it). The learned baselines are left out: they would be
trained for every pairing (``dvfo report`` does that). Pairings run on ``--jobs`` processes.

Prints JSON, then one summary line per policy set. Usage::

    git show HEAD~1:src/dvfo_core/dvfo_core/data/policies/... > old/...   # one file per pairing
    python bench/shipped_policies.py --against old/ --json shipped.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from policy_quality import evaluate_variant
from report_io import emit_json

UNTRAINED_BASELINES = ("edge_only_max", "edge_only_default", "neurosurgeon")


def evaluate_pairing(job: tuple[str, dict[str, tuple[Path, bool]], int]) -> dict[str, Any]:
    """Every policy set's policy for one ``device/mode/model`` (runs in a worker process)."""
    from dvfo_core.learning.policy import Policy
    from dvfo_core.world.build import WorldSpec, build_world

    pairing, sets, frames = job
    device, mode, model = pairing.split("/")
    world = build_world(WorldSpec(device=device, model=model, power_mode=mode))
    out = {}
    for name, (folder, shield) in sets.items():
        policy = Policy.load(folder / f"{device}__{mode}__{model}.npz")
        policy.check(world.device, world.twin.table, world.model)
        res = evaluate_variant(world, policy, {}, frames, UNTRAINED_BASELINES, shield)
        res["recipe"] = policy.meta.training.get("recipe", "before recipe tags")
        out[name] = res
    return out


def main() -> int:
    """Evaluate, print JSON and one summary line per policy set."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--against", type=Path, help="a folder of policies named as the shipped ones")
    ap.add_argument("--frames", type=int, default=100, help="frames per link and eta (default 100)")
    ap.add_argument("--jobs", type=int, help="pairings at once (default: one per core)")
    ap.add_argument("--json", type=Path, help="also write the JSON here")
    ap.add_argument(
        "--no-shield-too", action="store_true", help="also evaluate every set without the link shield"
    )
    args = ap.parse_args()

    from dvfo_core.jobs import default_jobs, run_jobs
    from dvfo_core.learning.policy import artifacts_dir, shipped_policies

    folders = {"shipped": artifacts_dir() / "policies"}
    if args.against is not None:
        folders["against"] = args.against
    sets = {name: (folder, True) for name, folder in folders.items()}
    if args.no_shield_too:
        sets |= {f"{name}, no shield": (folder, False) for name, folder in folders.items()}
    pairings = shipped_policies()
    results = run_jobs(
        evaluate_pairing,
        [(p, sets, args.frames) for p in pairings],
        jobs=args.jobs or default_jobs(),
        desc="pairings",
        unit="pairing",
    )
    doc: dict[str, Any] = {"frames": args.frames, "baselines": list(UNTRAINED_BASELINES), "sets": {}}
    for name in sets:
        per = {p: r[name] for p, r in zip(pairings, results, strict=True)}
        n = len(per)
        doc["sets"][name] = {
            "pairings": per,
            "eta0.5_win_share": sum(r["eta0.5_win_share"] for r in per.values()) / n,
            "eta0.5_mean_over_oracle": sum(r["eta0.5_mean_over_oracle"] for r in per.values()) / n,
            "eta0.5_worst_over_oracle": max(r["eta0.5_worst_over_oracle"] for r in per.values()),
            "eta0.5_worst_over_baseline": max(r["eta0.5_worst_over_baseline"] for r in per.values()),
            "eta0.9_mean_saving_vs_jetson_clocks": sum(
                r["eta0.9_mean_saving_vs_jetson_clocks"] for r in per.values()
            )
            / n,
            "max_miss_rate": max(r["max_miss_rate"] for r in per.values()),
        }
    emit_json(doc, args.json)
    for name, s in doc["sets"].items():
        print(
            f"{name} ({len(pairings)} pairings, vs oracle and {', '.join(UNTRAINED_BASELINES)}): eta 0.5 "
            f"wins {100 * s['eta0.5_win_share']:.0f} % of links, worst "
            f"x{s['eta0.5_worst_over_baseline']:.3f} over a baseline, cost/oracle mean "
            f"x{s['eta0.5_mean_over_oracle']:.3f} worst "
            f"x{s['eta0.5_worst_over_oracle']:.3f}; eta 0.9 saving vs jetson_clocks "
            f"{100 * s['eta0.9_mean_saving_vs_jetson_clocks']:.1f} %; max miss rate "
            f"{100 * s['max_miss_rate']:.1f} %"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
