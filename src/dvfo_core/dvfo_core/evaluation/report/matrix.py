"""The scenario matrix of ``dvfo report``: every method on every board x power mode x model x link x eta.

Each board is evaluated in its default power mode and in its maximum mode (``max_mode`` of the board
profile, MAXN where the board has one). DVFO runs the shipped policy of that board, mode and model
(one policy, ``eta`` its input); the learned baselines are trained once per pairing (cached, see
:func:`~dvfo_core.evaluation.pipeline.get_policy`). Every method runs the same frames of the same
link at every ``eta`` of the sweep.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvfo_core.device.profiles import load_profile
from dvfo_core.evaluation import pipeline
from dvfo_core.evaluation.methods import METHODS
from dvfo_core.jobs import default_jobs, run_jobs
from dvfo_core.learning.heads import DEFAULT_HEAD
from dvfo_core.learning.learned import LEARNED
from dvfo_core.world.build import World, WorldSpec, build_world, evaluated_modes

NON_ORACLE = tuple(m for m in METHODS if m not in ("dvfo", "oracle"))
#: Accuracy loss (points) a baseline may have and still count as a like-for-like alternative.
ACCURACY_POINTS = 1.0
#: The energy weights of the sweep (the balanced 0.5 and the energy-first 0.9 among them).
SWEEP_ETAS = (0.1, 0.3, 0.5, 0.7, 0.9)
BALANCED_ETA = 0.5
ENERGY_FIRST_ETA = 0.9

Pairing = tuple[str, str, str]  #: (device, power mode, model)


@dataclass
class ReportConfig:
    """What ``dvfo report`` runs."""

    devices: Sequence[str]
    models: Sequence[str]
    bandwidths: Sequence[float] = (0.5, 2.0, 8.0)
    traces: Sequence[str] = ("lte-like", "wifi-fades")
    etas: Sequence[float] = SWEEP_ETAS
    frames: int = 100
    steps: int = 30_000
    seed: int = 0
    head: str = DEFAULT_HEAD
    experiments: Sequence[str] = ("twm", "generalisation", "heads")
    pairing: tuple[str, str] | None = None  #: device/model of the experiments (default: jetson-nano/resnet18)
    out_md: Path = Path("docs/results.md")
    fig_dir: Path = Path("docs/figures")
    command: str = "dvfo report"
    progress: bool = True
    profile_dir: Path | None = None  #: split profiles ``<model>.json`` (default: the shipped ones)
    modes: str = "default,max"  #: which power modes of each board: default, max or both
    jobs: int = field(default_factory=default_jobs)  #: pairings evaluated at once, one per process

    @property
    def eta(self) -> float:
        """The balanced weight (what the experiments run at)."""
        return BALANCED_ETA

    def world_spec(self, device: str, model: str, mode: str | None = None) -> WorldSpec:
        """The world of one pairing."""
        path = None
        if self.profile_dir is not None:
            gz = self.profile_dir / f"{model}.json.gz"
            path = str(gz if gz.is_file() else self.profile_dir / f"{model}.json")
        return WorldSpec(device, model, power_mode=mode, profile_path=path)

    def pairings(self) -> list[Pairing]:
        """Every (device, mode, model) evaluated."""
        out = []
        for device in self.devices:
            modes = evaluated_modes(load_profile(device))
            if self.modes == "default":
                modes = modes[:1]
            elif self.modes == "max":
                modes = modes[-1:]
            out += [(device, mode, model) for mode in modes for model in self.models]
        return out


@dataclass
class Scenario:
    """One (device, mode, model, link, eta) run of every method."""

    device: str
    mode: str
    model: str
    link: str
    eta: float
    methods: dict[str, dict[str, Any]]
    skipped: dict[str, str]
    full_local_accuracy: float  #: the plain model's top-1, percent
    trace: bool  #: the link is a shipped trace (the policies never trained on it)
    decision_ms: list[float] = field(default_factory=list)  #: dvfo's measured decision times
    appeal_accuracy: float = math.nan  #: AppealNet's scheme accuracy over every image, percent
    #: eta 0.5: the cost of each blocking learned baseline when its decisions take no time
    free_decision_costs: dict[str, float] = field(default_factory=dict)

    @property
    def pairing(self) -> Pairing:
        """(device, mode, model)."""
        return (self.device, self.mode, self.model)

    def keeps_accuracy(self, method: str) -> bool:
        """Whether ``method`` is within :data:`ACCURACY_POINTS` of the plain model's accuracy.

        AppealNet runs another model on the edge: it is judged by its scheme's accuracy over every
        image, not by the few the run's frames happened to show.
        """
        acc = self.methods[method]["accuracy"]
        if method == "appealnet" and not math.isnan(self.appeal_accuracy):
            acc = self.appeal_accuracy
        full = self.full_local_accuracy
        return math.isnan(acc) or math.isnan(full) or acc >= full - ACCURACY_POINTS - 1e-9

    def baselines(self) -> list[str]:
        """The non-oracle baselines that keep accuracy (the like-for-like alternatives)."""
        cands = [m for m in NON_ORACLE if m in self.methods]
        return [m for m in cands if self.keeps_accuracy(m)] or cands

    def best_baseline(self) -> str:
        """The like-for-like baseline with the lowest mean cost."""
        return min(self.baselines(), key=lambda m: self.methods[m]["cost"])


def links_of(cfg: ReportConfig) -> list[tuple[float | None, str | None]]:
    """The report's links: steady bandwidths, then shipped traces."""
    return [(b, None) for b in cfg.bandwidths] + [(None, t) for t in cfg.traces]


