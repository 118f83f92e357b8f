"""What a split checkpoint says about itself, read without torch.

A checkpoint (:func:`dvfo_core.split.checkpoint.save_checkpoint`) is a ``torch.save`` zip whose
``data.pkl`` holds a plain dict: ``format``, ``config`` (model, split, classes, ...),
``weights_dtype``, ``metrics`` and the weights. The governor needs only the split point; loading
the network for that would pull torch (~700 MB of RSS) into a node that decides in numpy.

:func:`read_header` unpickles ``data.pkl`` with a restricted unpickler: the only globals it
accepts are ``collections.OrderedDict`` and torch's tensor/storage rebuild names, which become
inert placeholders (the weights are never read: storages live in other zip members). Anything
else in the pickle is refused, so a hostile file cannot run code here either.
"""

from __future__ import annotations

import functools
import pickle
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvfo_core.errors import ConfigError
from dvfo_core.paths import artifacts_dir

FORMAT = "dvfo-split/1"


class _Opaque:
    """Stands in for a tensor or storage of the checkpoint (never materialised)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass


def _placeholder(*args: Any, **kwargs: Any) -> _Opaque:
    return _Opaque()


class _HeaderUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module == "torch" or module.startswith("torch."):
            return _placeholder if name.startswith("_rebuild") else _Opaque
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a checkpoint")

    def persistent_load(self, pid: Any) -> _Opaque:
        return _Opaque()


@dataclass(frozen=True)
class CheckpointHeader:
    """A checkpoint's metadata: its split config as a plain dict, weight format and metrics."""

    path: Path
    config: dict[str, Any]
    weights_dtype: str = "fp32"
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> str:
        """The zoo model the checkpoint holds."""
        return str(self.config["model"])

    @property
    def split(self) -> str:
        """The split point the checkpoint was fine-tuned at."""
        return str(self.config["split"])


def read_header(path: str | Path) -> CheckpointHeader:
    """The metadata of the checkpoint at ``path`` without loading torch or the weights.

    Raises :class:`~dvfo_core.errors.ConfigError` for a missing file or one that is not a
    ``dvfo-split/1`` checkpoint, with the same wording as
    :func:`~dvfo_core.split.checkpoint.load_checkpoint`.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"checkpoint {path} does not exist")
    try:
        with zipfile.ZipFile(path) as z:
            member = next((n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl"), None)
            if member is None:
                raise ConfigError(f"checkpoint {path} cannot be read: no data.pkl in the archive")
            blob = _HeaderUnpickler(z.open(member)).load()
    except (zipfile.BadZipFile, pickle.UnpicklingError, EOFError, OSError, ValueError) as exc:
        raise ConfigError(f"checkpoint {path} cannot be read: {exc}") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT or not isinstance(blob.get("config"), dict):
        raise ConfigError(
            f"checkpoint {path} is not a {FORMAT} file (a torchvision state_dict? use --weights)"
        )
    config = dict(blob["config"])
    for key in ("model", "split"):
        if not isinstance(config.get(key), str):
            raise ConfigError(f"checkpoint {path}: its config has no {key}")
    metrics = blob.get("metrics", {})
    metrics = dict(metrics) if isinstance(metrics, dict) else {}
    return CheckpointHeader(path, config, str(blob.get("weights_dtype", "fp32")), metrics)


@functools.cache
def shipped_checkpoints(model: str) -> dict[str, Path]:
    """Every fine-tuned checkpoint shipped for ``model`` (``data/<model>_mnist*.pt``), by split point
    (read once: the shipped files do not change while a process runs)."""
    return {read_header(p).split: p for p in sorted(artifacts_dir().glob(f"{model}_mnist*.pt"))}


def shipped_checkpoint(model: str) -> Path:
    """The fine-tuned checkpoint shipped for ``model`` (``data/<model>_mnist.pt``)."""
    path = artifacts_dir() / f"{model}_mnist.pt"
    if not path.is_file():
        shipped = sorted(p.stem.removesuffix("_mnist") for p in artifacts_dir().glob("*_mnist.pt"))
        raise ConfigError(f"no shipped checkpoint for {model!r}; shipped: {', '.join(shipped) or 'none'}")
    return path
