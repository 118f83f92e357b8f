"""Twin calibration: published latencies vs the twin, the fit of the framework parameters, the plot.

``python -m dvfo_core.device.calibration table`` prints the markdown table of docs/twin-calibration.md
(the fit points); ``... holdout`` the published points *not* used in the fit, with the twin's error;
``... summary`` the per-board table (idle and busy power, ResNet-18 / MobileNetV2 at each board's
default and maximum mode); ``... fit`` re-fits the Nano's ``twin:`` parameters to the fit points;
``... plot PNG`` draws the energy-vs-frequency curves (matplotlib, Agg backend).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

from dvfo_core.device.profiles import BoardProfile, load_profile
from dvfo_core.device.twin import TwinModel
from dvfo_core.workload import Workload

TORCH2TRT_NANO = ("NVIDIA-AI-IOT/torch2trt, benchmarks/JETSON_NANO.md: PyTorch fp16 latency, batch 1, "
                  "224x224 (board assumed at MAXN with jetson_clocks)")


@dataclass(frozen=True)
class Published:
    """One published latency of a torchvision model on a board at max clocks."""

    board: str
    model: str
    precision: str
    latency_ms: float
    source: str


PUBLISHED: tuple[Published, ...] = (
    Published("jetson-nano", "resnet18", "fp16", 34.7, TORCH2TRT_NANO),
    Published("jetson-nano", "resnet34", "fp16", 64.8, TORCH2TRT_NANO),
    Published("jetson-nano", "resnet50", "fp16", 81.7, TORCH2TRT_NANO),
    Published("jetson-nano", "vgg16", "fp16", 201.0, TORCH2TRT_NANO),
    Published("jetson-nano", "alexnet", "fp16", 22.1, TORCH2TRT_NANO),
    Published("jetson-nano", "densenet121", "fp16", 84.5, TORCH2TRT_NANO),
    Published("jetson-nano", "squeezenet1_1", "fp16", 14.0, TORCH2TRT_NANO),
)


#: Published points held out of the fit: same source and board as the fit points, models the fit
#: never saw (so they test how the per-layer model generalises across architectures, not across
#: boards: no published PyTorch latency of the other four boards was found, see the docs).
HOLDOUT: tuple[Published, ...] = (
    Published("jetson-nano", "squeezenet1_0", "fp16", 24.2, TORCH2TRT_NANO),
    Published("jetson-nano", "resnet101", "fp16", 141.0, TORCH2TRT_NANO),
    Published("jetson-nano", "resnet152", "fp16", 204.0, TORCH2TRT_NANO),
    Published("jetson-nano", "densenet169", "fp16", 118.0, TORCH2TRT_NANO),
    Published("jetson-nano", "densenet201", "fp16", 141.0, TORCH2TRT_NANO),
    Published("jetson-nano", "densenet161", "fp16", 247.0, TORCH2TRT_NANO),
    Published("jetson-nano", "vgg11", "fp16", 114.0, TORCH2TRT_NANO),
    Published("jetson-nano", "vgg13", "fp16", 156.0, TORCH2TRT_NANO),
    Published("jetson-nano", "vgg11_bn", "fp16", 117.0, TORCH2TRT_NANO),
    Published("jetson-nano", "vgg13_bn", "fp16", 162.0, TORCH2TRT_NANO),
    Published("jetson-nano", "vgg16_bn", "fp16", 207.0, TORCH2TRT_NANO),
)


def profile_model(name: str, precision: str = "fp32", image_size: int = 224) -> Workload:
    """Per-layer cost of torchvision ``name`` as it executes in ``precision``.

    The cost is counted (FLOPs, bytes), never timed, so the model is traced on torch's ``meta``
    device: shapes and dtypes without weights or arithmetic (DenseNet-161 in fp16: 1.4 s instead
    of 12 s on one CPU core), with the same counts as a run on the CPU.
    """
    import torch
    import torchvision

    from dvfo_core.workload import profile_layers

    with torch.device("meta"):
        model = torchvision.models.get_model(name, weights=None).eval()
        x = torch.empty(1, 3, image_size, image_size)
        if precision == "fp16":
            model, x = model.half(), x.half()
        return profile_layers(model, x, name=name)


def twin_latency_ms(point: Published, work: Workload, profile: BoardProfile | None = None) -> float:
    """The twin's latency for a published point at the default mode's max clocks."""
    twin = TwinModel(profile or point.board, precision=point.precision)
    return twin.stage(work, twin.max_levels()).latency_s * 1e3


def table(points: tuple[Published, ...] = PUBLISHED) -> list[tuple[Published, float]]:
    """Each published point with the twin's latency."""
    return [(p, twin_latency_ms(p, profile_model(p.model, p.precision))) for p in points]


