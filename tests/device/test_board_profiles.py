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
