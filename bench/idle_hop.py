"""One-way latency of a small message between two processes, by how often it is sent.

The same ``std_msgs/Header`` through the DDS adapter, sent every 200, 20 and 2 ms to a receiver
in another process: how much of a hop is waking an idle receiver rather than moving bytes (what
dominates the middleware share of ``bench/pipeline.py`` at camera rates). Prints JSON, then a
one-line summary. Usage: ``python bench/idle_hop.py [--messages N]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from dvfo_core.runtime.dds import DdsNode, Executor
from dvfo_core.runtime.port import stamp_to_ns

TOPIC = "/bench/idle_hop"


def receive(seconds: float) -> None:
    """Child process: print each message's one-way latency (ms), one per line."""
    node = DdsNode("idle_hop_rx")
    node.subscribe(
        "std_msgs/msg/Header",
        TOPIC,
        lambda m: print((time.time_ns() - stamp_to_ns(m.stamp)) / 1e6, flush=True),
    )
    Executor([node]).spin(seconds)


def measure(period_ms: float, messages: int) -> dict:
    """Send ``messages`` headers every ``period_ms`` to a fresh receiver process."""
    seconds = 5.0 + messages * period_ms / 1e3
    rx = subprocess.Popen(
        [sys.executable, __file__, "--receive", str(seconds)], stdout=subprocess.PIPE, text=True
    )
    node = DdsNode("idle_hop_tx")
    pub = node.publisher("std_msgs/msg/Header", TOPIC)
    end = time.monotonic() + 30
    while pub.matched_count() == 0 and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(0.5)
    for _ in range(messages):
        msg = pub.msg_class()
        msg.stamp = node.stamp()
        pub.publish(msg)
        time.sleep(period_ms / 1e3)
    out, _ = rx.communicate(timeout=seconds + 30)
    node.destroy()
    lat = np.array([float(x) for x in out.split()][2:])  # the first ones still pay for discovery
    return {
        "period_ms": period_ms,
        "received": int(lat.size + 2),
        "latency_ms_p50": float(np.median(lat)),
        "latency_ms_p90": float(np.percentile(lat, 90)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--receive", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("ROS_DOMAIN_ID", "77")
    if args.receive is not None:
        receive(args.receive)
        return 0
    runs = [measure(p, args.messages) for p in (200.0, 20.0, 2.0)]
    print(json.dumps({"benchmark": "idle_hop", "runs": runs}, indent=2))
    print(
        "idle_hop: one-way p50 "
        + ", ".join(f"{r['latency_ms_p50']:.2f} ms every {r['period_ms']:g} ms" for r in runs)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
