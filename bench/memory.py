"""Memory of the node graph on this machine, and how fast the ``dvfo`` command answers.

Runs the whole graph (``dvfo launch all``: camera, head and governor as the edge, the tail as the
cloud, each node its own process over the DDS adapter, MNIST frames at the shipped 5 Hz), waits
until results flow, then samples every node process's resident set size (``VmRSS`` in
``/proc/PID/status``) for ``--seconds``, and reads each process's peak (``VmHWM``) before stopping
it. The same again with the edge nodes in one process (``dvfo launch all --container``). Results
are received in this process, so a run only counts when frames really went through.

Targets (a Jetson Nano has 4 GB shared with its GPU): camera and governor < 150 MB RSS each, the
edge graph (camera + head + governor) < 1.2 GB, ``dvfo --help`` and ``dvfo devices`` < 1 s.

The governor runs the ``dvfo`` method when a policy ships for the board and model, otherwise
``edge_only_max`` (the report says which; a learned policy is a few hundred kB of numpy).

Prints JSON, then a one-line summary. Usage: ``python bench/memory.py [--seconds S] [--repeat N]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from dvfo_core.graph import load_graph
from dvfo_core.launcher import Launch
from dvfo_core.learning.policy import shipped_policy_path
from dvfo_core.paths import config_dir
from dvfo_core.runtime.dds import DdsNode, Executor

EDGE = ("camera", "head", "governor")
TARGET_MB = {"camera": 150.0, "governor": 150.0, "edge": 1200.0}
TARGET_CLI_S = 1.0


def _status_kb(pid: int, field: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return float("nan")


def _params(directory: Path) -> tuple[Path, str]:
    doc: dict = {}
    for name in ("edge.yaml", "cloud.yaml"):
        doc.update(yaml.safe_load((config_dir() / name).read_text()))
    gov = doc["governor"]["ros__parameters"]
    mode = gov.get("power_mode") or ""
    if not mode:
        from dvfo_core.device.profiles import load_profile

        mode = load_profile(gov["device"]).default_mode
    method = "dvfo" if shipped_policy_path(gov["device"], gov["model"], mode).is_file() else "edge_only_max"
    gov["method"] = method
    path = directory / "memory.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path, method


def graph_memory(params: Path, seconds: float, container: bool) -> dict:
    """RSS of every process of ``dvfo launch all`` (``--container``: the edge nodes in one)."""
    node = DdsNode("bench_memory")
    results: list[float] = []
    topic = "/dvfo/result"
    node.subscribe("dvfo_msgs/msg/InferenceResult", topic, lambda _r: results.append(time.monotonic()))
    ex = Executor([node])
    launch = Launch(load_graph("all"), params, quiet=True, container=container)
    samples: dict[str, list[float]] = {name: [] for name in launch.procs}
    peaks: dict[str, float] = {}
    try:
        end = time.monotonic() + 180
        while not results and time.monotonic() < end:
            ex.spin_once(0.1)
            if any(code is not None for code in launch.poll().values()):
                break
        if not results:
            tails = {n: list(lines)[-5:] for n, lines in launch.last_lines.items()}
            raise RuntimeError(f"no result within 180 s; exit codes {launch.poll()}; last lines {tails}")
        results.clear()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ex.spin(0.5)
            for name, proc in launch.procs.items():
                samples[name].append(_status_kb(proc.pid, "VmRSS") / 1024)
        peaks = {name: _status_kb(proc.pid, "VmHWM") / 1024 for name, proc in launch.procs.items()}
    finally:
        codes = launch.shutdown()
        node.destroy()
    procs = {
        name: {
            "rss_mb_median": round(statistics.median(s), 1),
            "rss_mb_max": round(max(s), 1),
            "peak_rss_mb": round(peaks[name], 1),
        }
        for name, s in samples.items()
    }
    edge = [n for n in procs if n in EDGE or n == "edge"]
    return {
        "processes": procs,
        "edge_rss_mb": round(sum(procs[n]["rss_mb_max"] for n in edge), 1),
        "edge_peak_rss_mb": round(sum(procs[n]["peak_rss_mb"] for n in edge), 1),
        "results_per_s": round(len(results) / seconds, 2),
        "exit_codes": codes,
    }


def cli_latency(argv: list[str], repeat: int) -> dict:
    """Wall time of ``dvfo ARGV`` (a fresh process each time), median and max over ``repeat`` runs."""
    dvfo = shutil.which("dvfo", path=str(Path(sys.executable).parent)) or "dvfo"
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([dvfo, *argv], capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="sampling time per layout")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each dvfo command")
    args = parser.parse_args()
    os.environ.setdefault("ROS_DOMAIN_ID", "79")
    report: dict = {"benchmark": "memory", "seconds": args.seconds}
    report["cli"] = {
        "dvfo --help": cli_latency(["--help"], args.repeat),
        "dvfo devices": cli_latency(["devices"], args.repeat),
    }
    with tempfile.TemporaryDirectory() as tmp:
        params, method = _params(Path(tmp))
        report["governor_method"] = method
        report["processes"] = graph_memory(params, args.seconds, container=False)
        report["container"] = graph_memory(params, args.seconds, container=True)
    print(json.dumps(report, indent=2))
    p, c, cli = report["processes"]["processes"], report["container"], report["cli"]
    ok = (
        p["camera"]["rss_mb_max"] < TARGET_MB["camera"]
        and p["governor"]["rss_mb_max"] < TARGET_MB["governor"]
        and report["processes"]["edge_rss_mb"] < TARGET_MB["edge"]
        and all(v["max_s"] < TARGET_CLI_S for v in cli.values())
    )
    print(
        f"memory: camera {p['camera']['rss_mb_max']:.0f} MB, governor {p['governor']['rss_mb_max']:.0f} MB, "
        f"head {p['head']['rss_mb_max']:.0f} MB, tail {p['tail']['rss_mb_max']:.0f} MB RSS; "
        f"edge graph {report['processes']['edge_rss_mb']:.0f} MB as processes, "
        f"{c['edge_rss_mb']:.0f} MB as one container; dvfo --help {cli['dvfo --help']['median_s']:.2f} s, "
        f"dvfo devices {cli['dvfo devices']['median_s']:.2f} s "
        f"(targets: 150/150 MB, edge < 1200 MB, < 1 s: {'met' if ok else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
