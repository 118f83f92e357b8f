"""The head with ``backend: sysfs`` as a process (camera too) on a fixture Jetson tree that the test
rewrites while the node runs: the published Telemetry carries what the files say, never the twin's
figures; a board without rails gives NaN, the names in ``missing``, and one warning."""

from __future__ import annotations

import math
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from graph_helpers import Collector, write_params

from dvfo_core.graph import load_graph
from dvfo_core.launcher import Launch
from dvfo_core.runtime.port import stamp_to_ns

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sysfs"
NX_HWMON = "sys/bus/i2c/drivers/ina3221/7-0040/hwmon/hwmon3"
STARTUP_S = 120  # two processes importing torch and the model on a shared CI machine


def _write(path: Path, value: object) -> None:
    """Replace a file's content in one step, as sysfs does (a reader never sees it half written)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{value}\n")
    os.replace(tmp, path)


def _tree(tmp_path: Path, board: str) -> Path:
    root = tmp_path / board
    shutil.copytree(FIXTURES / board, root, symlinks=True)
    return root


@contextmanager
def _camera_and_head(tmp_path: Path, root: Path, device: str) -> Iterator[Launch]:
    params = write_params(
        tmp_path,
        camera={
            "source": "pattern",
            "rate_hz": 4.0,
            "qos": {"image": "default"},
            "wait_for_subscribers": True,
        },
        head={
            "qos": {"image": "default"},
            "backend": "sysfs",
            "sysfs_root": str(root),
            "device": device,
            "power_sample_ms": 5.0,
            "shape_link": False,
        },
    )
    launch = Launch([e for e in load_graph("edge") if e.name in ("camera", "head")], params)
    try:
        yield launch
    finally:
        launch.shutdown()


@contextmanager
def _cpu_busy_quarter(root: Path) -> Iterator[None]:
    """/proc/stat advancing as a CPU 25 % busy: +10 busy and +30 idle ticks every 10 ms."""
    stop = threading.Event()

    def run() -> None:
        busy, idle = 1000, 8000
        while not stop.wait(0.01):
            busy, idle = busy + 10, idle + 30
            _write(root / "proc/stat", f"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _telemetry_arrays(arrays: list[Any]) -> list[Any]:
    """The head's diagnostics (the camera publishes on /diagnostics too)."""
    return [a for a in arrays if any(s.name.startswith("head:") for s in a.status)]


def _after(collector: Collector, t_ns: int) -> list[Any]:
    return [m for m in collector.telemetry if stamp_to_ns(m.header.stamp) > t_ns]


def test_telemetry_carries_the_rails_clocks_and_sensors_the_board_files_say(
    tmp_path: Path, collector: Collector
) -> None:
    root = _tree(tmp_path, "jetson-xavier-nx")
    with _cpu_busy_quarter(root), _camera_and_head(tmp_path, root, "jetson-xavier-nx") as launch:
        assert collector.spin_until(lambda: len(collector.telemetry) >= 2, STARTUP_S), dict(launch.last_lines)
        first = collector.telemetry[-1]  # the fixture as written: VDD_IN 5 V x 0.98 A
        assert first.backend == "sysfs" and first.power_w == pytest.approx(4.9, rel=1e-5)
        assert (first.cpu_khz, first.gpu_hz, first.emc_hz) == (1420800, 114750000, 1866000000)

        # the board changes while the head runs: load on the rails, new clocks, warmer
        for k, ma in enumerate((1500, 600, 300), start=1):  # at 5000 mV: 7.5, 3.0, 1.5 W
            _write(root / NX_HWMON / f"curr{k}_input", ma)
        _write(root / "sys/devices/system/cpu/cpufreq/policy0/scaling_cur_freq", 1907200)
        gpu = root / "sys/devices/17000000.gv11b"
        _write(gpu / "devfreq/17000000.gv11b/cur_freq", 1109250000)
        _write(gpu / "load", 800)
        _write(root / "sys/kernel/debug/bpmp/debug/clk/emc/rate", 1600000000)
        _write(root / "sys/devices/virtual/thermal/thermal_zone0/temp", 61000)  # CPU-therm
        changed_ns = collector.node.now_ns()
        assert collector.spin_until(lambda: len(_after(collector, changed_ns)) >= 3, 30)

    for tel in _after(collector, changed_ns):
        assert tel.backend == "sysfs" and tel.device == "jetson-xavier-nx"
        assert list(tel.rail_names) == ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"]
        assert list(tel.rail_power_w) == pytest.approx([7.5, 3.0, 1.5], rel=1e-5)
        assert tel.power_w == pytest.approx(7.5, rel=1e-5), "power: the total rail, VDD_IN"
        # energy: 7.5 W over the metered window, which holds the frame and the two marks' reads
        assert tel.energy_j == pytest.approx(7.5 * tel.latency_ms / 1e3, rel=0.1, abs=2e-3)
        assert (tel.cpu_khz, tel.gpu_hz, tel.emc_hz) == (1907200, 1109250000, 1600000000)
        assert tel.temperature_c == pytest.approx(61.0)
        assert tel.gpu_util == pytest.approx(0.8) and tel.cpu_util == pytest.approx(0.25)
        assert list(tel.missing) == ["emc_util"] and math.isnan(tel.emc_util)
        assert 0 < tel.head_ms <= tel.latency_ms and tel.transmit_ms == 0.0  # no tail: edge-only


def test_a_board_without_rails_publishes_nan_names_it_and_warns_once(
    tmp_path: Path, collector: Collector
) -> None:
    root = _tree(tmp_path, "jetson-nano")
    shutil.rmtree(root / "sys/bus/i2c/drivers/ina3221x")  # a Jetson Nano 2GB has no INA3221
    diagnostics: list[Any] = []
    collector.node.subscribe("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", diagnostics.append)
    with _camera_and_head(tmp_path, root, "jetson-nano") as launch:
        assert collector.spin_until(lambda: len(collector.telemetry) >= 4, STARTUP_S), dict(launch.last_lines)
        seen = len(diagnostics)
        got = collector.spin_until(lambda: len(_telemetry_arrays(diagnostics[seen:])) >= 2, 30)
        assert got, [[s.name for s in a.status] for a in diagnostics]
        log = list(launch.last_lines["head"])

    for tel in collector.telemetry:
        assert tel.backend == "sysfs" and list(tel.rail_names) == [] and len(tel.rail_power_w) == 0
        assert math.isnan(tel.power_w) and math.isnan(tel.energy_j), "never filled in from the twin"
        assert {"power_w", "rail_power_w", "energy_j"} <= set(tel.missing)
        assert tel.temperature_c == pytest.approx(36.5) and tel.cpu_khz == 1479000  # the rest is read
    warnings = [line for line in log if "telemetry missing" in line]
    assert len(warnings) == 1, log
    assert "power_w, rail_power_w, energy_j (power: no INA3221 rails under" in warnings[0]
    telemetry_status = [s for a in diagnostics[seen:] for s in a.status if s.name == "head: telemetry"]
    warn = collector.node.msg("diagnostic_msgs/msg/DiagnosticStatus").WARN
    assert telemetry_status and all(s.level == warn for s in telemetry_status), "WARN while rails are missing"
    assert all("power_w" in s.message and "INA3221" in s.message for s in telemetry_status)
    for array in _telemetry_arrays(diagnostics[seen:]):  # one status says it all, not one per field
        assert sum(s.name == "head: telemetry" for s in array.status) == 1
