"""sysfs discovery and telemetry against fixture trees of three JetPack layouts."""

from __future__ import annotations

import math

import pytest

from dvfo_core.device.sysfs import SysfsDevice, discover
from dvfo_core.errors import DeviceError


def test_nano_jetpack4_layout_is_discovered(fixtures_dir):
    d = discover(fixtures_dir / "jetson-nano")
    assert d.is_jetson and d.board == "jetson-nano" and d.release.startswith("R32")
    assert [p.path.name for p in d.cpu_policies] == ["policy0"]
    assert d.cpu_policies[0].cpus == (0, 1, 2, 3) and len(d.cpu_policies[0].freqs_khz) == 15
    assert d.gpu is not None and d.gpu.path.name == "57000000.gpu" and d.gpu.of_name == "gpu"
    assert d.emc is not None and d.emc.kind == "override" and d.emc.max_hz == 1600000000
    assert [r.name for r in d.rails] == ["POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"]
    assert {r.kind for r in d.rails} == {"iio"}
    assert d.nvpmodel_id == 0 and d.online_cpus == [0, 1, 2, 3]
    assert d.missing == []


def test_xavier_nx_jetpack5_layout_is_discovered(fixtures_dir):
    d = discover(fixtures_dir / "jetson-xavier-nx")
    assert d.board == "jetson-xavier-nx"
    assert d.gpu is not None and d.gpu.of_name == "gv11b" and len(d.gpu.freqs_hz) == 15
    assert d.emc is not None and d.emc.kind == "bpmp" and d.emc.lock_path.name == "mrq_rate_locked"
    # the "sum of shunt voltages" channel is skipped
    assert [r.name for r in d.rails] == ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"]
    assert all(r.kind == "hwmon" for r in d.rails)


def test_agx_orin_jetpack6_layout_is_discovered(fixtures_dir):
    d = discover(fixtures_dir / "jetson-agx-orin")
    assert d.board == "jetson-agx-orin"
    assert [p.cpus for p in d.cpu_policies] == [(0, 1, 2, 3), (4, 5, 6, 7), (8, 9, 10, 11)]
    assert d.gpu is not None and "platform/bus@0/17000000.gpu" in str(d.gpu.path)
    assert "NC" not in [r.name for r in d.rails] and "VDDQ_VDD2_1V8AO" in [r.name for r in d.rails]


@pytest.mark.parametrize(
    ("board", "mode", "total_w", "temp_c"),
    [
        ("jetson-nano", "MAXN", 5.080 * 0.420, 36.5),  # IIO in_power (mW); PMIC-Die 100 degC ignored
        ("jetson-xavier-nx", "MODE_20W_6CORE", 5.0 * 0.980, 38.5),  # hwmon V x I of VDD_IN
        ("jetson-agx-orin", "30W", 5.0 * (0.6 + 0.3 + 0.7 + 0.15), 41.2),  # no input rail: the sum
    ],
)
def test_telemetry_and_power_mode(board, mode, total_w, temp_c, fixtures_dir):
    dev = SysfsDevice(fixtures_dir / board, read_only=True)
    assert dev.power_mode.name == mode
    s = dev.sample()
    assert s.total_w == pytest.approx(total_w, rel=1e-3)
    assert s.temperature_c == pytest.approx(temp_c)
    assert s.gpu_util == 0.0
    assert math.isnan(s.cpu_util)  # needs two readings


def test_tables_are_clipped_to_the_running_power_mode(fixtures_dir):
    dev = SysfsDevice(fixtures_dir / "jetson-agx-orin", read_only=True)  # nvpmodel says 30 W
    assert dev.table.cpu_khz[-1] == 1728000
    assert dev.table.gpu_hz[-1] == 612000000
    assert dev.table.emc_hz == (204000000, 665600000, 2133000000, 3199000000)
    w15 = SysfsDevice(fixtures_dir / "jetson-agx-orin", mode="15W", read_only=True)
    assert w15.table.gpu_hz[-1] == 408000000


def test_emc_iso_cap_clips_the_memory_table(fixture_tree):
    root = fixture_tree("jetson-xavier-nx").root
    (root / "sys/kernel/nvpmodel_emc_cap/emc_iso_cap").write_text("1600000000\n")
    assert SysfsDevice(root, read_only=True).table.emc_hz[-1] == 1600000000


def test_cpu_utilisation_from_proc_stat_deltas(fixture_tree):
    root = fixture_tree("jetson-nano").root
    dev = SysfsDevice(root, read_only=True)
    dev.sample()
    stat = root / "proc/stat"
    stat.write_text("cpu  1300 0 500 8100 10 0 5 0 0 0\n")  # +300 busy, +100 idle
    assert dev.sample().cpu_util == pytest.approx(0.75)


def test_current_levels_follow_the_running_clocks(fixtures_dir):
    dev = SysfsDevice(fixtures_dir / "jetson-nano", read_only=True)
    assert dev.current().cpu == dev.table.shape[0] - 1
    assert dev.current().gpu == 0


def test_a_machine_that_is_not_a_jetson(tmp_path):
    d = discover(tmp_path)
    assert not d.is_jetson and d.board is None
    assert any("nvidia,tegra" in m for m in d.missing) and any("devfreq" in m for m in d.missing)
    with pytest.raises(DeviceError, match="not a Jetson"):
        SysfsDevice(tmp_path)


def test_unknown_board_needs_an_explicit_profile(fixture_tree):
    root = fixture_tree("jetson-nano").root
    (root / "proc/device-tree/model").write_text("Some Tegra Board\x00")
    (root / "proc/device-tree/compatible").write_text("acme,robot\x00nvidia,tegra210\x00")
    with pytest.raises(DeviceError, match="cannot tell the board"):
        SysfsDevice(root, read_only=True)
    assert SysfsDevice(root, board="jetson-nano", read_only=True).name == "jetson-nano"


def test_missing_sensors_are_reported_not_crashed_on(fixture_tree, caplog):
    root = fixture_tree("jetson-xavier-nx").root
    (root / "sys/bus/i2c/drivers/ina3221/7-0040/hwmon/hwmon3/curr1_input").unlink()  # VDD_IN current gone
    dev = SysfsDevice(root, read_only=True)
    s = dev.sample()
    assert math.isnan(s.rails_w["VDD_IN"]) and math.isnan(s.total_w)
    assert s.rails_w["VDD_SOC"] == pytest.approx(1.3)
    dev.sample()
    assert sum("curr1_input" in r.message for r in caplog.records) == 1  # warned once
    import shutil

    shutil.rmtree(root / "sys/bus/i2c/drivers/ina3221")
    d = discover(root)
    assert d.rails == [] and any(m.startswith("power:") for m in d.missing)
    assert math.isnan(SysfsDevice(root, read_only=True).sample().total_w)


def test_missing_gpu_table_is_reported(fixture_tree):
    root = fixture_tree("jetson-nano").root
    (root / "sys/devices/57000000.gpu/devfreq/57000000.gpu/available_frequencies").unlink()
    d = discover(root)
    assert d.gpu is None and any("available_frequencies" in m for m in d.missing)