def run_matrix(cfg: ReportConfig) -> tuple[list[Scenario], dict[Pairing, World]]:
    """Every method on every scenario; returns the rows and the worlds by pairing.

    Pairings are independent (each trains or loads its own learned baselines): they run on
    ``cfg.jobs`` processes, and the rows come back in the order of :meth:`ReportConfig.pairings`.
    """
    pairs = cfg.pairings()
    per_pairing = run_jobs(
        _pairing_rows,
        [(cfg, p) for p in pairs],
        jobs=cfg.jobs,
        desc="board x mode x model",
        unit="pairing",
        progress=cfg.progress,
    )
    worlds = {(d, mode, m): build_world(cfg.world_spec(d, m, mode)) for d, mode, m in pairs}
    return [row for rows in per_pairing for row in rows], worlds


def _pairing_rows(job: tuple[ReportConfig, Pairing]) -> list[Scenario]:
    """Every method on every link and eta of one (device, power mode, model)."""
    cfg, (device, mode, model) = job
    world = build_world(cfg.world_spec(device, model, mode))
    policies = {
        m: pipeline.get_policy(world, m, steps=cfg.steps, seed=cfg.seed, head=cfg.head, progress=False)
        for m in LEARNED
    }
    rows = []
    for bw, trace in links_of(cfg):
        net, label = pipeline.scenario_link(bw, trace)
        for eta in cfg.etas:
            run = functools.partial(
                pipeline.run_scenario,
                world,
                net,
                label,
                eta=eta,
                frames=cfg.frames,
                policies=policies,
                progress=False,
            )
            doc = run(methods=list(METHODS))
            free = {}
            if abs(eta - BALANCED_ETA) < 1e-9:  # sensitivity: blocking decisions that cost no time
                blocking = [m for m in LEARNED if not LEARNED[m].concurrent]
                again = run(methods=blocking, charge_decisions=False)
                free = {m: again["methods"][m]["cost"] for m in blocking if m in again["methods"]}
            dvfo_run = doc["_runs"].get("dvfo")
            decisions = [1e3 * d for d in dvfo_run.decision_s] if dvfo_run is not None else []
            rows.append(
                Scenario(
                    device,
                    world.power_mode,
                    model,
                    label,
                    eta,
                    doc["methods"],
                    doc["skipped"],
                    100 * world.local.accuracy,
                    trace is not None,
                    decisions,
                    _appeal_accuracy(world),
                    free,
                )
            )
    return rows


def _appeal_accuracy(world: World) -> float:
    """AppealNet's scheme accuracy over every image in percent (NaN where it cannot run)."""
    data = world.extras.get("appeal")
    return 100 * data.scheme_accuracy if data is not None else math.nan


def at_eta(rows: Sequence[Scenario], eta: float) -> list[Scenario]:
    """The rows of one energy weight."""
    return [r for r in rows if abs(r.eta - eta) < 1e-9]
