"""One-way latency of a FeatureMap over Zenoh + mutual TLS (through a router) against the DDS adapter.

Sizes 10 KB, 100 KB and 1 MB (the ``data`` payload of a ``dvfo_msgs/FeatureMap``), on loopback,
in one run:

* ``dds``: :class:`dvfo_core.runtime.dds.DdsNode` publisher -> subscriber in another process
  (reliable, keep last 10; the shipped loopback Cyclone configuration), as the nodes use it;
* ``zenoh_tls``: the same message serialised with the same serialiser (CDR), sent by a robot's
  :class:`~dvfo_core.link.zenoh_link.RobotLink` through a router process (mutual TLS, ACL) to a
  :class:`~dvfo_core.link.zenoh_link.WorkerLink` in another process, which deserialises it.

Both receivers are event driven (the DDS executor's wait set; a blocking Zenoh channel), so the
numbers are the link's; the nodes poll their Zenoh channel every 2 ms (docs/link.md). Latency is
receive time minus send time on the shared monotonic clock, messages paced so that latency, not
queueing, is measured.

Prints JSON, then a one-line summary with the Zenoh/DDS ratio of the p50 latencies at 100 KB (target
<= 1.5). Usage: ``python bench/link.py [--quick] [--json OUT]``
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from report_io import emit_json

SIZES = {"10KB": 10_000, "100KB": 100_000, "1MB": 1_000_000}
TOPIC = "/bench/link"
TYPE = "dvfo_msgs/msg/FeatureMap"
WARMUP = 20  #: messages sent and not counted, on both links


def _message(size: int, seq: int):
    from dvfo_core.runtime.msgs import message_class

    msg = message_class(TYPE)(data=np.zeros(size, np.uint8))
    msg.frame_seq = seq
    sec, nsec = divmod(time.monotonic_ns(), 1_000_000_000)
    msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nsec
    return msg


def _latency(msg, now_ns: int) -> tuple[int, int]:
    sent = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
    return int(msg.frame_seq), now_ns - sent


def receive_dds(total: int, timeout_s: float) -> list:
    """Child: take ``total`` FeatureMaps from DDS."""
    from dvfo_core.runtime.dds import DdsNode, Executor

    node = DdsNode("bench_link_rx")
    sink: list = []
    node.subscribe(TYPE, TOPIC, lambda m: sink.append(_latency(m, time.monotonic_ns())), "default")
    executor = Executor([node], max_wait_s=0.01)
    print("READY", flush=True)
    executor.spin(timeout_s, until=lambda: len(sink) >= total)
    return sink


def receive_zenoh(total: int, timeout_s: float, endpoint: str, certs: str) -> list:
    """Child: a worker taking ``total`` FeatureMaps from the router."""
    from dvfo_core.link.certs import worker_identity
    from dvfo_core.link.zenoh_link import WorkerLink, client_config, open_session
    from dvfo_core.runtime.msgs import from_cdr, message_class

    message_class(TYPE)  # built from the .msg files once, before timing (the DDS reader does so too)
    link = WorkerLink(open_session(client_config([endpoint], worker_identity(Path(certs)))))
    sink: list = []
    print("READY", flush=True)
    deadline = time.monotonic() + timeout_s
    while len(sink) < total and time.monotonic() < deadline:
        sample = link._frames.recv()  # blocking: wakes on arrival, as the DDS wait set does
        now = time.monotonic_ns()
        sink.append(_latency(from_cdr(TYPE, sample.payload.to_bytes()), now))
    link.close()
    return sink


def _dds_sender():
    from dvfo_core.runtime.dds import DdsNode

    pub = DdsNode("bench_link_tx").publisher(TYPE, TOPIC, "default")
    return pub.publish, lambda: pub.matched_count() > 0


def _zenoh_sender(endpoint: str, certs: Path):
    from dvfo_core.link.certs import robot_identity
    from dvfo_core.link.zenoh_link import RobotLink, client_config, open_session
    from dvfo_core.runtime.msgs import to_cdr

    link = RobotLink(open_session(client_config([endpoint], robot_identity(certs, "bench"))), "bench")
    return lambda msg: link.send(to_cdr(msg)), lambda: bool(link.workers())


def measure(kind: str, counts: dict[str, int], endpoint: str, certs: Path) -> dict:
    """Send paced FeatureMaps of every size; the child reports each one's one-way latency."""
    total = sum(counts.values()) + WARMUP
    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--receiver",
            kind,
            "--total",
            str(total),
            "--endpoint",
            endpoint,
            "--certs",
            str(certs),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "READY"
    send, ready = _dds_sender() if kind == "dds" else _zenoh_sender(endpoint, certs)
    t0 = time.monotonic()
    while not ready() and time.monotonic() - t0 < 10:
        time.sleep(0.01)
    time.sleep(0.3)
    plan: dict[int, str] = {}
    for _ in range(WARMUP):  # first messages on a fresh connection are not what a robot sees later
        seq = len(plan)
        plan[seq] = "warmup"
        send(_message(1000, seq))
        time.sleep(0.005)
    for name, size in SIZES.items():
        for _ in range(counts[name]):
            seq = len(plan)
            plan[seq] = name
            send(_message(size, seq))
            time.sleep(0.005 if size < 1_000_000 else 0.02)
    out, _ = child.communicate(timeout=120)
    received = dict(json.loads(out.strip().splitlines()[-1]))
    results = {}
    for name, size in SIZES.items():
        lat = [received[s] / 1e6 for s, n in plan.items() if n == name and s in received]
        results[name] = {
            "bytes": size,
            "sent": counts[name],
            "received": len(lat),
            "latency_ms_p50": float(np.percentile(lat, 50)) if lat else None,
            "latency_ms_p99": float(np.percentile(lat, 99)) if lat else None,
        }
    return results


