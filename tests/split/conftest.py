"""Fixtures for the split-inference tests: a small real network and the shipped checkpoints."""

from __future__ import annotations

import pytest
import torch
from split_helpers import SHIPPED, randomise_statistics

from dvfo_core.split.checkpoint import load_checkpoint, shipped_checkpoint
from dvfo_core.split.net import SplitConfig, SplitNet


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """One torch thread here: on a CPU shared with other jobs, two threads ran ~9x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def small_net() -> SplitNet:
    """An (untrained) resnet18 SplitNet at 32 px with perturbed BN statistics, in eval mode."""
    torch.manual_seed(0)
    net = SplitNet(SplitConfig("resnet18", "layer2", 10, 32))
    randomise_statistics(net)
    return net.eval()


@pytest.fixture(scope="session", params=SHIPPED)
def shipped_net(request: pytest.FixtureRequest) -> SplitNet:
    """A shipped fine-tuned checkpoint, loaded through the public loader."""
    return load_checkpoint(shipped_checkpoint(request.param)).net
