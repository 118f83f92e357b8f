"""The evaluation harness: every method on the same frames of the same link, summarised and plotted.

Frame ``k`` starts at ``k * period`` on the link's clock for every method, so all methods see the
same bandwidth at the same frame. Per method the summary holds ``energy_j_per_frame``,
``latency_ms_mean``, ``latency_ms_p95``, ``accuracy`` (top-1 in percent, mean over frames),
``cost`` (mean :class:`~dvfo_core.world.cost.CostModel` cost), ``deadline_miss_rate`` and, for learned
policies, decision-time percentiles and the number of safe fallbacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from dvfo_core.device.twin import StageCost, TwinDevice
from dvfo_core.evaluation.controllers import Controller, FrameContext, PolicyController
from dvfo_core.world.build import World
from dvfo_core.world.frame import FrameOutcome


@dataclass
class MethodRun:
    """Per-frame outcomes of one method."""

    name: str
    outcomes: list[FrameOutcome]
    costs: list[float]
    decision_s: list[float]
    fallbacks: int

    def summary(self) -> dict[str, Any]:
        """The JSON summary of the run."""
        lat = np.array([o.latency_s for o in self.outcomes]) * 1e3
        energy = np.array([o.energy_j for o in self.outcomes])
        acc = np.array([o.accuracy for o in self.outcomes])
        xi = np.array([o.action.xi if o.payload_bytes > 0 else 0.0 for o in self.outcomes])
        out: dict[str, Any] = {
            "energy_j_per_frame": float(energy.mean()),
            "latency_ms_mean": float(lat.mean()),
            "latency_ms_p95": float(np.percentile(lat, 95)),
            "accuracy": float(100.0 * acc.mean()),
            "cost": float(np.mean(self.costs)),
            "deadline_miss_rate": float(np.mean([o.deadline_missed for o in self.outcomes])),
            "offload_frames": float(np.mean([o.payload_bytes > 0 for o in self.outcomes])),
            "rescued_frames": float(np.mean([o.rescued for o in self.outcomes])),
            "mean_xi": float(xi.mean()),
            "frames": len(self.outcomes),
        }
        if self.decision_s:
            d = np.array(self.decision_s) * 1e3
            out["decision_ms_p50"] = float(np.percentile(d, 50))
            out["decision_ms_p99"] = float(np.percentile(d, 99))
            out["safe_fallbacks"] = int(self.fallbacks)
        return out


def run_method(
    world: World, controller: Controller, network: Any, eta: float, frames: int, t0_s: float = 0.0
) -> MethodRun:
    """Run ``frames`` frames of ``controller`` on ``network``."""
    device = TwinDevice(world.twin_model)
    controller.reset(world, eta)
    outcomes, costs = [], []
    for k in range(frames):
        t = t0_s + k * world.period_s
        choice = controller.decide(FrameContext(k, t, eta, network))
        out = world.frame(network, choice.routes, choice.action, t, choice.decision_s, choice.gap)
        if out.latency_s > 0:
            device.account(StageCost(out.latency_s, out.energy_j, out.power_w))
        controller.observe(out, device.temperature_c)
        outcomes.append(out)
        costs.append(world.cost.cost(out.energy_j, out.latency_s, eta))
    decision = list(controller.decision_times_s) if isinstance(controller, PolicyController) else []
    fallbacks = controller.fallbacks if isinstance(controller, PolicyController) else 0
    return MethodRun(controller.name, outcomes, costs, decision, fallbacks)


def evaluate(
    world: World,
    controllers: Sequence[Controller],
    network: Any,
    eta: float,
    frames: int,
    progress: bool = True,
) -> dict[str, MethodRun]:
    """Run every controller on the same frames; returns runs by method name."""
    runs: dict[str, MethodRun] = {}
    for ctrl in tqdm(controllers, desc="methods", unit="method", disable=not progress):
        runs[ctrl.name] = run_method(world, ctrl, network, eta, frames)
    return runs


def summarise(runs: dict[str, MethodRun]) -> dict[str, dict[str, Any]]:
    """``{method: summary}``."""
    return {name: run.summary() for name, run in runs.items()}


def plot_energy_latency(methods: dict[str, dict[str, Any]], path: Path, title: str) -> Path:
    """Energy per frame vs mean latency, one marker per method (p95 as a whisker)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for name, m in methods.items():
        x, y = m["latency_ms_mean"], m["energy_j_per_frame"]
        ax.errorbar(
            [x],
            [y],
            xerr=[[0.0], [max(0.0, m["latency_ms_p95"] - x)]],
            capsize=3,
            label=name,
            fmt="*" if name == "dvfo" else "o",
            markersize=12 if name == "dvfo" else 7,
        )
    ax.set_xlabel("latency per frame, ms (mean; whisker to p95)")
    ax.set_ylabel("edge energy per frame, J")
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
