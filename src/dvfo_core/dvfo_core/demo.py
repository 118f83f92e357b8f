"""``dvfo demo``: the node graph over DDS on loopback, DVFO against jetson_clocks and the stock governors.

Each method runs the real graph (camera with MNIST test images, head, governor, tail) as separate
processes for a fixed time; a monitor node in this process scores every ``/dvfo/result`` against
``/camera/ground_truth`` and shows a live line. Energy and latency are the twin's figures of the
simulated Jetson for each frame as it really ran (payload sizes, cloud answers, fallbacks).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dvfo_core.errors import DvfoError
from dvfo_core.graph import load_graph
from dvfo_core.launcher import Launch
from dvfo_core.runtime.port import stamp_to_ns


@dataclass
class FrameRecord:
    """One result as the monitor saw it."""

    energy_j: float
    latency_ms: float
    xi: float
    cloud_used: bool
    fallback: bool
    correct: bool | None


@dataclass
class MethodRun:
    """All frames of one method."""

    method: str
    frames: list[FrameRecord] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Mean energy, latency (mean, p95), accuracy, offload and fallback shares."""
        if not self.frames:
            return {"method": self.method, "frames": 0}
        e = np.array([f.energy_j for f in self.frames])
        lat = np.array([f.latency_ms for f in self.frames])
        scored = [f.correct for f in self.frames if f.correct is not None]
        return {
            "method": self.method,
            "frames": len(self.frames),
            "energy_j_per_frame": float(e.mean()),
            "latency_ms_mean": float(lat.mean()),
            "latency_ms_p95": float(np.percentile(lat, 95)),
            "accuracy": float(np.mean(scored)) if scored else None,
            "scored_frames": len(scored),
            "mean_xi": float(np.mean([f.xi for f in self.frames])),
            "offloaded_share": float(np.mean([f.cloud_used for f in self.frames])),
            "fallback_share": float(np.mean([f.fallback for f in self.frames])),
        }


class Monitor:
    """Subscribes to results and ground truth; matches them by camera stamp."""

    def __init__(self) -> None:
        from dvfo_core.runtime.dds import DdsNode, Executor

        self.node = DdsNode("dvfo_demo_monitor")
        self.labels: dict[int, int] = {}
        self.results: list[Any] = []
        self.node.subscribe("dvfo_msgs/msg/InferenceResult", "/dvfo/result", self.results.append)
        self.node.subscribe("dvfo_msgs/msg/GroundTruth", "/camera/ground_truth", self._label)
        self.executor = Executor([self.node])

    def _label(self, msg: Any) -> None:
        self.labels[stamp_to_ns(msg.header.stamp)] = int(msg.class_id)

    def drain(self, run: MethodRun) -> None:
        """Move received results into ``run`` (scored when the label is known)."""
        for r in self.results:
            label = self.labels.get(stamp_to_ns(r.header.stamp))
            run.frames.append(
                FrameRecord(
                    float(r.energy_j),
                    float(r.latency_ms),
                    float(r.xi),
                    bool(r.cloud_used),
                    bool(r.fallback),
                    None if label is None else int(r.class_id) == label,
                )
            )
        self.results.clear()  # the subscription appends to this very list


