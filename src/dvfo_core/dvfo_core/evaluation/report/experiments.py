"""The agent experiments of ``dvfo report`` on one pairing: thinking-while-moving vs blocking,
generalisation to unseen traces, flat vs factored Q-head, and the bad-input cases (each run for real).
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from dvfo_core.device.network import load_trace
from dvfo_core.evaluation import pipeline
from dvfo_core.evaluation.report.figures import plt_module
from dvfo_core.evaluation.report.matrix import Pairing, ReportConfig, links_of
from dvfo_core.jobs import run_jobs
from dvfo_core.learning.heads import HEADS
from dvfo_core.learning.training import TrainSpec, train
from dvfo_core.world.build import build_world
from dvfo_core.world.links import LinkSampler


def twm_experiment(world: Any, cfg: ReportConfig, work: Path) -> dict[str, Any]:
    """Thinking-while-moving vs blocking: same seed and budget; curves and latency incl. decision time."""
    out: dict[str, Any] = {}
    for concurrent in (True, False):
        name = "thinking-while-moving" if concurrent else "blocking"
        spec = TrainSpec(steps=cfg.steps, seed=cfg.seed, head=cfg.head, concurrent=concurrent)
        t0 = time.perf_counter()
        res = train(
            world,
            LinkSampler(),
            spec,
            work_dir=work / ("twm" if concurrent else "blocking"),
            progress=cfg.progress,
        )
        wall = time.perf_counter() - t0
        evals = {}
        for bw, trace in links_of(cfg):
            net, label = pipeline.scenario_link(bw, trace)
            from dvfo_core.evaluation.controllers import PolicyController
            from dvfo_core.evaluation.evaluate import run_method

            run = run_method(
                world, PolicyController("dvfo", res.policy, concurrent=concurrent), net, cfg.eta, cfg.frames
            )
            s = run.summary()
            s["decision_on_path_ms_mean"] = float(np.mean([o.decision_s for o in run.outcomes]) * 1e3)
            evals[label] = s
        out[name] = {"curve": res.curve.rows, "train_wall_s": wall, "eval": evals}
    return out


def generalisation_experiment(world: Any, cfg: ReportConfig, policy: Any) -> dict[str, Any]:
    """The synthetic-trained policy on unseen traces vs a policy trained on those traces."""
    traces = [load_trace(t) for t in cfg.traces]
    spec = TrainSpec(
        steps=cfg.steps, seed=cfg.seed, head=cfg.head, links={"kinds": [], "traces": [t.name for t in traces]}
    )
    seen = train(world, LinkSampler(kinds=(), traces=traces), spec, progress=cfg.progress).policy
    out: dict[str, Any] = {}
    for name in cfg.traces:
        net, label = pipeline.scenario_link(None, name)
        res = {}
        for who, pol in (("unseen (synthetic links only)", policy), ("seen (trained on these traces)", seen)):
            doc = pipeline.run_scenario(
                world,
                net,
                label,
                eta=cfg.eta,
                frames=cfg.frames,
                methods=["dvfo", "oracle"],
                policies={"dvfo": pol},
                progress=False,
            )
            m = doc["methods"]
            res[who] = {
                "cost": m["dvfo"]["cost"],
                "oracle": m["oracle"]["cost"],
                "ratio": m["dvfo"]["cost"] / m["oracle"]["cost"],
            }
        out[label] = res
    return out


def heads_experiment(world: Any, cfg: ReportConfig, heads: Sequence[str] = HEADS) -> dict[str, Any]:
    """Every Q-head: same seed and budget, cost relative to the oracle over the report's links."""
    out: dict[str, Any] = {}
    for head in heads:
        res = train(
            world, LinkSampler(), TrainSpec(steps=cfg.steps, seed=cfg.seed, head=head), progress=cfg.progress
        )
        ratios = {}
        for bw, trace in links_of(cfg):
            net, label = pipeline.scenario_link(bw, trace)
            doc = pipeline.run_scenario(
                world,
                net,
                label,
                eta=cfg.eta,
                frames=cfg.frames,
                methods=["dvfo", "oracle"],
                policies={"dvfo": res.policy},
                progress=False,
            )
            m = doc["methods"]
            ratios[label] = m["dvfo"]["cost"] / m["oracle"]["cost"]
        n_params = sum(w.size + b.size for w, b in zip(res.policy.weights, res.policy.biases, strict=True))
        out[head] = {
            "ratios": ratios,
            "mean_ratio": float(np.mean(list(ratios.values()))),
            "train_wall_s": res.wall_s,
            "parameters": int(n_params),
            "outputs": int(res.policy.weights[-1].shape[1]),
        }
    return out


def run_experiments(cfg: ReportConfig, pairing: Pairing) -> dict[str, Any]:
    """The experiments of ``cfg.experiments`` on ``pairing``, as independent jobs on ``cfg.jobs``
    processes (each Q-head of the heads experiment is a job of its own)."""
    jobs: list[tuple[ReportConfig, Pairing, str, str]] = []
    for name in cfg.experiments:
        for head in HEADS if name == "heads" else ("",):
            jobs.append((cfg, pairing, name, head))
    done = run_jobs(
        _experiment, jobs, jobs=cfg.jobs, desc="agent experiments", unit="job", progress=cfg.progress
    )
    out: dict[str, Any] = {}
    for (_, _, name, _), result in zip(jobs, done, strict=True):
        out[name] = {**out.get(name, {}), **result} if name == "heads" else result
    return out


