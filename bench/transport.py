"""One-way latency and throughput of the DDS adapter between two processes, next to raw Cyclone.

Sizes 1 KB, 100 KB, 1 MB and 4 MB, three paths with the same QoS (reliable, keep last 10) and the
same loopback configuration:

* ``adapter``: ``dvfo_msgs/FeatureMap`` with a ``uint8[]`` payload through
  :class:`dvfo_core.runtime.dds.DdsNode` (our serialiser, executor and callbacks);
* ``raw_cyclonedds_transport``: the same topic written as pre-serialised CDR bytes and taken as
  raw bytes, no Python (de)serialisation at all: Cyclone's own cost, the floor;
* ``raw_cyclonedds_stock_python``: a plain cyclonedds-python struct ``{int64 t; sequence<uint8>}``
  with the library's stock serialiser (what a naive node would get).

The adapter's overhead is reported against the floor. Latency is receive
time minus send time on the shared monotonic clock; messages are paced so that latency, not
queueing, is measured. Throughput is a back-to-back burst.

Where rclpy imports (``.venv-ros/bin/python bench/transport.py``, after ``make setup-ros``), one
more path: ``rclpy_fastdds_to_adapter``, the same message (100 KB and 1 MB) published by an rclpy
node on Fast DDS (rclpy's rosidl message, ``bytes`` payload) and received by the DDS adapter on
Cyclone: the cross-vendor hop of a mixed graph. Without rclpy those rows are not printed.

Prints JSON, then a one-line summary. Usage: ``python bench/transport.py [--quick]``
"""


import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np
from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import int64, sequence, uint8

SIZES = {"1KB": 1_000, "100KB": 100_000, "1MB": 1_000_000, "4MB": 4_000_000}
TOPIC = "/bench/transport"


@dataclass
class RawSample(IdlStruct, typename="bench::RawSample"):
    """The stock-cyclonedds message: a send time and a ``sequence<uint8>`` payload."""

    t: int64
    data: sequence[uint8]


def _seq(head) -> int:
    """The message's sequence number, stored in the first 4 payload bytes."""
    return int.from_bytes(bytes(bytearray(int(b) for b in head)), "little")


def _payload_head(wire: bytes) -> bytes:
    """First 4 payload bytes of a serialised FeatureMap whose payload (the last field) has a size from
    SIZES: those are multiples of 4, so the payload ends the sample and its uint32 length precedes it."""
    for size in SIZES.values():
        if len(wire) > size + 4 and int.from_bytes(wire[-size - 4 : -size], "little") == size:
            return wire[-size : -size + 4]
    raise ValueError("payload length not found")


def _counts(quick: bool) -> dict[str, int]:
    scale = 0.25 if quick else 1.0
    base = {"1KB": 400, "100KB": 300, "1MB": 150, "4MB": 60}
    return {k: max(20, int(v * scale)) for k, v in base.items()}


class _AdapterEnd:
    def __init__(self) -> None:
        from dvfo_core.runtime.dds import DdsNode, Executor

        self.node = DdsNode("bench_transport")
        self.executor = Executor([self.node], max_wait_s=0.01)
        self.cls = self.node.msg("dvfo_msgs/msg/FeatureMap")

    def writer(self):
        pub = self.node.publisher("dvfo_msgs/msg/FeatureMap", TOPIC, "default")
        cls = self.cls

        def send(payload: np.ndarray) -> None:
            msg = cls(data=payload)
            ns = time.monotonic_ns()
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(ns, 1_000_000_000)
            pub.publish(msg)

        return send, pub.matched_count

    def reader(self, sink: list) -> None:
        def on_msg(msg) -> None:
            now = time.monotonic_ns()
            sent = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            sink.append((_seq(msg.data[:4]), now - sent, now))

        self.node.subscribe("dvfo_msgs/msg/FeatureMap", TOPIC, on_msg, "default")

    def spin(self, seconds: float) -> None:
        self.executor.spin(seconds)


