"""Board profiles: every shipped board loads, carries its sources, and clips to power-mode caps."""

from __future__ import annotations

import shutil

import pytest
import yaml

from dvfo_core.device.profiles import list_profiles, load_profile, parse_profile
from dvfo_core.errors import ConfigError

BOARDS = ["jetson-agx-orin", "jetson-nano", "jetson-orin-nano", "jetson-tx2", "jetson-xavier-nx"]


def test_the_five_design_boards_are_shipped():
    assert list_profiles() == BOARDS


@pytest.mark.parametrize("board", BOARDS)
def test_profile_loads_with_ascending_tables_and_a_valid_default_mode(board):
    p = load_profile(board)
    assert p.name == board
    assert p.default_mode in p.modes
    for freqs in (p.cpu_khz, p.gpu_hz, p.emc_hz):
        assert list(freqs) == sorted(set(freqs))
    t = p.table()
    assert all(n >= 1 for n in t.shape)
    m = p.mode()
    assert t.cpu_khz[-1] <= m.cpu_max_khz and t.gpu_hz[-1] <= m.gpu_max_hz and t.emc_hz[-1] <= m.emc_max_hz


def test_nano_tables_are_the_real_ones():
    p = load_profile("jetson-nano")
    assert p.cpu_cores == 4
    assert p.cpu_khz[-1] == 1479000
    assert p.gpu_hz[0] == 76800000 and p.gpu_hz[-1] == 921600000 and len(p.gpu_hz) == 12
    assert p.emc_hz[-1] == 1600000000
    assert p.emc_bytes_per_cycle * p.emc_hz[-1] == pytest.approx(25.6e9)  # 64-bit LPDDR4: 25.6 GB/s


def test_power_mode_caps_clip_the_table():
    p = load_profile("jetson-agx-orin")
    full, w15 = p.table("MAXN"), p.table("15W")
    assert full.cpu_khz[-1] == 2201600
    assert w15.cpu_khz[-1] == 1113600
    assert w15.gpu_hz[-1] == 408000000
    assert w15.emc_hz[-1] == 2133000000
    assert w15.shape < full.shape
    nano5 = load_profile("jetson-nano").table("5W")
    assert nano5.gpu_hz[-1] == 614400000  # cap 640 MHz is not a level: the next one below it


def test_unknown_board_and_mode_are_clear_errors():
    with pytest.raises(ConfigError, match=r"unknown board 'jetson-foo'.*jetson-nano"):
        load_profile("jetson-foo")
    with pytest.raises(ConfigError, match="unknown power mode 'TURBO'"):
        load_profile("jetson-nano").table("TURBO")


def _broken_copy(tmp_path, edit):
    src = load_profile("jetson-nano").path
    dst = tmp_path / "jetson-nano.yaml"
    shutil.copy(src, dst)
    data = yaml.safe_load(dst.read_text())
    edit(data)
    dst.write_text(yaml.safe_dump(data))
    return dst


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["gpu"].pop("freqs_hz"), "missing field 'gpu.freqs_hz'"),
        (lambda d: d["cpu"].pop("source"), "missing source line 'cpu.source'"),
        (lambda d: d["emc"].__setitem__("freqs_hz", [1600000000, 204000000]), "strictly ascending"),
        (lambda d: d.__setitem__("default_mode", "TURBO"), "default_mode 'TURBO'"),
        (lambda d: d["power"].__setitem__("board_static_w", "lots"), "must be a number"),
    ],
)
def test_malformed_profile_names_the_file_and_field(tmp_path, edit, message):
    path = _broken_copy(tmp_path, edit)
    with pytest.raises(ConfigError, match=message) as err:
        parse_profile(path)
    assert str(path) in str(err.value)


def test_nano_cpu_voltage_is_the_tabulated_l4t_cvb_table():
    """Nano CPU V(f): CPU_CVB_TABLE_EUCM2 (speedo ID 9) of the L4T 4.9 kernel, clamped to 900-1162 mV."""
    v = load_profile("jetson-nano").voltage["cpu"]
    assert v.tabulated
    assert v.volts(102e6, 1479e6) == pytest.approx(0.900)  # below the first point: held
    assert v.volts(612e6, 1479e6) == pytest.approx(0.900)  # c0 = 878 mV, clamped to the 900 mV floor
    assert v.volts(1224e6, 1479e6) == pytest.approx(1.082)
    assert v.volts(1479e6, 1479e6) == pytest.approx(1.090)
    assert v.volts(765e6, 1479e6) == pytest.approx((0.912 + 0.946) / 2)  # linear between points
    assert all(a <= b for a, b in zip(v.points, v.points[1:], strict=False))


def test_parametric_curve_keeps_its_reference_when_the_table_grows():
    """The Orin Nano's super levels extend the tables; the 15 W mode's voltages stay where they were."""
    p = load_profile("jetson-orin-nano")
    gpu = p.voltage["gpu"]
    assert not gpu.tabulated
    assert gpu.volts(624.75e6, p.gpu_hz[-1]) == pytest.approx(0.85)  # v_max at the JetPack 6.0 top
    assert gpu.volts(1020e6, p.gpu_hz[-1]) > 0.85  # same slope above it


@pytest.mark.parametrize(("board", "mode"), [
    ("jetson-nano", "MAXN"), ("jetson-tx2", "MAXN"), ("jetson-xavier-nx", "MODE_20W_6CORE"),
    ("jetson-orin-nano", "MAXN"), ("jetson-agx-orin", "MAXN"),
])
def test_every_board_names_its_maximum_mode(board, mode):
    p = load_profile(board)
    assert p.max_mode == mode
    top = p.mode(p.max_mode)
    for m in p.modes.values():  # no shipped mode exceeds the maximum mode in any domain
        assert m.cpu_max_khz <= top.cpu_max_khz and m.gpu_max_hz <= top.gpu_max_hz
        assert m.emc_max_hz <= top.emc_max_hz


def test_orin_nano_maxn_is_jetpack_62_maxn_super():
    """nvpmodel_p3767_0003_super.conf MAXN_SUPER: no caps, i.e. the super tops 1728 / 1020 / 3199 MHz."""
    p = load_profile("jetson-orin-nano")
    assert p.default_mode == "15W"
    t = p.table("MAXN")
    assert (t.cpu_khz[-1], t.gpu_hz[-1], t.emc_hz[-1]) == (1728000, 1020000000, 3199000000)
    assert p.emc_bytes_per_cycle * t.emc_hz[-1] == pytest.approx(102e9, rel=0.005)  # NVIDIA: 102 GB/s
    w15 = p.table("15W")
    assert (w15.cpu_khz[-1], w15.gpu_hz[-1], w15.emc_hz[-1]) == (1510400, 624750000, 2133000000)


def test_max_mode_defaults_to_the_mode_with_the_highest_caps(tmp_path):
    path = _broken_copy(tmp_path, lambda d: d.pop("max_mode"))
    assert parse_profile(path).max_mode == "MAXN"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.__setitem__("max_mode", "TURBO"), "max_mode 'TURBO'"),
        (lambda d: d["cpu"].__setitem__("voltage", {"points": [[204000000, 0.9]]}), "cpu.voltage.points"),
        (lambda d: d["cpu"].__setitem__("voltage", {"points": [[2, 0.9], [1, 1.0]]}), "strictly ascending"),
    ],
)
def test_malformed_max_mode_and_voltage_points_name_the_field(tmp_path, edit, message):
    path = _broken_copy(tmp_path, edit)
    with pytest.raises(ConfigError, match=message):
        parse_profile(path)
