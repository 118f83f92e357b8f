"""The figures of ``dvfo report`` (matplotlib, Agg backend)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dvfo_core.evaluation.methods import METHODS
from dvfo_core.evaluation.report.matrix import BALANCED_ETA, Pairing, Scenario, at_eta

#: Markers of the methods in the sweep figures (dvfo and the oracle are curves).
MARKERS = {
    "edge_only_max": "s",
    "edge_only_default": "D",
    "cloud_only": "^",
    "neurosurgeon": "v",
    "dvfs_only_drl": "P",
    "appealnet": "X",
    "drldo": "h",
}


def plt_module() -> Any:
    """matplotlib.pyplot on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def slug(*parts: str) -> str:
    """A file-name-safe name of ``parts``."""
    return re.sub(r"[^A-Za-z0-9]+", "_", "_".join(parts)).strip("_")


def plot_costs(rows: Sequence[Scenario], path: Path) -> Path:
    """Mean cost per method and link at the balanced weight (bars, log scale)."""
    plt = plt_module()
    rows = at_eta(rows, BALANCED_ETA)
    links = list(dict.fromkeys(r.link for r in rows))
    methods = [m for m in METHODS if any(m in r.methods for r in rows)]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(methods)
    for i, m in enumerate(methods):
        vals = [
            np.mean([r.methods[m]["cost"] for r in rows if r.link == lk and m in r.methods] or [np.nan])
            for lk in links
        ]
        ax.bar(np.arange(len(links)) + i * width, vals, width, label=m)
    ax.set_xticks(np.arange(len(links)) + 0.4 - width / 2)
    ax.set_xticklabels(links)
    ax.set_ylabel("mean cost at eta 0.5 (1 = jetson_clocks)")
    ax.set_yscale("log")
    ax.legend(fontsize=7, ncol=3)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_sweep(rows: Sequence[Scenario], pairing: Pairing, path: Path) -> Path:
    """One panel per link: dvfo's and the oracle's energy-latency curve over eta, every baseline beside.

    Baselines are drawn at each eta they were run at (the fixed ones do not move with eta).
    """
    plt = plt_module()
    mine = [r for r in rows if r.pairing == pairing]
    links = list(dict.fromkeys(r.link for r in mine))
    fig, axes = plt.subplots(1, len(links), figsize=(3.4 * len(links), 3.6), squeeze=False)
    for ax, link in zip(axes[0], links, strict=True):
        rs = sorted((r for r in mine if r.link == link), key=lambda r: r.eta)
        for name, style in (("dvfo", "-o"), ("oracle", "--")):
            x = [r.methods[name]["latency_ms_mean"] for r in rs]
            y = [r.methods[name]["energy_j_per_frame"] for r in rs]
            ax.plot(x, y, style, label=name, lw=2 if name == "dvfo" else 1, ms=4)
            if name == "dvfo":
                for r, xx, yy in zip(rs, x, y, strict=True):
                    ax.annotate(f"{r.eta:g}", (xx, yy), fontsize=6, xytext=(3, 3), textcoords="offset points")
        for m, marker in MARKERS.items():
            pts = [
                (r.methods[m]["latency_ms_mean"], r.methods[m]["energy_j_per_frame"])
                for r in rs
                if m in r.methods
            ]
            if pts:
                xs, ys = zip(*pts, strict=True)
                ax.scatter(xs, ys, marker=marker, s=22, alpha=0.7, label=m)
        ax.set_title(link, fontsize=9)
        ax.set_xlabel("latency, mean (ms)")
        ax.set_xscale("log")
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("edge energy per camera period (J)")
    axes[0][-1].legend(fontsize=6, loc="best")
    fig.suptitle(
        f"{pairing[0]} ({pairing[1]}) / {pairing[2]}: eta sweep (labels on dvfo's points)", fontsize=10
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
