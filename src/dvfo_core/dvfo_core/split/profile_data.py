"""Split profiles as data: the torch-free half of :mod:`dvfo_core.split.profile`.

The classes a :class:`SplitProfile` is made of, its JSON form and the shipped files' loading live
here, so the governor, the twin and the training environment read profiles without importing
torch. Building a profile (running the real modules) is :func:`dvfo_core.split.profile.build_split_profile`.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvfo_core.errors import ConfigError
from dvfo_core.paths import artifacts_dir
from dvfo_core.workload import LayerCost, Workload

FORMAT = "dvfo-split-profile/1"
DEFAULT_PROFILE_XIS = tuple(i / 8 for i in range(9))
PROFILE_DIR = "profiles"


def workload_to_json(w: Workload) -> dict[str, Any]:
    """Compact JSON form: ``{"name", "layers": [[name, kind, flops, param_b, in_b, out_b], ...]}``."""
    return {
        "name": w.name,
        "layers": [[c.name, c.kind, c.flops, c.param_bytes, c.input_bytes, c.output_bytes] for c in w.layers],
    }


def workload_from_json(d: dict[str, Any]) -> Workload:
    """Inverse of :func:`workload_to_json`."""
    layers = tuple(
        LayerCost(str(n), str(k), float(f), int(p), int(i), int(o)) for n, k, f, p, i, o in d["layers"]
    )
    return Workload(str(d["name"]), layers)


@dataclass(frozen=True)
class XiProfile:
    """Costs and accuracy at one ``xi``."""

    xi: float
    secondary_channels: int
    edge: Workload
    cloud: Workload
    payload_bytes: float
    raw_payload_bytes: float  #: before compression
    accuracy: float | None
    fallback_accuracy: float | None
    fallback_edge: Workload


@dataclass(frozen=True)
class SplitPointProfile:
    """One split point for a Neurosurgeon-style baseline (whole feature map offloaded)."""

    split: str
    feature_shape: tuple[int, ...]
    head_edge: Workload
    tail: Workload
    raw_fp32_bytes: int
    payload_bytes: float  #: mean compressed bytes of the whole map with the profile's encoding


@dataclass
class SplitProfile:
    """Profile of one model at one split (see the module docstring)."""

    model: str
    split: str
    encoding: str
    image_size: int
    cost_image_size: int
    feature_shape: tuple[int, ...]
    levels: list[XiProfile]
    full_local: Workload
    full_local_accuracy: float | None
    cloud_only_payload_bytes: float
    cloud_only_raw_bytes: int
    split_points: list[SplitPointProfile] = field(default_factory=list)
    data: str = ""
    n_accuracy: int = 0
    n_payload_images: int = 0
    trained: bool = True  #: False: random-init weights (payload and costs only, accuracy None)
    plain_local_accuracy: float | None = None  #: top-1 of the plain model (no SCA) with these weights

    @property
    def xis(self) -> list[float]:
        """The ``xi`` levels profiled."""
        return [lv.xi for lv in self.levels]

    def at(self, xi: float) -> XiProfile:
        """The level for ``xi`` (must be one of :attr:`xis`, to 1e-6)."""
        for lv in self.levels:
            if abs(lv.xi - xi) < 1e-6:
                return lv
        raise ConfigError(f"{self.model}/{self.split}: xi {xi} not profiled; levels {self.xis}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict."""
        return {
            "model": self.model,
            "split": self.split,
            "encoding": self.encoding,
            "image_size": self.image_size,
            "cost_image_size": self.cost_image_size,
            "feature_shape": list(self.feature_shape),
            "full_local": workload_to_json(self.full_local),
            "full_local_accuracy": self.full_local_accuracy,
            "cloud_only_payload_bytes": self.cloud_only_payload_bytes,
            "cloud_only_raw_bytes": self.cloud_only_raw_bytes,
            "data": self.data,
            "n_accuracy": self.n_accuracy,
            "n_payload_images": self.n_payload_images,
            "trained": self.trained,
            "plain_local_accuracy": self.plain_local_accuracy,
            "levels": [
                {
                    "xi": lv.xi,
                    "secondary_channels": lv.secondary_channels,
                    "edge": workload_to_json(lv.edge),
                    "cloud": workload_to_json(lv.cloud),
                    "payload_bytes": lv.payload_bytes,
                    "raw_payload_bytes": lv.raw_payload_bytes,
                    "accuracy": lv.accuracy,
                    "fallback_accuracy": lv.fallback_accuracy,
                    "fallback_edge": workload_to_json(lv.fallback_edge),
                }
                for lv in self.levels
            ],
            "split_points": [
                {
                    "split": sp.split,
                    "feature_shape": list(sp.feature_shape),
                    "head_edge": workload_to_json(sp.head_edge),
                    "tail": workload_to_json(sp.tail),
                    "raw_fp32_bytes": sp.raw_fp32_bytes,
                    "payload_bytes": sp.payload_bytes,
                }
                for sp in self.split_points
            ],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SplitProfile:
        """Inverse of :meth:`to_dict`."""
        try:
            levels = [
                XiProfile(
                    float(lv["xi"]),
                    int(lv["secondary_channels"]),
                    workload_from_json(lv["edge"]),
                    workload_from_json(lv["cloud"]),
                    float(lv["payload_bytes"]),
                    float(lv["raw_payload_bytes"]),
                    lv["accuracy"],
                    lv["fallback_accuracy"],
                    workload_from_json(lv["fallback_edge"]),
                )
                for lv in d["levels"]
            ]
            points = [
                SplitPointProfile(
                    sp["split"],
                    tuple(sp["feature_shape"]),
                    workload_from_json(sp["head_edge"]),
                    workload_from_json(sp["tail"]),
                    int(sp["raw_fp32_bytes"]),
                    float(sp["payload_bytes"]),
                )
                for sp in d["split_points"]
            ]
            return cls(
                model=d["model"],
                split=d["split"],
                encoding=d["encoding"],
                image_size=int(d["image_size"]),
                cost_image_size=int(d["cost_image_size"]),
                feature_shape=tuple(d["feature_shape"]),
                levels=levels,
                full_local=workload_from_json(d["full_local"]),
                full_local_accuracy=d["full_local_accuracy"],
                cloud_only_payload_bytes=float(d["cloud_only_payload_bytes"]),
                cloud_only_raw_bytes=int(d["cloud_only_raw_bytes"]),
                split_points=points,
                data=d.get("data", ""),
                n_accuracy=int(d.get("n_accuracy", 0)),
                n_payload_images=int(d.get("n_payload_images", 0)),
                trained=bool(d.get("trained", True)),
                plain_local_accuracy=d.get("plain_local_accuracy"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"split profile is malformed: {exc!r}") from None


def profile_path(model: str, directory: Path | None = None) -> Path:
    """Where the profile of ``model`` lives (``data/profiles/<model>.json.gz``, gzip-compressed JSON)."""
    return (directory or artifacts_dir() / PROFILE_DIR) / f"{model}.json.gz"


def save_profiles(profiles: Sequence[SplitProfile], path: Path) -> Path:
    """Write profiles of one model (one per split) to ``path`` (gzip-compressed if it ends in ``.gz``)."""
    models = {p.model for p in profiles}
    if len(models) != 1:
        raise ConfigError(f"one model per profile file, got {sorted(models)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {"format": FORMAT, "model": models.pop(), "profiles": {p.split: p.to_dict() for p in profiles}}
    text = json.dumps(blob, separators=(",", ":")).encode()
    path.write_bytes(gzip.compress(text, mtime=0) if path.suffix == ".gz" else text)
    return path


def load_profile(model: str, path: str | Path | None = None) -> dict[str, SplitProfile]:
    """Profiles of ``model`` keyed by split (the shipped file unless ``path`` is given)."""
    p = Path(path) if path is not None else profile_path(model)
    if not p.is_file():
        raise ConfigError(
            f"no split profile {p} for {model!r}; shipped: {', '.join(shipped_profiles()) or 'none'}"
        )
    try:
        raw = p.read_bytes()
        blob = json.loads(gzip.decompress(raw) if p.suffix == ".gz" else raw)
    except (OSError, EOFError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{p}: not a readable profile ({exc})") from None
    if blob.get("format") != FORMAT or blob.get("model") != model:
        raise ConfigError(f"{p}: not a {FORMAT} file for {model!r}")
    return {split: SplitProfile.from_dict(d) for split, d in blob["profiles"].items()}


def shipped_profiles() -> list[str]:
    """Models with a shipped profile."""
    return sorted(q.name.removesuffix(".json.gz") for q in (artifacts_dir() / PROFILE_DIR).glob("*.json.gz"))


def markdown_table(profile: SplitProfile) -> str:
    """Markdown table of one profile: work, bytes per frame and compression per ``xi``."""
    raw_per_channel = 4 * math.prod(profile.feature_shape[1:])
    acc = "" if profile.trained else " (random-init weights: accuracy not measured)"
    lines = [
        f"**{profile.model}** split `{profile.split}`, feature map {list(profile.feature_shape)} at "
        f"{profile.cost_image_size}px, {profile.encoding}, mean over {profile.n_payload_images} images{acc}; "
        f"cloud-only (uint8 RGB + zstd): {profile.cloud_only_payload_bytes:,.0f} B of "
        f"{profile.cloud_only_raw_bytes:,} B",
        "",
        "| xi | offloaded ch | edge GFLOP | cloud GFLOP | bytes/frame | vs fp32 | vs raw int | top-1 % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for lv in profile.levels:
        fp32 = lv.secondary_channels * raw_per_channel
        ratio = f"{fp32 / lv.payload_bytes:.1f}x" if lv.payload_bytes else "-"
        ratio_q = f"{lv.raw_payload_bytes / lv.payload_bytes:.2f}x" if lv.payload_bytes else "-"
        top1 = f"{lv.accuracy * 100:.1f}" if lv.accuracy is not None else "n/a"
        lines.append(
            f"| {lv.xi:g} | {lv.secondary_channels} | {lv.edge.flops / 1e9:.3f} | "
            f"{lv.cloud.flops / 1e9:.3f} | {lv.payload_bytes:,.0f} | {ratio} | {ratio_q} | {top1} |"
        )
    lines += [
        "",
        "| split point (whole map sent) | shape | head GFLOP | tail GFLOP | fp32 B | bytes/frame | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for sp in profile.split_points:
        lines.append(
            f"| `{sp.split}` | {list(sp.feature_shape)} | {sp.head_edge.flops / 1e9:.3f} | "
            f"{sp.tail.flops / 1e9:.3f} | {sp.raw_fp32_bytes:,} | {sp.payload_bytes:,.0f} | "
            f"{sp.raw_fp32_bytes / sp.payload_bytes:.1f}x |"
        )
    return "\n".join(lines)