class _RawEnd:
    def __init__(self) -> None:
        from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState, WaitSet
        from cyclonedds.topic import Topic

        from dvfo_core.runtime.dds import participant, to_dds_qos
        from dvfo_core.runtime.qos import parse_qos

        self.dp = participant()
        self.qos = to_dds_qos(parse_qos("default"))
        self.topic = Topic(self.dp, "raw_bench_transport", RawSample)
        self._rc, self._ws = ReadCondition, WaitSet
        self._mask = SampleState.Any | ViewState.Any | InstanceState.Any
        self.reader_obj = None
        self.sink: list = []

    def writer(self):
        from cyclonedds.pub import DataWriter

        w = DataWriter(self.dp, self.topic, qos=self.qos)

        def send(payload: np.ndarray) -> None:
            w.write(RawSample(t=time.monotonic_ns(), data=payload.tolist()))

        return send, lambda: len(w.get_matched_subscriptions())

    def reader(self, sink: list) -> None:
        from cyclonedds.sub import DataReader

        self.reader_obj = DataReader(self.dp, self.topic, qos=self.qos)
        self.ws = self._ws(self.dp)
        self.ws.attach(self._rc(self.reader_obj, self._mask))
        self.sink = sink

    def spin(self, seconds: float) -> None:
        from cyclonedds.util import duration

        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.ws.wait(duration(milliseconds=10))
            for s in self.reader_obj.take(N=64):
                if isinstance(s, RawSample):
                    now = time.monotonic_ns()
                    self.sink.append((_seq(s.data[:4]), now - s.t, now))


class _FloorEnd(_AdapterEnd):
    """Cyclone's transport alone: pre-serialised CDR bytes in, raw bytes out, no Python (de)serialiser.

    Same topic type and QoS as the adapter; only the send time in the header is patched per message.
    """

    def writer(self):
        from cyclonedds._clayer import ddspy_write

        pub = self.node.publisher("dvfo_msgs/msg/FeatureMap", TOPIC, "default")
        cache: dict[int, bytearray] = {}

        def send(payload: np.ndarray) -> None:
            wire = cache.get(payload.size)
            if wire is None:
                ser = self.cls(data=payload).serialize()
                wire = cache[payload.size] = bytearray(ser.ljust((len(ser) + 3) & ~3, b"\0"))
                cache[-payload.size] = len(ser) - payload.size  # type: ignore[assignment]
            at = cache[-payload.size]
            wire[at : at + 4] = payload[:4].tobytes()
            sec, nsec = divmod(time.monotonic_ns(), 1_000_000_000)
            wire[4:12] = sec.to_bytes(4, "little", signed=True) + nsec.to_bytes(4, "little")
            ddspy_write(pub._writer._ref, bytes(wire))

        return send, pub.matched_count

    def reader(self, sink: list) -> None:
        from cyclonedds._clayer import ddspy_take

        sub = self.node.subscribe("dvfo_msgs/msg/FeatureMap", TOPIC, lambda m: None, "default")
        self.node.subscriptions.remove(sub)  # this end takes raw bytes itself
        self._reader, self._sink = sub.reader, sink
        self._take = ddspy_take

    def spin(self, seconds: float) -> None:
        from cyclonedds.core import InstanceState, SampleState, ViewState

        mask = SampleState.Any | ViewState.Any | InstanceState.Any
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            got = self._take(self._reader._ref, mask, 64)
            if not got:
                time.sleep(0.0005)
            for data, info in got:
                if info.valid_data:
                    now = time.monotonic_ns()
                    sec = int.from_bytes(data[4:8], "little", signed=True)
                    nsec = int.from_bytes(data[8:12], "little")
                    self._sink.append((_seq(_payload_head(data)), now - (sec * 1_000_000_000 + nsec), now))


