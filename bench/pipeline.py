"""Frames per second and per-stage wall-clock latency of the whole node graph on this machine.

Runs camera (MNIST test images), head, governor and tail as separate processes over the DDS
adapter (loopback, link shaping off so only real work and middleware remain) and a monitor in this
process. Per frame: end-to-end wall latency (camera stamp -> result received) split into the DNN
compute the head measured (head + SCA + codec + edge tail + fusion) and the tail's, the head's other
work on the frame (twin accounting, building messages: ``node_wall_ms - compute_wall_ms``), and the
rest, middleware: DDS transport, (de)serialisation, executor dispatch and waiting in queues.

Three runs: ``latency`` at 5 Hz (the shipped camera rate) and at 30 Hz (a robot camera), both well
below capacity (no queueing), ``throughput`` with the camera far above capacity (frames/s the
graph sustains); each with every node in its own process
(``dvfo launch all``) and with the edge nodes in one container (``dvfo launch all --container``:
camera -> head -> governor without DDS hops; the result still crosses to this process over DDS).
``--runtime rclpy`` runs the nodes and the monitor as real rclpy nodes on Fast DDS instead
(``.venv-ros/bin/python bench/pipeline.py --runtime rclpy``, after ``make setup-ros``; separate
processes only: rclpy has no containers here), ``--runtime both`` reports the two side by side.
Prints JSON, then a one-line summary per runtime and layout.
Usage: ``python bench/pipeline.py [--seconds S] [--model M] [--runtime dds|rclpy|both]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from dvfo_core.graph import load_graph
from dvfo_core.launcher import Launch
from dvfo_core.paths import config_dir
from dvfo_core.runtime.port import Node, stamp_to_ns


def _params(directory: Path, rate_hz: float, model: str) -> Path:
    doc: dict = {}
    for name in ("edge.yaml", "cloud.yaml"):
        doc.update(yaml.safe_load((config_dir() / name).read_text()))
    doc["camera"]["ros__parameters"].update({"rate_hz": rate_hz, "count": 0})
    doc["head"]["ros__parameters"].update({"shape_link": False, "model": model})
    doc["governor"]["ros__parameters"].update({"model": model})
    doc["tail"]["ros__parameters"].update({"models": [model]})
    path = directory / f"pipeline_{rate_hz:g}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


class _Monitor:
    """The measuring node, on the runtime of the graph (so that no hop crosses DDS vendors)."""

    def __init__(self, runtime: str) -> None:
        if runtime == "rclpy":
            from rclpy.executors import SingleThreadedExecutor

            from dvfo_core.runtime.ros import RosNode

            self.node: Node = RosNode("bench_pipeline")
            self._executor = SingleThreadedExecutor()
            self._executor.add_node(self.node.rclpy_node)
            self.spin_once = lambda: self._executor.spin_once(timeout_sec=0.1)
        else:
            from dvfo_core.runtime.dds import DdsNode, Executor

            self.node = DdsNode("bench_pipeline")
            self._executor = Executor([self.node])
            self.spin_once = lambda: self._executor.spin_once(0.1)

    def spin(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.spin_once()


def run(
    rate_hz: float, seconds: float, model: str, directory: Path, container: bool = False, runtime: str = "dds"
) -> dict:
    """One run of the graph (nodes on ``runtime``); per-frame measurements summarised."""
    monitor = _Monitor(runtime)
    node = monitor.node
    frames: list[tuple[float, float, float, int, float]] = []  # e2e, compute, node ms, seq, received s
    tail_ms: dict[int, float] = {}

    def on_result(r: object) -> None:
        e2e = (time.time_ns() - stamp_to_ns(r.header.stamp)) / 1e6  # type: ignore[attr-defined]
        frames.append(
            (e2e, float(r.compute_wall_ms), float(r.node_wall_ms), int(r.frame_seq), time.monotonic())  # type: ignore[attr-defined]
        )

    def on_cloud(c: object) -> None:
        tail_ms[int(c.frame_seq)] = float(c.cloud_compute_ms)  # type: ignore[attr-defined]

    node.subscribe("dvfo_msgs/msg/InferenceResult", "/dvfo/result", on_result)
    node.subscribe("dvfo_msgs/msg/CloudResult", "/dvfo/cloud_result", on_cloud)
    params = _params(directory, rate_hz, model)
    env = {"DVFO_RUNTIME": runtime}
    launch = Launch(load_graph("all"), params, quiet=True, container=container, env=env)
    try:
        end = time.monotonic() + 180
        while not frames and time.monotonic() < end:
            monitor.spin_once()
        monitor.spin(3.0)  # warm-up
        frames.clear()
        monitor.spin(seconds)
    finally:
        launch.shutdown()
        node.destroy()
    if len(frames) < 2:
        return {"camera_rate_hz": rate_hz, "frames": len(frames)}
    e2e = np.array([f[0] for f in frames])
    head = np.array([f[1] for f in frames])
    node_work = np.array([f[2] for f in frames])
    tail = np.array([tail_ms.get(f[3], 0.0) for f in frames])
    middleware = np.clip(e2e - node_work - tail, 0, None)
    span = frames[-1][4] - frames[0][4]
    return {
        "camera_rate_hz": rate_hz,
        "frames": len(frames),
        "frames_per_s": (len(frames) - 1) / span if span > 0 else None,
        "offloaded_share": float(np.mean(tail > 0)),
        "e2e_wall_ms_p50": float(np.percentile(e2e, 50)),
        "e2e_wall_ms_p95": float(np.percentile(e2e, 95)),
        "head_compute_ms_mean": float(head.mean()),
        "head_other_work_ms_mean": float((node_work - head).mean()),
        "tail_compute_ms_mean_offloaded": float(tail[tail > 0].mean()) if (tail > 0).any() else 0.0,
        "middleware_ms_mean": float(middleware.mean()),
        "middleware_ms_p50": float(np.percentile(middleware, 50)),
        "middleware_share_of_frame": float(middleware.sum() / e2e.sum()),
        "middleware_share_of_frame_p50": float(np.median(middleware / e2e)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--model", default="resnet18")
    parser.add_argument(
        "--runtime",
        choices=["dds", "rclpy", "both"],
        default="dds",
        help="the nodes on the DDS adapter (default), on rclpy/Fast DDS (.venv-ros), or both runs",
    )
    args = parser.parse_args()
    os.environ.setdefault("ROS_DOMAIN_ID", "78")
    report: dict = {"benchmark": "pipeline", "model": args.model}
    layouts = []
    if args.runtime in ("dds", "both"):
        layouts += [("processes", False, "dds"), ("container", True, "dds")]
    if args.runtime in ("rclpy", "both"):
        layouts += [("rclpy_processes", False, "rclpy")]
    with tempfile.TemporaryDirectory() as tmp:
        for layout, container, runtime in layouts:
            report[layout] = {
                key: run(rate, args.seconds, args.model, Path(tmp), container, runtime)
                for key, rate in (("latency_run", 5.0), ("latency_run_30hz", 30.0), ("throughput_run", 200.0))
            }
    print(json.dumps(report, indent=2))
    for layout, _container, _runtime in layouts:
        runs = report[layout]
        parts = []
        for key, rate in (("latency_run", "5 Hz"), ("latency_run_30hz", "30 Hz")):
            r = runs[key]
            share = 100 * r.get("middleware_share_of_frame", float("nan"))
            parts.append(
                f"at {rate} e2e p50 {r.get('e2e_wall_ms_p50', float('nan')):.1f} ms "
                f"(compute {r.get('head_compute_ms_mean', 0):.1f}, other head work "
                f"{r.get('head_other_work_ms_mean', 0):.1f}, "
                f"middleware {r.get('middleware_ms_mean', 0):.1f} ms = {share:.1f}%)"
            )
        print(
            f"pipeline ({layout}): {runs['throughput_run'].get('frames_per_s') or 0:.1f} frames/s sustained; "
            + "; ".join(parts)
            + "; middleware target < 5%"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
