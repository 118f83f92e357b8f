"""Shared fixtures of the device-layer tests: real torchvision workloads, profiled once per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dvfo_core.device.calibration import profile_model
from dvfo_core.workload import Workload


def _profile(name: str, half: bool = False) -> Workload:
    return profile_model(name, "fp16" if half else "fp32")


@pytest.fixture(scope="session")
def resnet18() -> Workload:
    """ResNet-18 at 224x224, fp32, as it executes."""
    return _profile("resnet18")


@pytest.fixture(scope="session")
def mobilenet_v2() -> Workload:
    """MobileNetV2 at 224x224, fp32."""
    return _profile("mobilenet_v2")


@pytest.fixture(scope="session")
def profiled():
    """Profile any torchvision model by name (cached)."""
    cache: dict[tuple[str, bool], Workload] = {}

    def get(name: str, half: bool = False) -> Workload:
        if (name, half) not in cache:
            cache[(name, half)] = _profile(name, half)
        return cache[(name, half)]

    return get


# -- sysfs fixture trees -------------------------------------------------------------------------
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sysfs"


def _snapshot(root: Path) -> dict[str, str]:
    """Relative path -> content of every regular file (links not followed)."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            if p.is_file() and not p.is_symlink():
                out[str(p.relative_to(root))] = p.read_text()
    return out


class Tree:
    """A writable copy of a committed fixture tree, with snapshots to compare."""

    def __init__(self, board: str, dst: Path) -> None:
        self.root = dst / board
        shutil.copytree(FIXTURES / board, self.root, symlinks=True)
        self.before = _snapshot(self.root)

    def changes(self) -> dict[str, tuple[str, str]]:
        """Files whose content differs from the copy's start: path -> (before, now)."""
        now = _snapshot(self.root)
        return {k: (self.before.get(k, ""), now.get(k, "")) for k in self.before.keys() | now.keys()
                if self.before.get(k) != now.get(k)}

    def mark(self) -> None:
        """Take the current content as the new reference."""
        self.before = _snapshot(self.root)


@pytest.fixture
def fixture_tree(tmp_path):
    """Factory: ``fixture_tree("jetson-nano")`` -> a :class:`Tree` copy in tmp_path."""
    return lambda board: Tree(board, tmp_path)


@pytest.fixture
def fixtures_dir() -> Path:
    """The committed sysfs fixture trees."""
    return FIXTURES