def _experiment(job: tuple[ReportConfig, Pairing, str, str]) -> dict[str, Any]:
    """One experiment (or one Q-head of the heads experiment) in a worker process."""
    cfg, (device, mode, model), name, head = job
    cfg = replace(cfg, progress=False)  # the caller's bar counts the jobs
    world = build_world(cfg.world_spec(device, model, mode))
    if name == "twm":
        return twm_experiment(world, cfg, pipeline.policy_cache_dir() / "report-work")
    if name == "generalisation":
        policy = pipeline.get_policy(
            world, "dvfo", steps=cfg.steps, seed=cfg.seed, head=cfg.head, progress=False
        )
        return generalisation_experiment(world, cfg, policy)
    if name == "heads":
        return heads_experiment(world, cfg, (head,))
    raise ValueError(f"unknown experiment {name!r}")


def bad_input_cases(world: Any, policy: Any) -> list[tuple[str, str]]:
    """Run each bad-input case for real and return ``(case, what happened)``."""
    import tempfile

    from dvfo_core.bag import TELEMETRY_TOPIC, BagError, write_bag
    from dvfo_core.device.network import NetworkModel
    from dvfo_core.device.profiles import load_profile
    from dvfo_core.errors import DvfoError
    from dvfo_core.evaluation.baselines import EdgeOnlyMax
    from dvfo_core.evaluation.evaluate import run_method
    from dvfo_core.learning.observation import FrameTelemetry, ObservationBuilder
    from dvfo_core.learning.replay import load_replay, telemetry_fields
    from dvfo_core.runtime.msgs import message_class

    def error_of(fn: Any) -> str:
        try:
            fn()
        except DvfoError as exc:
            return f"`{type(exc).__name__}: {exc}`"
        return "no error (unexpected)"

    out: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        strip = tmp + "/"
        d = Path(tmp)
        no_tel = write_bag(
            d / "no_telemetry", [("/dvfo/action", 1, message_class("dvfo_msgs/msg/DvfsAction")())]
        )
        replay = lambda p: load_replay([p], world.twin, world.routes, world.device)  # noqa: E731
        out.append(("bag without /dvfo/telemetry", error_of(lambda: replay(no_tel))))
        run = run_method(world, EdgeOnlyMax(), NetworkModel(load_trace("lte-like")), 0.5, 40)
        tel = message_class("dvfo_msgs/msg/Telemetry")
        records = []
        for k, o in enumerate(run.outcomes):
            fields = telemetry_fields(o, world.device, world.twin.table, k)
            if k % 4 == 0:
                fields["bandwidth_mbps"] = math.nan
            records.append((TELEMETRY_TOPIC, int(o.t_s * 1e9) + 1, tel(**fields)))
        nan_bag = write_bag(d / "nan_run", records, storage="mcap")
        r = replay(nan_bag)
        out.append(
            (
                "NaN bandwidth in 1 of 4 telemetry messages of a bag",
                f"{r.dropped} of {r.dropped + r.frames} frames dropped and counted; trained on the rest",
            )
        )
        data = next(p for p in nan_bag.iterdir() if p.suffix == ".mcap")
        blob = data.read_bytes()
        data.write_bytes(blob[: len(blob) // 3] + b"\xff" * 64)
        out.append(("corrupt bag (MCAP cut short and overwritten)", error_of(lambda: replay(nan_bag))))
        try:
            replay(d / "absent")
        except BagError as exc:
            out.append(("missing bag path", f"`BagError: {exc}`"))
        from dvfo_core.device.network import BandwidthTrace
        from dvfo_core.learning.policy import shipped_policy

        out.append(
            (
                "a board/mode/model without a shipped policy",
                error_of(lambda: shipped_policy("jetson-nano", "resnet18", "5W")),
            )
        )
        gap = d / "gap.csv"
        gap.write_text("time_s,bandwidth_mbps\n0,2\n1,2\n2,2\n90,2\n91,2\n")
        out.append(("a bandwidth trace with a 88 s gap", error_of(lambda: BandwidthTrace.load(gap))))
        neg = d / "negative.csv"
        neg.write_text("time_s,bandwidth_mbps\n0,2\n1,-1\n")
        out.append(
            ("a bandwidth trace with a negative bandwidth", error_of(lambda: BandwidthTrace.load(neg)))
        )
        other = load_profile("jetson-xavier-nx").table()
        out.append(
            (
                "policy of jetson-nano run on jetson-xavier-nx",
                error_of(lambda: policy.check("jetson-xavier-nx", other, world.model)),
            )
        )
        builder = ObservationBuilder(policy.meta.context, policy.meta.table)
        builder.update(FrameTelemetry(math.nan, 20.0, 30.0, 25.0, 0.0, 0.0, 60.0, False, 5.0, 0.3, 50.0))
        dec = policy.act(builder.vector(0.5, policy.safe_action))
        t = policy.meta.table
        a = dec.action
        out.append(
            (
                "NaN link estimate in live telemetry",
                f"safe_fallback={dec.safe_fallback}: xi={a.xi:g}, CPU {t.cpu_khz[-1] // 1000} MHz, "
                f"GPU {t.gpu_hz[-1] / 1e6:.0f} MHz, EMC {t.emc_hz[-1] / 1e6:.0f} MHz (table levels "
                f"{a.cpu}/{a.gpu}/{a.emc}, the table's top)",
            )
        )
        builder.update(FrameTelemetry(4.0, 20.0, 30.0, 25.0, 10.0, 1.0, 60.0, False))
        dec = policy.act(builder.vector(0.5, policy.safe_action))
        out.append(
            (
                "no power/temperature readings (board without INA3221)",
                f"imputed; the policy decides normally (safe_fallback={dec.safe_fallback})",
            )
        )
    return [(case, what.replace(strip, "")) for case, what in out]


def plot_curves(twm: dict[str, Any], path: Path) -> Path:
    """Learning curves: reward vs steps and vs training wall-clock, both schemes."""
    plt = plt_module()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, d in twm.items():
        rows = d["curve"]
        steps = [r["steps"] for r in rows]
        wall = [r["wall_s"] for r in rows]
        rew = np.array([r["mean_reward"] for r in rows])
        k = max(1, len(rew) // 20)
        smooth = np.convolve(rew, np.ones(k) / k, mode="same")
        axes[0].plot(steps, smooth, label=name)
        axes[1].plot(wall, smooth, label=name)
    axes[0].set_xlabel("training steps (frames)")
    axes[1].set_xlabel("training wall-clock (s)")
    for ax in axes:
        ax.set_ylabel("mean reward per frame (episode)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_curves_csv(twm: dict[str, Any], path: Path) -> None:
    """The learning curves as CSV (scheme, steps, wall_s, mean_reward, ...)."""
    with path.open("w", newline="") as fh:
        w = None
        for name, d in twm.items():
            for r in d["curve"]:
                if w is None:
                    w = csv.DictWriter(fh, fieldnames=["scheme", *r])
                    w.writeheader()
                w.writerow({"scheme": name, **r})


def _twm_section(twm: dict[str, Any], fig_rel: str) -> list[str]:
    lines = [
        "## Thinking-while-moving vs blocking",
        "",
        "Same seed, budget and links; the blocking variant observes the newest frame but its decision "
        "time (measured on this CPU) is on the frame's critical path; thinking-while-moving decides for "
        "frame k+1 while frame k runs, from one-frame-older telemetry plus the action in progress.",
        "",
        f"![learning curves]({fig_rel}/twm_vs_blocking_curves.png)",
        "",
        "| scheme | link | latency mean (ms) incl. decision | decision on path (ms, mean) "
        "| decision p99 (ms) "
        "| energy (J) | cost | training wall-clock (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, d in twm.items():
        for link, s in d["eval"].items():
            lines.append(
                f"| {name} | {link} | {s['latency_ms_mean']:.2f} | {s['decision_on_path_ms_mean']:.3f} | "
                f"{s.get('decision_ms_p99', math.nan):.3f} | {s['energy_j_per_frame']:.3f} | "
                f"{s['cost']:.3f} | "
                f"{d['train_wall_s']:.0f} |"
            )
    final = {n: np.mean([r["mean_reward"] for r in d["curve"][-10:]]) for n, d in twm.items()}
    lines += [
        "",
        "Mean reward of the last 10 training episodes: "
        + ", ".join(f"{n} {v:.3f}" for n, v in final.items())
        + ". Raw curves: "
        f"[{fig_rel}/twm_vs_blocking_curves.csv]({fig_rel}/twm_vs_blocking_curves.csv).",
        "",
    ]
    return lines


def _gen_section(gen: dict[str, Any]) -> list[str]:
    lines = [
        "## Generalisation to unseen traces",
        "",
        "The report's dvfo policy is trained on synthetic links only; the shipped traces come from other "
        "processes (Wi-Fi fades, an LTE wander). A second policy, same budget, is trained on those traces.",
        "",
        "| trace | policy | cost | oracle | cost / oracle |",
        "|---|---|---|---|---|",
    ]
    for link, res in gen.items():
        for who, v in res.items():
            lines.append(f"| {link} | {who} | {v['cost']:.3f} | {v['oracle']:.3f} | {v['ratio']:.3f} |")
    return [*lines, ""]


def _heads_section(heads: dict[str, Any]) -> list[str]:
    lines = [
        "## Q-heads: flat, factored, routed",
        "",
        "| head | outputs | parameters | mean cost / oracle | training wall-clock (s) |",
        "|---|---|---|---|---|",
    ]
    for head, d in heads.items():
        lines.append(
            f"| {head} | {d['outputs']} | {d['parameters']} | {d['mean_ratio']:.3f} | "
            f"{d['train_wall_s']:.0f} |"
        )
    return [*lines, ""]
