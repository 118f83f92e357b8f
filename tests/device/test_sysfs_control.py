"""sysfs clock control: writes land in the fixture, bad input changes nothing, restore always runs."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dvfo_core.device.base import Levels
from dvfo_core.device.sysfs import SysfsDevice
from dvfo_core.device.sysfs import backend as sysfs_backend
from dvfo_core.device.sysfs.clocks import pair_writes
from dvfo_core.errors import DeviceError

SRC = Path(__file__).resolve().parents[2] / "src" / "dvfo_core"


def test_min_max_write_order():
    assert pair_writes(102000, 1479000, 1479000, 1479000) == [("min", 1479000), ("max", 1479000)]
    assert pair_writes(403200, 403200, 1224000, 1224000) == [("max", 1224000), ("min", 1224000)]  # raising
    assert pair_writes(1224000, 1224000, 403200, 403200) == [("min", 403200), ("max", 403200)]  # lowering


def test_nano_apply_pins_every_domain_and_restore_puts_everything_back(fixture_tree):
    tree = fixture_tree("jetson-nano")
    root = tree.root
    with SysfsDevice(root) as dev:
        assert not dev.read_only
        dev.apply(Levels(3, 5, 2))
        diff = tree.changes()
        pol = "sys/devices/system/cpu/cpufreq/policy0"
        gpu = "sys/devices/57000000.gpu/devfreq/57000000.gpu"
        emc = "sys/kernel/debug/clk/override.emc"
        assert {k: v[1].strip() for k, v in diff.items()} == {
            f"{pol}/scaling_min_freq": "403200", f"{pol}/scaling_max_freq": "403200",
            f"{gpu}/min_freq": "460800000", f"{gpu}/max_freq": "460800000",
            f"{emc}/clk_state": "1", f"{emc}/clk_update_rate": "665600000",
        }
        dev.apply(Levels(14, 11, 6))  # raising again: max before min
        assert (root / f"{pol}/scaling_min_freq").read_text().strip() == "1479000"
    assert tree.changes() == {}


def test_agx_orin_pins_all_three_clusters_and_locks_the_bpmp_emc(fixture_tree):
    tree = fixture_tree("jetson-agx-orin")
    root = tree.root
    dev = SysfsDevice(root)
    dev.apply(Levels(10, 2, 1))
    for p in (0, 4, 8):
        pol = root / f"sys/devices/system/cpu/cpufreq/policy{p}"
        assert (pol / "scaling_min_freq").read_text().strip() == "883200"
        assert (pol / "scaling_max_freq").read_text().strip() == "883200"
    emc = root / "sys/kernel/debug/bpmp/debug/clk/emc"
    assert (emc / "mrq_rate_locked").read_text().strip() == "1"
    assert (emc / "rate").read_text().strip() == "665600000"
    dev.restore()
    assert tree.changes() == {}
    dev.restore()  # idempotent


def test_a_frequency_not_in_the_table_or_a_bad_level_changes_nothing(fixture_tree):
    tree = fixture_tree("jetson-xavier-nx")
    root = tree.root
    dev = SysfsDevice(root)
    with pytest.raises(DeviceError, match="gpu 500000000 Hz is not an available frequency"):
        dev.set_frequencies(gpu_hz=500_000_000)
    with pytest.raises(DeviceError, match="cpu 1907200 kHz"):  # in hardware, above the 20 W mode cap
        dev.set_frequencies(cpu_khz=1907200)
    with pytest.raises(DeviceError, match=r"emc level 8 is not in 0\.\.7"):
        dev.apply(Levels(0, 0, 8))
    assert tree.changes() == {}


def _unwritable(path: Path) -> None:
    """Make ``path`` fail on write for this process, root included, keeping it readable."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        return
    target = Path("/sys/devices/system/cpu/online")  # a read-only sysfs attribute: EACCES even for root
    try:
        with open(target, "w") as fh:
            fh.write("0\n")
    except OSError:
        path.unlink()
        path.symlink_to(target)
        return
    pytest.skip("no file here refuses writes from root")


def test_a_failed_write_rolls_back_the_files_already_written(fixture_tree):
    tree = fixture_tree("jetson-xavier-nx")
    root = tree.root
    rate = root / "sys/kernel/debug/bpmp/debug/clk/emc/rate"  # the last file of the plan
    _unwritable(rate)
    tree.mark()
    dev = SysfsDevice(root, read_only=False)
    with pytest.raises(DeviceError, match=r"cannot write 1600000000 to .*rate.*rolled back 5 earlier write"):
        dev.apply(Levels(4, 6, 6))
    assert tree.changes() == {}  # CPU, GPU and the EMC lock are back
    dev.restore()  # nothing left to put back: the unwritable file is not touched again


def test_read_only_changes_nothing_and_says_so_once(fixture_tree, caplog, monkeypatch):
    monkeypatch.setattr(sysfs_backend, "_said_read_only", False)
    tree = fixture_tree("jetson-nano")
    root = tree.root
    with caplog.at_level(logging.WARNING):
        dev = SysfsDevice(root, read_only=True)
        SysfsDevice(root, read_only=True)
    assert dev.read_only
    dev.apply(Levels(0, 0, 0))
    assert tree.changes() == {}
    assert sum("read-only" in r.message for r in caplog.records) == 1


#: Root writes any file through CAP_DAC_OVERRIDE (and may chmod through CAP_FOWNER): the check
#: runs without them, as root is on a board whose clock files a udev rule or kernel made read-only.
WITHOUT_OVERRIDE = ["setpriv", "--inh-caps=-dac_override,-fowner", "--bounding-set=-dac_override,-fowner"]


def test_without_write_access_it_is_read_only(fixture_tree):
    tree = fixture_tree("jetson-nano")
    for path in [tree.root, *tree.root.rglob("*")]:
        if not path.is_symlink() and path.is_file():
            path.chmod(0o444)
    child = "import sys; from dvfo_core.device.sysfs import SysfsDevice as D; print(D(sys.argv[1]).read_only)"
    drop = WITHOUT_OVERRIDE if os.geteuid() == 0 else []
    out = subprocess.run([*drop, sys.executable, "-c", child, str(tree.root)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


CHILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {src!r})
    from dvfo_core.device.base import Levels
    from dvfo_core.device.sysfs import SysfsDevice
    dev = SysfsDevice({root!r})
    dev.apply(Levels(2, 3, 1))
    print("applied", flush=True)
    if {how!r} == "raise":
        raise RuntimeError("boom")
    if {how!r} == "exit":
        sys.exit(0)
    time.sleep(60)
""")


@pytest.mark.parametrize("how", ["sigterm", "sigint", "raise", "exit"])
def test_restore_after_the_process_is_killed_or_crashes(fixture_tree, how):
    tree = fixture_tree("jetson-nano")
    root = tree.root
    code = CHILD.format(src=str(SRC), root=str(root), how=how)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "applied", child.stderr.read()
        if how in ("sigterm", "sigint"):
            assert tree.changes() != {}  # the writes landed
            child.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGINT)
        rc = child.wait(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    assert tree.changes() == {}
    expected = {"sigterm": -signal.SIGTERM, "raise": 1, "exit": 0}
    if how in expected:
        assert rc == expected[how]
    else:
        assert rc != 0  # KeyboardInterrupt
