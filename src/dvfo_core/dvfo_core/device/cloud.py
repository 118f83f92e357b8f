"""The cloud server that runs the offloaded tail: a GPU, modelled from measured batch-1 latencies.

``config/cloud/<name>.yaml`` holds measured points (a torchvision model or its tail: FLOPs, number of
executed leaf layers, p50 latency). At batch 1 a GPU is launch-bound, so the model is

    t = t0 + t_layer * n_layers + flops / throughput

with the three non-negative coefficients fitted by least squares to the points when loaded. ``t0`` is
the fixed launch/synchronisation overhead. The points file is produced by
``python -m dvfo_core.device.cloud derive cloud_tail_h100.json > config/cloud/h100.yaml``, which
profiles the same graphs the measurement ran (torchvision, random weights).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from dvfo_core.errors import ConfigError
from dvfo_core.paths import config_dir
from dvfo_core.workload import Workload


@dataclass(frozen=True)
class CloudPoint:
    """One measured graph: its FLOPs, executed leaf layers and p50 latency."""

    label: str
    flops: float
    layers: int
    latency_s: float


def _nnls3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Non-negative least squares for a handful of columns, by trying every active set."""
    best, best_err = np.zeros(a.shape[1]), float(np.sum(b * b))
    for k in range(1, a.shape[1] + 1):
        for cols in itertools.combinations(range(a.shape[1]), k):
            x, *_ = np.linalg.lstsq(a[:, cols], b, rcond=None)
            if np.any(x < 0):
                continue
            err = float(np.sum((a[:, cols] @ x - b) ** 2))
            if err < best_err:
                best_err, best = err, np.zeros(a.shape[1])
                best[list(cols)] = x
    return best


class CloudModel:
    """Batch-1 latency of a workload on the cloud GPU."""

    def __init__(self, name: str, gpu: str, points: list[CloudPoint], source: str) -> None:
        if len(points) < 3:
            raise ConfigError(f"cloud model {name}: need at least 3 measured points, got {len(points)}")
        self.name, self.gpu, self.points, self.source = name, gpu, points, source
        a = np.array([[1.0, p.layers, p.flops] for p in points])
        b = np.array([p.latency_s for p in points])
        # relative errors: weight each point by 1/latency
        w = 1.0 / b
        self.t0_s, self.layer_s, self.s_per_flop = (float(v) for v in _nnls3(a * w[:, None], b * w))

    @classmethod
    def load(cls, name: str = "h100", precision: str = "fp32") -> CloudModel:
        """Load ``config/cloud/<name>.yaml`` (or a path) using the ``precision`` measurements."""
        path = Path(name) if name.endswith((".yaml", ".yml")) else config_dir() / "cloud" / f"{name}.yaml"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError:
            known = sorted(p.stem for p in (config_dir() / "cloud").glob("*.yaml"))
            raise ConfigError(
                f"unknown cloud model {name!r} ({path} not readable; known: {', '.join(known)})"
            ) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
        try:
            points = [
                CloudPoint(f"{p['model']}/{p['part']}", float(p["flops"]), int(p["layers"]),
                           float(p[f"p50_ms_{precision}"]) / 1e3)
                for p in data["points"]
            ]
            return cls(str(data["name"]), str(data["gpu"]), points, str(data["source"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: malformed cloud model ({exc!r} missing or wrong)") from None

    def latency_s(self, flops: float, layers: int) -> float:
        """Latency of a graph of ``flops`` and ``layers`` executed leaf layers."""
        if layers <= 0:
            return 0.0
        return self.t0_s + self.layer_s * layers + self.s_per_flop * flops

    def tail_latency_s(self, workload: Workload) -> float:
        """Latency of the offloaded tail ``workload`` (0 when it is empty)."""
        return self.latency_s(workload.flops, len(workload.layers))


def _split(name: str, m):  # the graphs measured by shared/tools/gpu_tail_bench.py
    import torch

    if name.startswith("resnet"):
        head = torch.nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2)
        tail = torch.nn.Sequential(m.layer3, m.layer4, m.avgpool, torch.nn.Flatten(1), m.fc)
        return head, tail
    if name == "vit_b_16":
        k = len(m.encoder.layers) // 2

        class Head(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.m = m

            def forward(self, x):
                x = m._process_input(x)
                x = torch.cat([m.class_token.expand(x.shape[0], -1, -1), x], dim=1) + m.encoder.pos_embedding
                return m.encoder.layers[:k](x)

        class Tail(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.layers, self.ln, self.heads = m.encoder.layers[k:], m.encoder.ln, m.heads

            def forward(self, x):
                return self.heads(self.ln(self.layers(x))[:, 0])

        return Head(), Tail()
    k = len(m.features) // 2
    pool = m.avgpool if name == "vgg16" else torch.nn.AdaptiveAvgPool2d(1)
    return m.features[:k], torch.nn.Sequential(m.features[k:], pool, torch.nn.Flatten(1), m.classifier)


def derive(json_path: Path) -> dict:
    """Build the points file from a ``gpu_tail_bench.py`` JSON (profiles the same graphs here)."""
    import torch
    import torchvision

    from dvfo_core.workload import profile_layers

    raw = json.loads(Path(json_path).read_text(encoding="utf-8"))
    torch.set_num_threads(1)
    points = []
    for name, r in raw["models"].items():
        m = torchvision.models.get_model(name, weights=None).eval()
        x = torch.randn(1, 3, 224, 224)
        head, tail = _split(name, m)
        with torch.no_grad():
            fm = head(x)
        for part, module, inp in (("full", m, x), ("tail", tail, fm)):
            w = profile_layers(module, inp)
            points.append({
                "model": name, "part": part, "flops": round(w.flops), "layers": len(w.layers),
                "p50_ms_fp32": round(r[f"{part}_fp32"]["p50_ms"], 4),
                "p50_ms_fp16": round(r[f"{part}_fp16"]["p50_ms"], 4),
            })
    return {
        "name": "h100",
        "gpu": raw["gpu"],
        "source": (f"measured once on {raw['gpu']} (torch {raw['torch']}), batch 1, 224x224, random weights, "
                   "CUDA events, p50 of 200 runs (DVFO shared reference cloud_tail_h100.json, "
                   "cloud-gpu.md); "
                   "flops and layers: dvfo_core.workload.profile_layers of the same graphs"),
        "idle_power_w": raw["idle"]["power_w"],
        "points": points,
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m dvfo_core.device.cloud derive JSON``: print the points YAML."""
    ap = argparse.ArgumentParser(description="cloud model tools")
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("derive", help="points YAML from a gpu_tail_bench.py JSON")
    d.add_argument("json", type=Path)
    s = sub.add_parser("fit", help="print the fitted coefficients and the fit per point")
    s.add_argument("--name", default="h100")
    args = ap.parse_args(argv)
    if args.cmd == "derive":
        yaml.safe_dump(derive(args.json), sys.stdout, sort_keys=False, width=120)
        return 0
    cm = CloudModel.load(args.name)
    print(f"t0={cm.t0_s * 1e3:.3f} ms  per-layer={cm.layer_s * 1e6:.2f} us  "
          f"throughput={1 / cm.s_per_flop / 1e12 if cm.s_per_flop else float('inf'):.1f} TFLOP/s")
    for p in cm.points:
        model_ms = cm.latency_s(p.flops, p.layers) * 1e3
        print(f"{p.label:24s} measured {p.latency_s * 1e3:6.2f} ms  model {model_ms:6.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
