"""Governor decision time: building the observation from telemetry + the policy's numpy forward pass.

This is what the governor node runs per frame (thinking-while-moving: while the previous frame
executes). Measured on this CPU, single thread, after warm-up, over ``--n`` decisions with telemetry
varying as on a real run (``numpy_decision``: telemetry update + observation + the link shield's
route mask + forward + argmax, what the governor node does per frame).
For reference, the forward pass alone in numpy and the same network in torch (what running the
stable-baselines3 model would cost, without its preprocessing) are timed too.

Prints JSON, then a one-line summary. Usage: ``python bench/decision.py [--policy P] [--n 20000]``
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from dvfo_core.learning.observation import FrameTelemetry, ObservationBuilder
from dvfo_core.learning.policy import Policy
from dvfo_core.learning.shield import LinkShield
from dvfo_core.paths import artifacts_dir
from dvfo_core.world.build import WorldSpec, build_world


def _default_policy() -> Path:
    path = artifacts_dir() / "policies" / "jetson-nano__MAXN__resnet18.npz"
    if not path.is_file():
        sys.exit(f"no shipped policy {path}; pass --policy")
    return path


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _percentiles(samples_s: list[float]) -> dict[str, float]:
    ms = np.array(samples_s) * 1e3
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "mean_ms": float(ms.mean()),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--policy", type=Path, help="policy file (default: the first shipped dvfo policy)")
    ap.add_argument("--n", type=int, default=20_000, help="decisions to time (default 20000)")
    args = ap.parse_args(argv)
    path = args.policy or _default_policy()
    policy = Policy.load(path)
    meta = policy.meta
    builder = ObservationBuilder(meta.context, meta.table)
    world = build_world(WorldSpec(meta.device, meta.model, meta.split, meta.power_mode))
    shield = LinkShield(meta.table, world.routes, world.cost.deadline_s)
    rng = np.random.default_rng(0)
    t_ref_ms = meta.context.t_ref_s * 1e3
    tels = [
        FrameTelemetry(
            bandwidth_mbps=float(np.exp(rng.uniform(np.log(0.3), np.log(16)))),
            rtt_ms=float(rng.uniform(5, 80)),
            head_ms=t_ref_ms * 0.5,
            edge_tail_ms=t_ref_ms * 0.5,
            transmit_ms=float(rng.uniform(0, 200)),
            cloud_ms=1.0,
            latency_ms=float(rng.uniform(0.8, 3.0) * t_ref_ms),
            deadline_missed=bool(rng.random() < 0.1),
            power_w=float(rng.uniform(2, 10)),
            energy_j=float(rng.uniform(0.1, 1.0)),
            temperature_c=50.0,
        )
        for _ in range(256)
    ]
    action = policy.safe_action
    for i in range(500):  # warm-up
        builder.update(tels[i % 256])
        action = policy.act(builder.vector(0.5, action)).action
    times = []
    fallbacks = 0
    for i in range(args.n):
        tel = tels[i % 256]
        t0 = time.perf_counter()
        builder.update(tel)
        d = policy.act(builder.vector(0.5, action), shield.mask(tel.bandwidth_mbps, tel.rtt_ms))
        times.append(time.perf_counter() - t0)
        action = d.action
        fallbacks += d.safe_fallback
    obs = builder.vector(0.5, action)
    ftimes = []
    for _ in range(min(args.n, 5000)):
        t0 = time.perf_counter()
        policy.act(obs)
        ftimes.append(time.perf_counter() - t0)
    result = {
        "policy": str(path),
        "device": meta.device,
        "model": meta.model,
        "head": meta.head,
        "actions": meta.table.size,
        "layers": [list(w.shape) for w in policy.weights],
        "n": args.n,
        "cpu": _cpu_name(),
        "numpy_decision": _percentiles(times),
        "numpy_forward_only": _percentiles(ftimes),
        "fallbacks": fallbacks,
    }
    try:
        import torch

        torch.set_num_threads(1)
        layers = []
        for j, (w, b) in enumerate(zip(policy.weights, policy.biases, strict=True)):
            lin = torch.nn.Linear(*w.shape)
            lin.weight.data = torch.from_numpy(w.T.copy())
            lin.bias.data = torch.from_numpy(b.copy())
            layers.append(lin)
            if j < len(policy.weights) - 1:
                layers.append(torch.nn.ReLU())
        net = torch.nn.Sequential(*layers).eval()
        obs = torch.from_numpy(builder.vector(0.5, action)).unsqueeze(0)
        ttimes = []
        with torch.no_grad():
            for _ in range(200):
                net(obs).argmax()
            for _ in range(min(args.n, 5000)):
                t0 = time.perf_counter()
                net(obs).argmax()
                ttimes.append(time.perf_counter() - t0)
        result["torch_forward_reference"] = _percentiles(ttimes)
    except ImportError:
        pass
    print(json.dumps(result, indent=1))
    d = result["numpy_decision"]
    ok = "PASS" if d["p99_ms"] < 1.0 else "FAIL"
    print(
        f"decision ({meta.head}, {meta.table.size} actions): p50 {d['p50_ms']:.3f} ms, "
        f"p99 {d['p99_ms']:.3f} ms, max {d['max_ms']:.3f} ms over {args.n} -> p99 < 1 ms {ok}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