class _RclpyEnd:
    """The publishing end on rclpy (Fast DDS): what an rclpy node sends to the DDS adapter."""

    def __init__(self) -> None:
        from dvfo_core.runtime.ros import RosNode

        self.node = RosNode("bench_transport_rclpy")
        self.cls = self.node.msg("dvfo_msgs/msg/FeatureMap")

    def writer(self):
        pub = self.node.publisher("dvfo_msgs/msg/FeatureMap", TOPIC, "default")
        cls = self.cls

        def send(payload: np.ndarray) -> None:
            msg = cls()
            msg.data = payload.tobytes()
            ns = time.monotonic_ns()
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(ns, 1_000_000_000)
            pub.publish(msg)

        # counts the adapter's reader once it receives (a settled match: runtime/matching.py)
        return send, lambda: self.node.subscriber_count(pub)


def _end(kind: str) -> _AdapterEnd | _RawEnd | _RclpyEnd:
    return {"adapter": _AdapterEnd, "raw": _RawEnd, "floor": _FloorEnd, "rclpy": _RclpyEnd}[kind]()


def rclpy_available() -> bool:
    """Whether this interpreter has rclpy and the project's rosidl messages (``.venv-ros``)."""
    try:
        import rclpy  # noqa: F401

        import dvfo_msgs.msg  # noqa: F401
    except ImportError:
        return False
    return True


def run_subscriber(kind: str, total: int, timeout_s: float) -> None:
    """Child: receive ``total`` messages (or time out) and print their (latency, time) pairs."""
    end = _end(kind)
    sink: list = []
    end.reader(sink)
    print("READY", flush=True)
    deadline = time.monotonic() + timeout_s
    while len(sink) < total and time.monotonic() < deadline:
        end.spin(0.05)
    print(json.dumps(sink), flush=True)