def rms_log_error(rows: list[tuple[Published, float]]) -> float:
    """Root-mean-square of log(twin / published) over ``rows`` (0.063 = about 6.3 %)."""
    return math.sqrt(sum(math.log(t / p.latency_ms) ** 2 for p, t in rows) / len(rows)) if rows else 0.0


SUMMARY_BOARDS = ("jetson-nano", "jetson-tx2", "jetson-xavier-nx", "jetson-orin-nano", "jetson-agx-orin")


def summary(boards: tuple[str, ...] = SUMMARY_BOARDS,
            models: tuple[str, ...] = ("resnet18", "mobilenet_v2")) -> list[dict[str, object]]:
    """Per board and mode (default, then maximum): idle power at min/max clocks and, per model,
    latency ms / mean power W / energy mJ at the mode's max clocks (fp32, 224x224)."""
    from dvfo_core.device.profiles import load_profile

    works = {m: profile_model(m) for m in models}
    rows: list[dict[str, object]] = []
    for board in boards:
        prof = load_profile(board)
        for mode in dict.fromkeys((prof.default_mode, prof.max_mode)):
            twin = TwinModel(prof, mode=mode)
            top = twin.max_levels()
            row: dict[str, object] = {
                "board": board, "mode": mode, "budget_w": twin.power_mode.budget_w,
                "idle_min_w": twin.idle(1.0, twin.min_levels()).power_w,
                "idle_max_w": twin.idle(1.0, top).power_w,
            }
            for m, w in works.items():
                c = twin.stage(w, top)
                row[m] = (c.latency_s * 1e3, c.power_w, c.energy_j * 1e3, dict(c.rails_w))
            rows.append(row)
    return rows


def fit(board: str = "jetson-nano") -> dict[str, float]:
    """Least-squares (log-latency) fit of the twin parameters to the board's published points."""
    from scipy.optimize import minimize

    prof = load_profile(board)
    points = [p for p in PUBLISHED if p.board == board]
    works = {p: profile_model(p.model, p.precision) for p in points}
    names = ("compute_efficiency", "memory_efficiency", "framework_cycles_per_layer", "frame_overhead_cycles")

    def loss(x):
        params = dict(zip(names, (math.exp(v) for v in x), strict=True))
        params["memory_efficiency"] = min(1.0, params["memory_efficiency"])
        p2 = dataclasses.replace(prof, twin=dataclasses.replace(prof.twin, **params))
        return sum(math.log(twin_latency_ms(p, works[p], p2) / p.latency_ms) ** 2 for p in points)

    x0 = [math.log(getattr(prof.twin, n)) for n in names]
    res = minimize(loss, x0, method="Nelder-Mead", options={"maxiter": 2000, "fatol": 1e-9, "xatol": 1e-5})
    out = {n: math.exp(v) for n, v in zip(names, res.x, strict=True)}
    out["rms_log_error"] = math.sqrt(res.fun / len(points))
    return out


