"""Measured frame telemetry on a board: rail power integrated over a frame, clocks and sensors read
back, missing readings named. Each test runs on a copy of a fixture tree whose files it rewrites
between samples, as the INA3221 driver would; time is a fake clock, so energies are exact."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import pytest

from dvfo_core.device.meter import OPTIONAL_FIELDS, BoardMeter, MissingReadings, missing_fields
from dvfo_core.device.sysfs.telemetry import board_telemetry
from dvfo_core.errors import DeviceError
from dvfo_core.paths import msg_dir

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sysfs"
NX_HWMON = "sys/bus/i2c/drivers/ina3221/7-0040/hwmon/hwmon3"
NANO_IIO = "sys/bus/i2c/drivers/ina3221x/6-0040/iio:device0"


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _tree(tmp_path: Path, board: str) -> Path:
    root = tmp_path / board
    shutil.copytree(FIXTURES / board, root, symlinks=True)
    return root


def _write(path: Path, value: object) -> None:
    """Replace a file's content in one step (a reader never sees it half written)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{value}\n")
    os.replace(tmp, path)


def _set_nx_rails(root: Path, vdd_in_ma: int, cpu_gpu_ma: int, soc_ma: int) -> None:
    for k, ma in enumerate((vdd_in_ma, cpu_gpu_ma, soc_ma), start=1):
        _write(root / NX_HWMON / f"curr{k}_input", ma)  # at 5000 mV: 1 mA = 5 mW


def test_energy_is_the_trapezoid_of_the_rail_samples_taken_during_the_frame(tmp_path: Path) -> None:
    root = _tree(tmp_path, "jetson-xavier-nx")
    clock = FakeClock()
    meter = BoardMeter(board_telemetry(root, "jetson-xavier-nx"), period_s=0, clock=clock)
    _set_nx_rails(root, 400, 100, 200)  # VDD_IN 2.0 W
    t0 = meter.mark()  # frame start
    clock.t += 0.100
    _set_nx_rails(root, 1200, 600, 300)  # VDD_IN 6.0 W
    meter.mark()  # what the sampler thread does between the ends
    clock.t += 0.200
    _set_nx_rails(root, 800, 400, 200)  # VDD_IN 4.0 W
    t1 = meter.mark()  # result
    # by hand: (2 + 6) / 2 * 0.1 + (6 + 4) / 2 * 0.2 = 0.4 + 1.0 = 1.4 J over 0.3 s
    reading = meter.reading(t0, t1)
    assert reading.energy_j == pytest.approx(1.4)
    assert reading.window_s == pytest.approx(0.3)
    assert reading.power_w == pytest.approx(1.4 / 0.3)
    # rails: the same rule per rail, divided by the window; VDD_CPU_GPU_CV: 0.5, 3.0, 2.0 W
    assert list(reading.rails_w) == ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"]
    cpu_gpu_j = (0.5 + 3.0) / 2 * 0.1 + (3.0 + 2.0) / 2 * 0.2
    assert reading.rails_w["VDD_CPU_GPU_CV"] == pytest.approx(cpu_gpu_j / 0.3)
    assert reading.rails_w["VDD_IN"] == pytest.approx(reading.power_w), "VDD_IN is the board's total"


def test_a_window_takes_only_its_own_samples_and_overlapping_frames_share_them(tmp_path: Path) -> None:
    root = _tree(tmp_path, "jetson-nano")  # JetPack 4: IIO in_power (mW) files
    clock = FakeClock()
    meter = BoardMeter(board_telemetry(root, "jetson-nano"), period_s=0, clock=clock)
    powers_mw = [1000, 3000, 5000, 2000]
    marks = []
    for i, mw in enumerate(powers_mw):
        _write(root / NANO_IIO / "in_power0_input", mw)  # POM_5V_IN, the total
        clock.t = 100.0 + 0.05 * i
        marks.append(meter.mark())
    # frame A: marks 0..2; frame B (started while A waited): marks 1..3
    assert meter.energy_j(marks[0], marks[2]) == pytest.approx((1 + 3) / 2 * 0.05 + (3 + 5) / 2 * 0.05)
    assert meter.energy_j(marks[1], marks[3]) == pytest.approx((3 + 5) / 2 * 0.05 + (5 + 2) / 2 * 0.05)
    assert math.isnan(meter.energy_j(marks[0], marks[0] + 0.01)), "an end that is not a mark: no energy"


