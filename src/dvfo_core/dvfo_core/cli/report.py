"""``dvfo report``: regenerate docs/results.md (and its figures) from measured runs on the twin."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from dvfo_core.errors import ConfigError
from dvfo_core.learning.heads import DEFAULT_HEAD, HEADS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command."""
    p = subparsers.add_parser(
        "report",
        help="regenerate docs/results.md: every method across devices x models x links, agent experiments",
        description="Run the comparison across devices x models x links plus the thinking-while-moving, "
        "generalisation and Q-head experiments, and write the markdown report and its figures. Policies are "
        "trained on demand and cached ($DVFO_POLICY_CACHE), so a re-run reuses them.",
    )
    p.add_argument("--devices", nargs="+", help="board profiles (default: every shipped board)")
    p.add_argument(
        "--models", nargs="+", help="models (default: those whose shipped split profile is trained)"
    )
    p.add_argument("--bandwidths", nargs="+", type=float, default=[0.5, 2.0, 8.0])
    p.add_argument("--traces", nargs="+", default=["lte-like", "wifi-fades"])
    p.add_argument(
        "--etas", nargs="+", type=float, default=[0.1, 0.3, 0.5, 0.7, 0.9], help="energy weights of the sweep"
    )
    p.add_argument("--frames", type=int, default=100, help="frames per method, link and eta (default 100)")
    p.add_argument(
        "--modes",
        default="default,max",
        choices=["default,max", "default", "max"],
        help="power modes per board",
    )
    p.add_argument("--steps", type=int, default=30_000, help="training budget per learned policy")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--head", default=DEFAULT_HEAD, choices=HEADS)
    p.add_argument(
        "--experiments",
        nargs="*",
        default=["twm", "generalisation", "heads"],
        choices=["twm", "generalisation", "heads"],
        help="agent experiments to run (default all)",
    )
    p.add_argument(
        "--pairing",
        nargs=2,
        metavar=("DEVICE", "MODEL"),
        help="device and model of the experiments (default: jetson-nano resnet18)",
    )
    p.add_argument("--profile-dir", type=Path, help="split profiles <model>.json (default: the shipped ones)")
    p.add_argument("--out", type=Path, default=Path("docs/results.md"))
    p.add_argument("--figures", type=Path, default=Path("docs/figures"))
    p.add_argument("--json", type=Path, help="also write the measured numbers as JSON")
    p.add_argument(
        "--jobs",
        type=int,
        help="pairings and experiments run at once, one per process (default: one per core)",
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def default_models(profile_dir: Path | None) -> list[str]:
    """Models whose split profile was measured with trained weights (they carry accuracy)."""
    from dvfo_core.world.build import load_split_profile

    if profile_dir is not None:
        names = sorted(
            {p.name.removesuffix(".gz").removesuffix(".json") for p in profile_dir.glob("*.json*")}
        )
        paths = {n: next(iter(sorted(profile_dir.glob(f"{n}.json*")))) for n in names}
    else:
        from dvfo_core.split.profile import shipped_profiles

        names, paths = shipped_profiles(), {}
    return [n for n in names if load_split_profile(n, None, paths.get(n)).trained]


def run(args: argparse.Namespace) -> int:
    """Generate the report."""
    import torch

    from dvfo_core.device.profiles import list_profiles
    from dvfo_core.evaluation.report import ReportConfig, generate
    from dvfo_core.world.cost import check_eta

    torch.set_num_threads(1)
    for eta in args.etas:
        check_eta(eta)
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {args.jobs}")
    devices = args.devices or list_profiles()
    models = args.models or default_models(args.profile_dir)
    if not models:
        raise ConfigError("no split profile measured with trained weights: pass --models")
    cfg = ReportConfig(
        devices=devices,
        models=models,
        bandwidths=args.bandwidths,
        traces=args.traces,
        etas=args.etas,
        frames=args.frames,
        modes=args.modes,
        steps=args.steps,
        seed=args.seed,
        head=args.head,
        experiments=args.experiments,
        pairing=tuple(args.pairing) if args.pairing else None,
        out_md=args.out,
        fig_dir=args.figures,
        command="dvfo report " + " ".join(shlex.quote(a) for a in sys.argv[2:])
        if sys.argv[1:2] == ["report"]
        else "dvfo report",
        progress=not args.no_progress,
        profile_dir=args.profile_dir,
        **({"jobs": args.jobs} if args.jobs is not None else {}),
    )
    result = generate(cfg)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=float))
    print(json.dumps({k: v for k, v in result["targets"].items() if k != "oracle_beaten"}, indent=1))
    print(f"wrote {args.out} and figures in {args.figures}")
    return 0
