"""Helpers of the node-graph tests: parameter files and a monitor node."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from dvfo_core.launcher import Launch
from dvfo_core.paths import config_dir
from dvfo_core.runtime.dds import DdsNode, Executor
from dvfo_core.runtime.port import stamp_to_ns


def write_params(tmp_path: Path, **changes: dict[str, Any]) -> Path:
    """The shipped edge.yaml + cloud.yaml merged, with per-node parameter changes."""
    doc: dict[str, Any] = {}
    for name in ("edge.yaml", "cloud.yaml"):
        doc.update(yaml.safe_load((config_dir() / name).read_text()))
    for node, params in changes.items():
        doc[node]["ros__parameters"].update(params)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


class Collector:
    """A monitor node: results, ground truth and telemetry, by camera stamp; can act as governor."""

    def __init__(self) -> None:
        self.node = DdsNode("test_collector")
        self.subscribe_all()
        self.executor = Executor([self.node])

    def subscribe_all(self) -> None:
        """The action publisher and the result, ground-truth and telemetry subscriptions on ``self.node``."""
        self.action_pub = self.node.publisher("dvfo_msgs/msg/DvfsAction", "/dvfo/action")
        self.results: list[Any] = []
        self.labels: dict[int, Any] = {}
        self.telemetry: list[Any] = []
        self.node.subscribe("dvfo_msgs/msg/InferenceResult", "/dvfo/result", self.results.append)
        self.node.subscribe(
            "dvfo_msgs/msg/GroundTruth",
            "/camera/ground_truth",
            lambda m: self.labels.__setitem__(stamp_to_ns(m.header.stamp), m),
        )
        self.node.subscribe("dvfo_msgs/msg/Telemetry", "/dvfo/telemetry", self.telemetry.append)

    def send_action(self, xi: float, device: str = "jetson-nano") -> None:
        """Stand in for the governor: top clocks and offload share ``xi``."""
        from dvfo_core.device.twin import TwinModel

        top = TwinModel(device).max_levels()
        msg = self.node.msg("dvfo_msgs/msg/DvfsAction")(
            cpu_level=top.cpu, gpu_level=top.gpu, emc_level=top.emc
        )
        msg.xi, msg.method = xi, "test"
        self.action_pub.publish(msg)

    def spin_until(self, done: Callable[[], bool], timeout_s: float) -> bool:
        """Spin until ``done()`` or the time-out; returns ``done()``."""
        end = time.monotonic() + timeout_s
        while not done() and time.monotonic() < end:
            self.executor.spin_once(0.1)
        return done()


def govern(collector: Collector, done: Callable[[], bool], timeout_s: float) -> bool:
    """Play the governor (xi = 0.5, so that frames offload) until ``done()``: the action is said
    again every half second, as a governor does every frame (the test's publisher may count the
    head's subscription before the head receives from it)."""
    end = time.monotonic() + timeout_s
    while not done() and time.monotonic() < end:
        collector.send_action(0.5)
        collector.spin_until(done, 0.5)
    return done()


def wait_active(collector: Collector, launch: Launch, name: str, timeout_s: float) -> bool:
    """Spin the monitor until node ``name`` of ``launch`` has logged its activation."""
    lines = launch.last_lines[name]
    return collector.spin_until(lambda: any("activate (success)" in x for x in lines), timeout_s)


def head_offloads(collector: Collector) -> Callable[[], bool]:
    """Whether the head's /diagnostics say it offloads: a tail will receive and answer, xi > 0."""
    seen: list[bool] = []

    def on_diagnostics(msg: Any) -> None:
        for st in msg.status:
            values = {kv.key: kv.value for kv in st.values}
            if st.name == "head: inference" and st.message == "running" and float(values.get("xi", 0)) > 0:
                seen.append(True)

    collector.node.subscribe("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", on_diagnostics)
    return lambda: bool(seen)
