"""``dvfo train``: train a governor policy on the digital twin (optionally replaying rosbag2 recordings)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dvfo_core.errors import ConfigError
from dvfo_core.learning.heads import DEFAULT_HEAD, HEADS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` sub-command."""
    p = subparsers.add_parser(
        "train",
        help="train a DVFO policy (DQN, thinking-while-moving) on the twin",
        description="Train a policy on the digital twin. Writes POLICY (.npz: Q-network weights + "
        "device/model/action-table metadata) and, beside it, POLICY.train/ with TensorBoard logs, "
        "checkpoints (--resume) and the learning curve (curve.csv).",
    )
    p.add_argument("--device", help="board profile, e.g. jetson-nano")
    p.add_argument("--model", help="torchvision model name with a split profile, e.g. resnet18")
    p.add_argument(
        "--all",
        action="store_true",
        help="train the shipped policies: every board x resnet18, mobilenet_v2 x default and max "
        "power mode, into --out-dir (default: the package's data/policies)",
    )
    p.add_argument("--out-dir", type=Path, help="with --all: where the policies go")
    p.add_argument("--split", help="split point (default: the model's default split)")
    p.add_argument("--split-profile", help="split profile JSON (default: the shipped one of --model)")
    p.add_argument("--power-mode", help="nvpmodel power mode (default: the board's default)")
    p.add_argument("--out", type=Path, help="policy file to write (.npz)")
    p.add_argument("--steps", type=int, default=30_000, help="training steps = frames (default 30000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--method",
        default="dvfo",
        choices=["dvfo", "dvfs_only_drl", "drldo"],
        help="which learned method to train (default dvfo)",
    )
    p.add_argument(
        "--head", default=DEFAULT_HEAD, choices=HEADS, help=f"Q-network head (default {DEFAULT_HEAD})"
    )
    p.add_argument(
        "--blocking", action="store_true", help="blocking decisions instead of thinking-while-moving"
    )
    p.add_argument(
        "--bag",
        nargs="+",
        default=[],
        metavar="PATH",
        help="rosbag2 recordings (MCAP or sqlite3) with /dvfo/telemetry to replay",
    )
    p.add_argument("--trace", nargs="+", default=[], metavar="CSV", help="bandwidth traces to train on")
    p.add_argument(
        "--links",
        default="constant,walk",
        help="synthetic links in the mix: constant,walk or 'none' (default constant,walk)",
    )
    p.add_argument(
        "--eta", type=float, help="fixed energy weight (default: random, a new one every 20 frames)"
    )
    p.add_argument(
        "--deadline-ms", type=float, help="frame deadline (default: 2x local latency at max clocks)"
    )
    p.add_argument("--radio", default="wifi", choices=["wifi", "lte"])
    p.add_argument(
        "--logdir", type=Path, help="TensorBoard logs, checkpoints, curve.csv (default: OUT.train/)"
    )
    p.add_argument(
        "--resume", action="store_true", help="continue from the logdir's checkpoint for --steps more"
    )
    p.add_argument(
        "--jobs",
        type=int,
        help="with --all: policies trained at once, one per process (default: one per core)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the world (with the bags' replay), train, write the policy."""
    from dvfo_core.cli._world import world_from_args
    from dvfo_core.device.network import RadioModel, load_trace
    from dvfo_core.learning.replay import CalibratedTwin, FixedCloud, load_replay
    from dvfo_core.learning.training import TrainSpec, train
    from dvfo_core.world.cost import check_eta
    from dvfo_core.world.frame import CachedTwin
    from dvfo_core.world.links import LinkSampler

    if args.steps < 1:
        raise ConfigError(f"--steps must be >= 1, got {args.steps}")
    if args.eta is not None:
        check_eta(args.eta)
    if args.all:
        return train_all(args)
    missing = [f"--{n}" for n in ("device", "model", "out") if getattr(args, n) is None]
    if missing:
        raise ConfigError(f"give {', '.join(missing)} (or --all)")
    world = world_from_args(args)
    extra: dict = {}
    traces = [load_trace(t) for t in args.trace]
    if args.bag:
        replay = load_replay(args.bag, world.twin, world.routes, args.device)
        twin = CalibratedTwin(CachedTwin(world.twin_model), replay.latency_scale, replay.power_scale)
        cloud = FixedCloud(replay.cloud_s) if replay.cloud_s is not None else None
        world = world_from_args(args, twin=twin, cloud=cloud)
        traces.append(replay.trace)
        extra["replay"] = replay.summary()
        print(
            f"replay: {replay.frames} frames from {len(args.bag)} bag(s) ({replay.dropped} dropped), "
            f"mean {replay.trace.mean_mbps:.2f} Mbps, latency x{replay.latency_scale:.3f}, "
            f"power x{replay.power_scale:.3f}"
        )
    kinds = [] if args.links == "none" else [k.strip() for k in args.links.split(",") if k.strip()]
    sampler = LinkSampler(kinds=kinds, traces=traces, radio=RadioModel.preset(args.radio))
    tspec = TrainSpec(
        method=args.method,
        steps=args.steps,
        seed=args.seed,
        head=args.head,
        concurrent=False if args.blocking else None,
        eta=args.eta,
        links={"kinds": kinds, "traces": [t.name for t in traces], "radio": args.radio},
    )
    out = args.out if args.out.suffix == ".npz" else args.out.with_name(args.out.name + ".npz")
    work = args.logdir or out.with_suffix(".train")
    if args.resume and not (work / "checkpoint" / "model.zip").is_file():
        raise ConfigError(f"--resume: no checkpoint in {work / 'checkpoint'}")
    result = train(
        world,
        sampler,
        tspec,
        work_dir=work,
        resume=args.resume,
        progress=not args.no_progress,
        extra_meta=extra,
    )
    path = result.policy.save(out)
    last = result.curve.rows[-5:]
    summary = {
        "policy": str(path),
        "device": world.device,
        "model": world.model,
        "split": world.split,
        "method": args.method,
        "head": args.head,
        "concurrent": bool((result.policy.meta.training or {}).get("concurrent")),
        "steps": int(result.model.num_timesteps),
        "wall_s": round(result.wall_s, 1),
        "actions": result.policy.meta.table.size,
        "last_episodes_mean_reward": (sum(r["mean_reward"] for r in last) / len(last)) if last else None,
        "logs": str(work),
    }
    print(json.dumps(summary, indent=1))
    return 0


#: The models every board ships a policy for.
SHIPPED_MODELS = ("resnet18", "mobilenet_v2")


def train_all(args: argparse.Namespace) -> int:
    """Train the shipped DVFO policy of every board x model x (default, max) power mode."""
    from dvfo_core.device.profiles import list_profiles, load_profile
    from dvfo_core.jobs import default_jobs, run_jobs
    from dvfo_core.world.build import evaluated_modes

    if args.method != "dvfo" or args.bag or args.resume:
        raise ConfigError("--all trains the shipped dvfo policies: no --method, --bag or --resume")
    jobs = args.jobs if args.jobs is not None else default_jobs()
    if jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {jobs}")
    pairings = [
        (vars(args), device, mode, model)
        for device in list_profiles()
        for mode in evaluated_modes(load_profile(device))
        for model in SHIPPED_MODELS
    ]
    written = run_jobs(
        _train_shipped, pairings, jobs=jobs, desc="policies", unit="policy", progress=not args.no_progress
    )
    print(json.dumps({"policies": written, "steps": args.steps, "seed": args.seed}, indent=1))
    return 0


def _train_shipped(job: tuple[dict, str, str, str]) -> str:
    """Train and write the shipped policy of one (device, power mode, model); returns its path."""
    from dvfo_core.cli._world import world_from_args
    from dvfo_core.device.network import RadioModel
    from dvfo_core.learning.policy import shipped_policy_path
    from dvfo_core.learning.training import TrainSpec, train
    from dvfo_core.world.links import LinkSampler

    options, device, mode, model = job
    args = argparse.Namespace(**{**options, "device": device, "model": model, "power_mode": mode})
    kinds = [] if args.links == "none" else [k.strip() for k in args.links.split(",") if k.strip()]
    sampler = LinkSampler(kinds=kinds, radio=RadioModel.preset(args.radio))
    world = world_from_args(args)
    spec = TrainSpec(
        steps=args.steps,
        seed=args.seed,
        head=args.head,
        eta=args.eta,
        links={"kinds": kinds, "traces": [], "radio": args.radio},
    )
    result = train(world, sampler, spec, progress=False)
    path = shipped_policy_path(device, model, world.power_mode)
    if args.out_dir is not None:
        path = args.out_dir / path.name
    return str(result.policy.save(path))