def measure(kind: str, counts: dict[str, int], reader: str | None = None) -> dict:
    """Publish the paced and burst series (sizes of ``counts``) from a ``kind`` end and collect the
    receive times of a child process's ``reader`` end (default: the same kind)."""
    sizes = {name: SIZES[name] for name in counts}
    burst = {k: max(10, v // 2) for k, v in counts.items()}
    total = sum(counts.values()) + sum(burst.values())
    child = subprocess.Popen(
        [sys.executable, __file__, "--subscriber", reader or kind, "--total", str(total)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "READY"
    end = _end(kind)
    send, matched = end.writer()
    t0 = time.monotonic()
    while matched() == 0 and time.monotonic() - t0 < 30:
        time.sleep(0.01)
    time.sleep(0.3)
    plan: list[tuple[str, str, int]] = []
    rng = np.random.default_rng(0)
    for name, size in sizes.items():
        payload = rng.integers(0, 256, size, dtype=np.uint8)
        for _ in range(counts[name]):
            payload[:4] = np.frombuffer(len(plan).to_bytes(4, "little"), np.uint8)
            send(payload)
            plan.append((name, "paced", size))
            time.sleep(0.004 if size < 1_000_000 else 0.02)
        for _ in range(burst[name]):
            payload[:4] = np.frombuffer(len(plan).to_bytes(4, "little"), np.uint8)
            send(payload)
            plan.append((name, "burst", size))
        time.sleep(0.3)
    out, _ = child.communicate(timeout=120)
    received = {seq: (lat_ns, t_ns) for seq, lat_ns, t_ns in json.loads(out.strip().splitlines()[-1])}
    results: dict = {}
    for name, size in sizes.items():
        idx_paced = [i for i, p in enumerate(plan) if p[0] == name and p[1] == "paced"]
        idx_burst = [i for i, p in enumerate(plan) if p[0] == name and p[1] == "burst"]
        lat = [received[i][0] / 1e6 for i in idx_paced if i in received]
        burst_times = [received[i][1] for i in idx_burst if i in received]
        span_s = (max(burst_times) - min(burst_times)) / 1e9 if len(burst_times) > 1 else 0.0
        rate = (len(burst_times) - 1) / span_s if span_s > 0 else None
        results[name] = {
            "bytes": size,
            "sent": len(idx_paced),
            "received": len(lat),
            "burst_sent": len(idx_burst),
            "burst_received": len(burst_times),
            "latency_ms_p50": float(np.percentile(lat, 50)) if lat else None,
            "latency_ms_p99": float(np.percentile(lat, 99)) if lat else None,
            "throughput_msgs_per_s": rate,
            "throughput_mbit_per_s": rate * size * 8 / 1e6 if rate is not None else None,
        }
    return results


def serialization_ms(repeats: int = 50) -> dict:
    """(De)serialisation time of a 1 MB uint8[] field through the adapter's message classes."""
    from cyclonedds.idl._support import Buffer

    from dvfo_core.runtime.msgs import message_class

    cls = message_class("dvfo_msgs/msg/FeatureMap")
    msg = cls(data=np.random.default_rng(1).integers(0, 256, 1_000_000, dtype=np.uint8))
    buffer = Buffer()  # as DdsPublisher does
    wire = msg.serialize(buffer=buffer, use_version_2=False)
    cls.deserialize(wire)
    t0 = time.perf_counter()
    for _ in range(repeats):
        msg.serialize(buffer=buffer, use_version_2=False)
    t1 = time.perf_counter()
    for _ in range(repeats):
        cls.deserialize(wire)
    t2 = time.perf_counter()
    return {"serialize_1MB_ms": (t1 - t0) / repeats * 1e3, "deserialize_1MB_ms": (t2 - t1) / repeats * 1e3}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages (CI smoke run)")
    parser.add_argument("--subscriber", choices=["adapter", "raw", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--total", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("ROS_DOMAIN_ID", "77")
    if args.subscriber:
        run_subscriber(args.subscriber, args.total, timeout_s=120)
        return 0
    counts = _counts(args.quick)
    report = {
        "benchmark": "transport",
        "qos": "reliable, keep last 10",
        "config": os.environ.get("CYCLONEDDS_URI", "shipped loopback"),
        "serialization": serialization_ms(),
        "adapter": measure("adapter", counts),
        "raw_cyclonedds_transport": measure("floor", counts),
        "raw_cyclonedds_stock_python": measure("raw", counts),
    }
    overhead = {}
    for name in SIZES:
        a = report["adapter"][name]["latency_ms_p50"]
        r = report["raw_cyclonedds_transport"][name]["latency_ms_p50"]
        overhead[name] = (a / r - 1.0) * 100 if a and r else None
    report["adapter_overhead_p50_percent"] = overhead
    if rclpy_available():
        cross = {name: counts[name] for name in ("100KB", "1MB")}
        report["rclpy_fastdds_to_adapter"] = measure("rclpy", cross, reader="adapter")
    print(json.dumps(report, indent=2))
    mb = report["adapter"]["1MB"]
    print(
        f"transport: 1MB one-way p50 {mb['latency_ms_p50']:.2f} ms (target < 3 ms), "
        f"adapter vs raw Cyclone transport p50 "
        + ", ".join(f"{k} {v:+.0f}%" for k, v in overhead.items() if v is not None)
        + f"; 1MB (de)serialise {report['serialization']['serialize_1MB_ms']:.2f}/"
        f"{report['serialization']['deserialize_1MB_ms']:.2f} ms"
    )
    if "rclpy_fastdds_to_adapter" in report:
        print(
            "transport: rclpy/Fast DDS -> DDS adapter one-way "
            + ", ".join(
                f"{name} p50 {row['latency_ms_p50']:.2f} ms p99 {row['latency_ms_p99']:.2f} ms"
                f" ({row['received']}/{row['sent']} received)"
                for name, row in report["rclpy_fastdds_to_adapter"].items()
                if row["latency_ms_p50"] is not None
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
