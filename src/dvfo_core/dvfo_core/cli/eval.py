"""``dvfo eval``: every method on the same frames of one link, on the twin; JSON (+ plot)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``eval`` sub-command."""
    p = subparsers.add_parser(
        "eval",
        help="compare DVFO with the baselines and the oracle on the twin",
        description="Run dvfo, oracle and the baselines on the same frames of one link. Learned baselines "
        "without a policy are trained first (--train-steps) and cached ($DVFO_POLICY_CACHE).",
    )
    p.add_argument("--device", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--split", help="split point (default: the model's default split)")
    p.add_argument("--split-profile", help="split profile JSON (default: the shipped one of --model)")
    p.add_argument("--power-mode")
    link = p.add_mutually_exclusive_group(required=True)
    link.add_argument("--bandwidth-mbps", type=float, help="a steady link of this bandwidth")
    link.add_argument(
        "--bandwidth-trace", help="a trace CSV (time_s,bandwidth_mbps[,rtt_ms]) or shipped name"
    )
    p.add_argument("--rtt-ms", type=float, default=20.0, help="RTT of a steady link (default 20)")
    p.add_argument("--radio", default="wifi", choices=["wifi", "lte"])
    p.add_argument("--eta", type=float, default=0.5, help="energy weight in [0, 1] (default 0.5)")
    p.add_argument("--policy", type=Path, help="DVFO policy file (default: shipped, cached or trained)")
    p.add_argument("--frames", type=int, default=300, help="frames per method (default 300)")
    p.add_argument(
        "--deadline-ms", type=float, help="frame deadline (default: 2x local latency at max clocks)"
    )
    p.add_argument("--methods", nargs="+", default=["all"], help="subset of methods (default all)")
    p.add_argument("--train-steps", type=int, default=30_000, help="budget for policies trained on demand")
    p.add_argument("--seed", type=int, default=0, help="seed of policies trained on demand")
    p.add_argument("--json", required=True, type=Path, help="output JSON")
    p.add_argument("--plot", type=Path, help="energy-vs-latency plot (PNG)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate and write the JSON (and plot)."""
    from dvfo_core.cli._world import world_from_args
    from dvfo_core.evaluation import pipeline
    from dvfo_core.evaluation.evaluate import plot_energy_latency

    world = world_from_args(args)
    network, label = pipeline.scenario_link(
        args.bandwidth_mbps, args.bandwidth_trace, args.rtt_ms, args.radio
    )
    policies = {}
    for method in pipeline.needed_policies(args.methods):
        policies[method] = pipeline.get_policy(
            world,
            method,
            path=args.policy if method == "dvfo" else None,
            steps=args.train_steps,
            seed=args.seed,
            progress=not args.no_progress,
        )
    doc = pipeline.run_scenario(
        world,
        network,
        label,
        eta=args.eta,
        frames=args.frames,
        methods=args.methods,
        policies=policies,
        progress=not args.no_progress,
    )
    doc.pop("_runs")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=1))
    if args.plot:
        sc = doc["scenario"]
        plot_energy_latency(
            doc["methods"],
            args.plot,
            f"{sc['device']} / {sc['model']} @ {sc['split']}, {label}, eta={sc['eta']:g}",
        )
    for name, m in doc["methods"].items():
        print(
            f"{name:18s} E {m['energy_j_per_frame']:.3f} J  latency {m['latency_ms_mean']:7.1f} ms "
            f"(p95 {m['latency_ms_p95']:7.1f})  acc {m['accuracy']:5.1f} %  cost {m['cost']:.3f}  "
            f"miss {m['deadline_miss_rate']:.2f}"
        )
    for name, why in doc["skipped"].items():
        print(f"{name:18s} skipped: {why}")
    return 0
