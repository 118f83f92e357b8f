"""Real images: MNIST-5k and sklearn digits with a fixed held-out split, and ImageFolder paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dvfo_core.errors import ConfigError
from dvfo_core.split.data import load_dataset, sample_batch


def test_mnist_split_is_stratified_and_held_out() -> None:
    data = load_dataset("mnist", 32)
    assert (len(data.train), len(data.test)) == (4000, 1000)
    x, y = data.test[0]
    assert x.shape == (3, 32, 32) and 0 <= y < 10
    labels = data.test.labels.numpy()
    assert np.bincount(labels).tolist() == [100] * 10

    def image_keys(ds) -> set[bytes]:
        return {bytes(img) for img in (ds.raw * 255).round().to(torch.uint8).reshape(len(ds), -1).numpy()}

    assert not image_keys(data.train) & image_keys(data.test)  # no test image is a training image


def test_digits_and_resizing() -> None:
    data = load_dataset("digits", 16)
    assert len(data.train) + len(data.test) == 1797 and data.num_classes == 10
    batch = sample_batch(data.test, 4, image_size=224)
    assert batch.shape == (4, 3, 224, 224)


def test_image_folder_path(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir()
        for i in range(10):
            Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(
                tmp_path / cls / f"{i}.png"
            )
    data = load_dataset(str(tmp_path), 16)
    assert data.num_classes == 2 and len(data.train) == 16 and len(data.test) == 4
    assert data.train[0][0].shape == (3, 16, 16)


def test_unknown_source_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cifar"):
        load_dataset("cifar", 32)
    with pytest.raises(ConfigError, match="not a usable ImageFolder"):
        load_dataset(str(tmp_path), 32)