def test_an_unreadable_sample_is_left_out_and_an_unreadable_end_gives_nan(tmp_path: Path) -> None:
    root = _tree(tmp_path, "jetson-nano")
    clock = FakeClock()
    meter = BoardMeter(board_telemetry(root, "jetson-nano"), period_s=0, clock=clock)
    power = root / NANO_IIO / "in_power0_input"
    _write(power, 2000)
    t0 = meter.mark()
    clock.t += 0.1
    _write(power, "garbage")  # the driver returned something unreadable for one sample
    meter.mark()
    clock.t += 0.1
    _write(power, 4000)
    t1 = meter.mark()
    assert meter.energy_j(t0, t1) == pytest.approx((2 + 4) / 2 * 0.2)
    clock.t += 0.1
    _write(power, "garbage")
    t2 = meter.mark()
    assert math.isnan(meter.energy_j(t0, t2))


def test_the_sampler_thread_fills_the_frame_between_its_marks(tmp_path: Path) -> None:
    root = _tree(tmp_path, "jetson-xavier-nx")
    meter = BoardMeter(board_telemetry(root, "jetson-xavier-nx"), period_s=0.005).start()
    try:
        t0 = meter.mark()
        while len(meter.window(t0, math.inf)) < 5:
            pass
        t1 = meter.mark()
    finally:
        meter.stop()
    got = meter.window(t0, t1)
    assert len(got) >= 5 and got[0].t_s == t0 and got[-1].t_s == t1
    assert meter.reading(t0, t1).power_w == pytest.approx(4.9)  # the fixture's VDD_IN: 5 V x 0.98 A


def test_clocks_temperature_and_utilisation_are_read_back_from_the_files(tmp_path: Path) -> None:
    root = _tree(tmp_path, "jetson-xavier-nx")
    meter = BoardMeter(board_telemetry(root, "jetson-xavier-nx"), period_s=0)
    _write(next(root.glob("sys/devices/system/cpu/cpufreq/policy0")) / "scaling_cur_freq", 729600)
    gpu = root / "sys/devices/17000000.gv11b"
    _write(gpu / "devfreq/17000000.gv11b/cur_freq", 510000000)
    _write(gpu / "load", 625)
    _write(root / "sys/kernel/debug/bpmp/debug/clk/emc/rate", 1600000000)
    _write(root / "sys/devices/virtual/thermal/thermal_zone1/temp", 51500)  # GPU-therm, now the hottest
    _write(root / "sys/devices/virtual/thermal/thermal_zone4/temp", 120000)  # PMIC-Die: left out
    _write(root / "proc/stat", "cpu  1030 0 510 8060 10 0 5 0 0 0")  # +40 busy, +60 idle since the start
    r = meter.reading(meter.mark(), meter.mark())
    assert (r.cpu_khz, r.gpu_hz, r.emc_hz) == (729600, 510000000, 1600000000)
    assert r.temperature_c == pytest.approx(51.5)
    assert r.gpu_util == pytest.approx(0.625)
    assert r.cpu_util == pytest.approx(0.4)
    assert math.isnan(r.emc_util), "not measured: the actmon counter's unit is undocumented"


def test_a_board_without_rails_reads_nan_and_names_what_is_missing(tmp_path: Path) -> None:
    root = _tree(tmp_path, "jetson-nano")
    shutil.rmtree(root / "sys/bus/i2c/drivers/ina3221x")  # a Nano 2GB: no INA3221
    shutil.rmtree(root / "sys/devices/virtual/thermal")
    telemetry = board_telemetry(root, "jetson-nano")
    meter = BoardMeter(telemetry, period_s=0)
    r = meter.reading(meter.mark(), meter.mark())
    assert math.isnan(r.energy_j) and math.isnan(r.power_w) and r.rails_w == {}
    assert math.isnan(r.temperature_c) and r.cpu_khz == 1479000
    fields = {"cpu_khz": r.cpu_khz, "gpu_hz": r.gpu_hz, "emc_hz": r.emc_hz, "power_w": r.power_w,
              "rail_power_w": [], "temperature_c": r.temperature_c, "cpu_util": 0.5,
              "gpu_util": r.gpu_util, "emc_util": r.emc_util, "energy_j": r.energy_j}
    missing = missing_fields(fields)
    assert missing == ["power_w", "rail_power_w", "temperature_c", "emc_util", "energy_j"]
    said = MissingReadings(telemetry.disc.missing)
    assert said.update(missing) == missing and said.update(missing) == [], "each name is said once"
    text = said.describe(missing)
    assert "power_w, rail_power_w, energy_j (power: no INA3221 rails under" in text
    assert "temperature_c (temperature: no thermal_zone" in text


def test_nothing_to_measure_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DeviceError, match="nothing to measure"):
        board_telemetry(tmp_path, "jetson-nano")


def test_the_missing_names_are_telemetry_msg_fields() -> None:
    msg = msg_dir() / "Telemetry.msg"
    lines = msg.read_text().splitlines()
    fields = {line.split()[1] for line in lines if line and not line.startswith((" ", "#"))}
    assert set(OPTIONAL_FIELDS) <= fields and "missing" in fields
