"""Every way a node is told to stop ends it through its lifecycle, on both runtimes.

SIGINT (Ctrl-C, what ``ros2 launch`` sends first), SIGTERM and the death of the launcher that
started it (SIGKILL: it cannot forward anything) all take an active node through ``deactivate``
and ``shutdown`` and let it exit 0. The governor with the sysfs backend on a fixture tree shows it
for real: the GPU clock it pinned is back where it was.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sysfs"
PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture
def board(tmp_path: Path) -> tuple[Path, Path]:
    """A Jetson Nano sysfs fixture tree and its GPU ``min_freq`` file (what the governor pins)."""
    root = tmp_path / "nano"
    shutil.copytree(FIXTURES / "jetson-nano", root, symlinks=True)
    return root, next(root.rglob("devfreq/*/min_freq"))


@pytest.fixture
def subreaper() -> Iterator[None]:
    """Orphans (the nodes of a killed launcher) become children of this process, so that their
    exit status can be read."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    yield
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def _governor_args(root: Path) -> list[str]:
    return [
        "--ros-args",
        "-r",
        "__node:=governor",
        "-p",
        "method:=edge_only_default",
        "-p",
        "backend:=sysfs",
        "-p",
        f"sysfs_root:={root}",
    ]


def _env(runtime: str) -> dict[str, str]:
    return {**os.environ, "DVFO_RUNTIME": runtime, "PYTHONUNBUFFERED": "1"}


def _wait_until_pinned(gpu_min: Path, before: str, proc: subprocess.Popen, timeout_s: float = 120) -> None:
    end = time.monotonic() + timeout_s
    while gpu_min.read_text() == before:
        assert proc.poll() is None, f"the process exited early with {proc.returncode}"
        assert time.monotonic() < end, "the governor never pinned the GPU clock"
        time.sleep(0.1)


def _wait_pid(pid: int, timeout_s: float = 30) -> int:
    """Exit code of a child (a direct one or an orphan we reap)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError(f"process {pid} did not exit within {timeout_s} s")


@pytest.mark.parametrize("runtime", ["rclpy", "dds"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_ends_the_node_through_deactivate_and_shutdown(
    runtime: str, sig: signal.Signals, board: tuple[Path, Path], dds_domain: int
) -> None:
    root, gpu_min = board
    before = gpu_min.read_text()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dvfo_edge.governor_node", *_governor_args(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(runtime),
    )
    try:
        _wait_until_pinned(gpu_min, before, proc)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "lifecycle: deactivate (success): active -> inactive" in out, out
    assert "lifecycle: shutdown (success): inactive -> finalized" in out, out
    assert "Traceback" not in out and "Error" not in out, out
    assert gpu_min.read_text() == before, "the GPU clock is restored"


LAUNCHER = """
import sys, time
from pathlib import Path
from dvfo_core.graph import load_graph
from dvfo_core.launcher import Launch
entries = [e for e in load_graph("edge") if e.name == "governor"]
launch = Launch(entries, overrides={"governor": sys.argv[2:]}, env={"DVFO_RUNTIME": sys.argv[1]})
print(launch.procs["governor"].pid, flush=True)
launch.wait()
"""


@pytest.mark.parametrize("runtime", ["rclpy", "dds"])
def test_a_killed_launcher_takes_its_nodes_down_cleanly(
    runtime: str, board: tuple[Path, Path], dds_domain: int, subreaper: None
) -> None:
    root, gpu_min = board
    before = gpu_min.read_text()
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, runtime, *_governor_args(root)[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(runtime),
    )
    try:
        assert launcher.stdout is not None
        node_pid = int(launcher.stdout.readline())
        _wait_until_pinned(gpu_min, before, launcher)
        launcher.kill()  # SIGKILL: the launcher cannot stop anything
        assert launcher.wait(10) == -signal.SIGKILL
        assert _wait_pid(node_pid) == 0, "the orphaned node exits 0"
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert gpu_min.read_text() == before, "the GPU clock is restored"
