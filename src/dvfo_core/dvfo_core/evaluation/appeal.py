"""AppealNet's per-image data, measured with the shipped fine-tuned checkpoints on real test images.

AppealNet (DAC'21) keeps easy inputs on a light edge model and appeals hard ones to a big cloud model.
Here the *edge* model is the lightest model with a shipped checkpoint (fewest FLOPs; the evaluated
model itself when it is the lightest), the *cloud* model is the evaluated model, which receives the
losslessly compressed image. Per test image we record the edge model's softmax confidence and whether
each model is right. The appeal threshold is the lowest confidence threshold whose combined accuracy
(edge answer when confident, cloud answer otherwise) is within ``max_drop`` of the cloud model's —
AppealNet's accuracy-constrained operating point — found on the first half of the images and
reported on the second half, which are the frames the harness replays.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from dvfo_core.errors import ConfigError
from dvfo_core.evaluation.baselines import AppealData

#: Test images per model (half to pick the threshold, half replayed as frames).
N_IMAGES = 600


@torch.no_grad()
def _predict(model: str, data: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from dvfo_core.split.checkpoint import load_checkpoint, shipped_checkpoint
    from dvfo_core.split.data import load_dataset

    net = load_checkpoint(shipped_checkpoint(model)).net.eval()
    ds = load_dataset(data, net.config.image_size).test
    n = min(n, len(ds))
    xs = torch.stack([ds[i][0] for i in range(n)])
    ys = np.array([ds[i][1] for i in range(n)])
    probs = torch.cat([torch.softmax(net(xs[i : i + 100]), dim=1) for i in range(0, n, 100)]).numpy()
    return probs.max(axis=1), probs.argmax(axis=1), ys


def measure(
    edge_model: str, cloud_model: str, data: str = "mnist", n: int = N_IMAGES, max_drop: float = 0.01
) -> AppealData:
    """Confidences/correctness of both models on ``n`` test images and the appeal threshold."""
    torch.set_num_threads(1)
    conf, edge_pred, y = _predict(edge_model, data, n)
    _, cloud_pred, y2 = _predict(cloud_model, data, n) if cloud_model != edge_model else (conf, edge_pred, y)
    if not np.array_equal(y, y2):
        raise ConfigError(f"{edge_model} and {cloud_model} were evaluated on different images")
    edge_ok, cloud_ok = edge_pred == y, cloud_pred == y
    half = len(y) // 2
    target = cloud_ok[:half].mean() - max_drop
    threshold = 1.0
    for th in np.unique(np.concatenate([[0.0], conf[:half]])):
        combined = np.where(conf[:half] >= th, edge_ok[:half], cloud_ok[:half]).mean()
        if combined >= target:
            threshold = float(th)
            break
    return AppealData(
        confidence=tuple(float(c) for c in conf[half:]),
        edge_correct=tuple(bool(b) for b in edge_ok[half:]),
        cloud_correct=tuple(bool(b) for b in cloud_ok[half:]),
        threshold=threshold,
        edge_model=edge_model,
    )


def load_or_measure(edge_model: str, cloud_model: str, cache: Path, data: str = "mnist") -> AppealData:
    """:func:`measure`, cached as JSON in ``cache``."""
    path = cache / f"appeal__{edge_model}__{cloud_model}__{data}.json"
    if path.is_file():
        return AppealData(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(path.read_text()).items()}
        )
    got = measure(edge_model, cloud_model, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(got)))
    return got