class Progress:
    """A live status line: redrawn in place on a terminal, one line every 5 s otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def show(self, text: str, final: bool = False) -> None:
        """Draw ``text`` (throttled)."""
        now = time.monotonic()
        if not final and now - self.last < (0.25 if self.tty else 5.0):
            return
        self.last = now
        sys.stderr.write(("\r" + text) if self.tty else text + "\n")
        if final and self.tty:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _line(run: MethodRun, left_s: float) -> str:
    s = run.summary()
    if not s["frames"]:
        return f"[{run.method}] starting the graph ..."
    acc = f"{100 * s['accuracy']:.1f}%" if s["accuracy"] is not None else "n/a"
    return (
        f"[{run.method}] {s['frames']:4d} frames | {s['energy_j_per_frame']:.3f} J/frame | "
        f"{s['latency_ms_mean']:6.1f} ms | acc {acc} | xi {s['mean_xi']:.2f} | "
        f"offloaded {100 * s['offloaded_share']:.0f}% | {left_s:4.0f} s left "
    )


def run_method(method: str, seconds: float, monitor: Monitor, startup_timeout_s: float = 120.0) -> MethodRun:
    """Launch the graph with the governor on ``method`` and collect ``seconds`` of results."""
    launch = Launch(load_graph("all"), overrides={"governor": ["-p", f"method:={method}"]}, quiet=True)
    run = MethodRun(method)
    progress = Progress()
    try:
        start = time.monotonic()
        while not monitor.results and time.monotonic() - start < startup_timeout_s:
            monitor.executor.spin_once(0.1)
            dead = [n for n, code in launch.poll().items() if code is not None]
            if dead:
                logs = "\n".join(f"[{n}] {line}" for n in dead for line in launch.last_lines[n])
                raise DvfoError(f"node {', '.join(dead)} exited during start-up:\n{logs}")
            progress.show(_line(run, seconds))
        monitor.results.clear()  # the clock starts with the first result
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            monitor.executor.spin_once(0.1)
            monitor.drain(run)
            progress.show(_line(run, end - time.monotonic()))
        progress.show(_line(run, 0.0), final=True)
    finally:
        launch.shutdown()
    return run


def table(summaries: list[dict[str, Any]]) -> str:
    """A plain-text comparison table."""
    head = (
        f"{'method':<16}{'frames':>7}{'J/frame':>10}{'ms mean':>9}{'ms p95':>9}{'accuracy':>10}{'offload':>9}"
    )
    rows = [head, "-" * len(head)]
    for s in summaries:
        if not s["frames"]:
            rows.append(f"{s['method']:<16}{0:>7}  (no results: see the node logs above)")
            continue
        acc = f"{100 * s['accuracy']:.1f}%" if s.get("accuracy") is not None else "n/a"
        rows.append(
            f"{s['method']:<16}{s['frames']:>7}{s['energy_j_per_frame']:>10.3f}{s['latency_ms_mean']:>9.1f}"
            f"{s['latency_ms_p95']:>9.1f}{acc:>10}{100 * s['offloaded_share']:>8.0f}%"
        )
    return "\n".join(rows)


def plot(runs: list[MethodRun], path: Path) -> Path:
    """Energy vs latency of every frame, one colour per method, means marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for run in runs:
        lat = [f.latency_ms for f in run.frames]
        e = [f.energy_j for f in run.frames]
        pts = ax.scatter(lat, e, s=8, alpha=0.35, label=f"{run.method} (frames)")
        ax.scatter(
            [np.mean(lat)],
            [np.mean(e)],
            s=160,
            marker="X",
            color=pts.get_facecolor()[0],
            edgecolor="black",
            label=f"{run.method} (mean)",
        )
    ax.set_xlabel("end-to-end latency per frame (ms, simulated Jetson)")
    ax.set_ylabel("edge energy per camera period (J)")
    ax.set_title("dvfo demo: energy vs latency")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def run_demo(seconds: float, methods: list[str], out_dir: Path) -> int:
    """Run every method, print the table, write JSON and the plot."""
    monitor = Monitor()
    runs = [run_method(m, seconds, monitor) for m in methods]
    summaries = [r.summary() for r in runs]
    print(table(summaries))
    a = summaries[0]
    for b in summaries[1:]:
        if not (a["frames"] and b["frames"]):
            continue
        de = 100 * (a["energy_j_per_frame"] / b["energy_j_per_frame"] - 1)
        dl = 100 * (a["latency_ms_mean"] / b["latency_ms_mean"] - 1)
        print(
            f"{a['method']} relative to {b['method']}: energy {de:+.1f} % per camera period, latency "
            f"{dl:+.1f} % (negative: {a['method']} lower)"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "demo.json").write_text(
        json.dumps(
            {
                "seconds_per_method": seconds,
                "summaries": summaries,
                "frames": {r.method: [asdict(f) for f in r.frames] for r in runs},
            },
            indent=1,
        )
    )
    png = plot(runs, out_dir / "demo.png")
    print(f"wrote {out_dir / 'demo.json'} and {png}")
    return 0 if all(s["frames"] for s in summaries) else 1