def energy_curves(
    board: str, work: Workload, period_s: float | None = None
) -> dict[str, list[tuple[float, float]]]:
    """Per domain, (frequency MHz, energy mJ per frame) with the other domains at max.

    With ``period_s`` the frame includes waiting (idle at the same clocks) until the next frame.
    """
    twin = TwinModel(board)
    top = twin.max_levels()
    t = twin.table
    out: dict[str, list[tuple[float, float]]] = {}
    for dom, freqs, scale in (("cpu", t.cpu_khz, 1e-3), ("gpu", t.gpu_hz, 1e-6), ("emc", t.emc_hz, 1e-6)):
        pts = []
        for i, f in enumerate(freqs):
            lv = dataclasses.replace(top, **{dom: i})
            busy = twin.stage(work, lv)
            e = busy.energy_j
            if period_s:
                e += twin.idle(max(0.0, period_s - busy.latency_s), lv).energy_j
            pts.append((f * scale, e * 1e3))
        out[dom] = pts
    return out


def plot(
    path: Path, board: str = "jetson-nano", models: tuple[str, ...] = ("resnet18", "mobilenet_v2")
) -> Path:
    """Draw energy per frame vs each domain's frequency (others at max) into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for model in models:
        work = profile_model(model)
        for period, style in ((None, "-o"), (0.1, "--s")):
            curves = energy_curves(board, work, period)
            label = f"{model}, back to back" if period is None else f"{model}, 10 fps camera"
            for ax, dom in zip(axes, ("cpu", "gpu", "emc"), strict=True):
                xs, ys = zip(*curves[dom], strict=True)
                ax.plot(xs, ys, style, ms=3, label=label)
    for ax, dom in zip(axes, ("CPU", "GPU", "EMC"), strict=True):
        ax.set_xlabel(f"{dom} frequency (MHz), others at max")
        ax.set_ylabel("edge energy per frame (mJ)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Digital twin, {board}, fp32, 224x224: energy per frame vs clock")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    """Command-line entry (see the module docstring)."""
    ap = argparse.ArgumentParser(description="twin calibration tools")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("table", help="markdown table: published (fit) points vs twin")
    sub.add_parser("holdout", help="markdown table: held-out published points vs twin")
    sub.add_parser("summary", help="markdown table: per-board idle/busy power at default and max mode")
    f = sub.add_parser("fit", help="re-fit the twin parameters of a board")
    f.add_argument("--board", default="jetson-nano")
    p = sub.add_parser("plot", help="energy-vs-frequency PNG")
    p.add_argument("png", type=Path)
    p.add_argument("--board", default="jetson-nano")
    args = ap.parse_args(argv)
    if args.cmd in ("table", "holdout"):
        rows = table(PUBLISHED if args.cmd == "table" else HOLDOUT)
        print("| board | model | precision | published ms | twin ms | error | source |")
        print("|---|---|---|---|---|---|---|")
        for pub, twin_ms in rows:
            err = (twin_ms - pub.latency_ms) / pub.latency_ms * 100
            print(f"| {pub.board} | {pub.model} | {pub.precision} | {pub.latency_ms:.1f} | {twin_ms:.1f} | "
                  f"{err:+.0f} % | {pub.source.split(':')[0]} |")
        print(f"\nRMS log error: {rms_log_error(rows) * 100:.1f} % over {len(rows)} points")
    elif args.cmd == "summary":
        models = ("resnet18", "mobilenet_v2")
        print("| board | mode | idle @ min clocks W | idle @ max clocks W | "
              + " | ".join(f"{m}: ms / W / mJ (gpu rail W)" for m in models) + " | mode budget W |")
        print("|---" * (5 + len(models)) + "|")
        for r in summary(models=models):
            cells = []
            for m in models:
                ms, w, mj, rails = r[m]  # type: ignore[misc]
                cells.append(f"{ms:.1f} / {w:.2f} / {mj:.0f} ({rails['gpu']:.2f})")
            print(f"| {r['board']} | {r['mode']} | {r['idle_min_w']:.2f} | {r['idle_max_w']:.2f} | "
                  + " | ".join(cells) + f" | {r['budget_w']:g} |")
    elif args.cmd == "fit":
        for k, v in fit(args.board).items():
            print(f"{k}: {v:.4g}")
    else:
        print(plot(args.png, args.board))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
