"""Fixtures of the agent tests: a real world (board twin, cloud model, split profile of a real model).

The split profile is the shipped one when present; otherwise it is built once per session from
the real torchvision model by the split package's own profiler (random-init weights, so accuracy
is unknown), at a reduced cost resolution to keep the suite fast.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dvfo_core.split import profile as split_profile
from dvfo_core.world.build import World, WorldSpec, build_world

MODEL = "resnet18"
DEVICE = "jetson-nano"


@pytest.fixture(scope="session")
def profile_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A split profile JSON of resnet18 (shipped, or built here from the real model)."""
    shipped = split_profile.profile_path(MODEL)
    if shipped.is_file():
        return shipped
    from dvfo_core.split import zoo
    from dvfo_core.split.data import load_dataset, sample_batch
    from dvfo_core.split.net import SplitConfig, SplitNet

    torch.manual_seed(0)
    size = 96
    data = load_dataset("digits", 32)
    cfg = SplitConfig(MODEL, zoo.MODELS[MODEL].default_split, data.num_classes, size, data.mean, data.std)
    net = SplitNet(cfg).eval()
    images = sample_batch(data.test, 4, image_size=size)
    prof = split_profile.build_split_profile(
        net, (0.0, 0.25, 0.5, 0.75, 1.0), images, size, trained=False, progress=False
    )
    return split_profile.save_profiles([prof], tmp_path_factory.mktemp("profiles") / f"{MODEL}.json")


@pytest.fixture(scope="session")
def world_spec(profile_file: Path) -> WorldSpec:
    """The spec of the test world."""
    return WorldSpec(DEVICE, MODEL, profile_path=str(profile_file))


@pytest.fixture
def world(world_spec: WorldSpec) -> World:
    """A fresh world (its caches start empty)."""
    return build_world(world_spec)