def _free_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tls/127.0.0.1:{s.getsockname()[1]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages (CI smoke run)")
    parser.add_argument("--json", type=Path, help="also write the JSON report here")
    parser.add_argument("--receiver", choices=["dds", "zenoh"], help=argparse.SUPPRESS)
    parser.add_argument("--total", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--certs", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("ROS_DOMAIN_ID", "78")
    if args.receiver:
        receive = receive_dds if args.receiver == "dds" else receive_zenoh
        extra = () if args.receiver == "dds" else (args.endpoint, args.certs)
        print(json.dumps(receive(args.total, 120, *extra)), flush=True)
        return 0
    from dvfo_core.link.certs import init_fleet, issue_robot

    scale = 0.25 if args.quick else 1.0
    counts = {k: max(20, int(v * scale)) for k, v in {"10KB": 400, "100KB": 300, "1MB": 150}.items()}
    with tempfile.TemporaryDirectory() as tmp:
        certs = Path(tmp)
        init_fleet(certs)
        issue_robot(certs, "bench")
        endpoint = _free_endpoint()
        router = subprocess.Popen(
            [sys.executable, "-m", "dvfo_core.link.router", "--certs", tmp, "--listen", endpoint],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert router.stdout is not None and "listening" in router.stdout.readline()
            report = {
                "benchmark": "link",
                "path": "FeatureMap, one way, loopback; zenoh through a router, mutual TLS",
                "dds": measure("dds", counts, endpoint, certs),
                "zenoh_tls": measure("zenoh", counts, endpoint, certs),
            }
        finally:
            router.terminate()
            router.wait(10)
    ratio = {}
    for name in SIZES:
        z, d = report["zenoh_tls"][name]["latency_ms_p50"], report["dds"][name]["latency_ms_p50"]
        ratio[name] = z / d if z and d else None
    report["zenoh_over_dds_p50"] = ratio
    emit_json(report, args.json)
    cells = ", ".join(
        f"{n} {report['zenoh_tls'][n]['latency_ms_p50']:.2f}/{report['dds'][n]['latency_ms_p50']:.2f} ms"
        for n in SIZES
    )
    print(f"link: one-way p50 zenoh+tls/dds {cells}; ratio at 100KB {ratio['100KB']:.2f}x (target <= 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
