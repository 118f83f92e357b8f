"""Throughput of the tail pool: K simulated robots against 1, 2 and 4 tail workers over Zenoh + TLS.

For each worker count the bench starts a router and that many tail workers on loopback, as
``dvfo launch cloud --link zenoh --workers N`` does (real tail node processes: shipped resnet18
split, CPU, ``config/cloud.yaml`` parameters, one torch thread each: one worker per core), and K
robots in this process, each with its own certificate and its own Zenoh session. Every robot's
camera runs at ``--rate`` Hz and offloads every frame (a real FeatureMap of an MNIST image, xi =
0.5, int8+zstd, about 1 KB) to the next live worker, round robin, as a head does; a robot keeps at
most ``--window`` frames in flight, and a camera frame that finds the window full is not offloaded
(a head would finish it on the edge), so an overloaded pool shows as throughput, not as a queue
that grows for ever. The offered load, K x rate, is above one worker's capacity.

Measured after a warm-up, per worker count: frames answered per second, p50/p99 latency (send to
answer, at the robot), frames offered but not offloaded, and the CPU time each party used (workers,
router, robots) per second of wall time, and the workers' CPU time per frame: throughput is the
cores the workers obtain divided by that cost. On a small machine the robots, the router and
anything else running share the cores with the workers, which caps the scaling: 4 workers on 2
cores cannot be 4x one (``cores``, ``cpu_per_s`` and ``loadavg_1min_at_end`` in the JSON say how much
the workers got).

Prints JSON ``{"workers": {"1": {"frames_per_s": ..., "p99_ms": ...}, "2": ..., "4": ...}, ...}``,
then a one-line summary with the ratio to one worker (target: 2 workers >= 1.3x one).
Usage: ``python bench/fleet.py [--quick] [--json OUT] [--robots K] [--rate HZ] [--window W]``
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from link import _free_endpoint  # bench/link.py: a TLS endpoint on a free loopback port
from report_io import emit_json

os.environ.setdefault("ROS_DOMAIN_ID", "79")  # the workers' /diagnostics stay off other domains
WORKER_ENV = {"OMP_NUM_THREADS": "1"}  #: one torch thread per worker: one worker per core


def _frames(count: int) -> list[dict]:
    """FeatureMap fields of ``count`` MNIST images (xi = 0.5), without robot id and sequence."""
    from dvfo_core.camera import dataset
    from dvfo_core.split.runner import SplitRunner

    runner = SplitRunner.from_checkpoint(model="resnet18")
    frames = []
    for frame, _ in zip(dataset("mnist", 64, 64, loop=False), range(count), strict=False):
        head = runner.head(runner.preprocess(frame.image))
        _, secondary = runner.partition(head, 0.5)
        fields = {"model": runner.model, "split": runner.split, "xi": 0.5, "deadline_ms": 200.0}
        frames.append({**fields, **runner.encode_secondary(head, secondary).to_msg_fields()})
    return frames


class Robot:
    """One simulated robot: a Zenoh session with its certificate, a camera clock, frames in flight."""

    def __init__(self, certs: Path, endpoint: str, robot_id: str, frames: list[dict], window: int) -> None:
        from dvfo_core.link.certs import robot_identity
        from dvfo_core.link.zenoh_link import RobotLink, client_config, open_session
        from dvfo_core.runtime.msgs import message_class

        conf = client_config([endpoint], robot_identity(certs, robot_id))
        self.link = RobotLink(open_session(conf), robot_id)
        self.msgs = [message_class("dvfo_msgs/msg/FeatureMap")(robot_id=robot_id, **f) for f in frames]
        self.window = window
        self.seq = 0
        self.in_flight: dict[int, float] = {}  # frame_seq -> send time
        self.next_frame = 0.0

    def tick(self, now: float, period: float, log: dict) -> None:
        """Take the answers, then offload the camera frame that is due (if the window allows)."""
        from dvfo_core.runtime.msgs import from_cdr, to_cdr

        for data in self.link.results():
            answer = from_cdr("dvfo_msgs/msg/CloudResult", data)
            sent = self.in_flight.pop(int(answer.frame_seq), None)
            if sent is not None:
                log["answers"].append((sent, now, bool(answer.ok)))
        if now < self.next_frame:
            return
        self.next_frame = max(self.next_frame + period, now)  # a late camera does not catch up
        log["frames"].append(now)
        if len(self.in_flight) >= self.window:
            log["skipped"].append(now)
            return
        self.seq += 1
        msg = self.msgs[self.seq % len(self.msgs)]
        msg.frame_seq = self.seq
        if self.link.send(to_cdr(msg)) is not None:
            self.in_flight[self.seq] = now

    def close(self) -> None:
        """Close the session."""
        self.link.close()


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _connect(make, timeout_s: float = 60.0):
    """``make()`` once the router accepts connections."""
    from dvfo_core.errors import ConfigError

    end = time.monotonic() + timeout_s
    while True:
        try:
            return make()
        except ConfigError:
            if time.monotonic() > end:
                raise
            time.sleep(0.5)


def run_pool(workers: int, certs: Path, robot_ids: list[str], frames: list[dict], args) -> dict:
    """Start a router and ``workers`` tail workers, drive the robots, stop everything; the numbers."""
    from dvfo_core.graph import load_graph
    from dvfo_core.launcher import Launch
    from dvfo_core.link.plan import ZenohPlan, cloud_commands

    plan = ZenohPlan(certs, listen=_free_endpoint(), workers=workers)
    (tail,) = load_graph("cloud")
    cloud = Launch([], quiet=True, env=WORKER_ENV, commands=cloud_commands(plan, tail, tail.params, []))
    robots: list[Robot] = []
    try:
        for rid in robot_ids:
            robots.append(_connect(lambda rid=rid: Robot(certs, plan.listen, rid, frames, args.window)))
        end = time.monotonic() + 180
        while not all(len(r.link.workers()) == workers for r in robots):
            if time.monotonic() > end:
                raise RuntimeError(f"workers did not join: {dict(cloud.last_lines)}")
            time.sleep(0.2)
        period = 1.0 / args.rate
        log: dict[str, list] = {"answers": [], "frames": [], "skipped": []}
        now = time.monotonic()
        for i, robot in enumerate(robots):  # cameras out of phase, as on real robots
            robot.next_frame = now + period * i / len(robots)
        t0 = now + args.warmup
        t1 = t0 + args.duration
        cpu0: dict[str, float] = {}
        while (now := time.monotonic()) < t1:
            if not cpu0 and now >= t0:
                cpu0 = {name: _cpu_s(p.pid) for name, p in cloud.procs.items()}
                cpu0["robots"] = time.process_time()
            for robot in robots:
                robot.tick(now, period, log)
            time.sleep(0.002)  # the robots' own CPU stays small next to the workers'
        cpu = {name: _cpu_s(p.pid) - cpu0[name] for name, p in cloud.procs.items()}
        cpu["robots"] = time.process_time() - cpu0["robots"]
        dead = [name for name, code in cloud.poll().items() if code is not None]
    finally:
        for robot in robots:
            robot.close()
        cloud.shutdown()
    answered = [(s, r) for s, r, ok in log["answers"] if t0 <= r < t1 and ok]
    latency = [(r - s) * 1e3 for s, r in answered]
    per_s = {
        "workers": sum(v for k, v in cpu.items() if k.startswith("worker")) / args.duration,
        "router": cpu["router"] / args.duration,
        "robots": cpu["robots"] / args.duration,
    }
    rate = len(answered) / args.duration
    return {
        "frames_per_s": rate,
        "p50_ms": float(np.percentile(latency, 50)) if latency else None,
        "p99_ms": float(np.percentile(latency, 99)) if latency else None,
        "offered_per_s": sum(t0 <= t < t1 for t in log["frames"]) / args.duration,
        "not_offloaded_per_s": sum(t0 <= t < t1 for t in log["skipped"]) / args.duration,
        "refused": sum(not ok for _, _, ok in log["answers"]),
        "cpu_per_s": {k: round(v, 3) for k, v in per_s.items()},
        # throughput = the cores the workers obtained / this: the cost of a frame does not change
        "worker_cpu_ms_per_frame": per_s["workers"] / rate * 1e3 if rate else None,
        "dead_processes": dead,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (CI smoke run)")
    parser.add_argument("--json", type=Path, help="also write the JSON report here")
    parser.add_argument("--robots", type=int, default=16, help="simulated robots (at least 16 for the issue)")
    parser.add_argument("--rate", type=float, default=60.0, help="camera rate of each robot, Hz")
    parser.add_argument("--window", type=int, default=4, help="frames a robot keeps in flight at most")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure, comma-separated")
    args = parser.parse_args()
    args.warmup, args.duration = (3.0, 8.0) if args.quick else (5.0, 20.0)
    from dvfo_core.link.certs import init_fleet, issue_robot

    counts = [int(n) for n in args.workers.split(",")]
    robot_ids = [f"robot{i:02d}" for i in range(args.robots)]
    frames = _frames(8)
    with tempfile.TemporaryDirectory() as tmp:
        certs = Path(tmp)
        init_fleet(certs)
        for rid in robot_ids:
            issue_robot(certs, rid)
        pools = {str(n): run_pool(n, certs, robot_ids, frames, args) for n in counts}
    one = pools[str(counts[0])]["frames_per_s"]
    report = {
        "benchmark": "fleet",
        "path": "FeatureMap -> tail worker -> CloudResult over Zenoh + mutual TLS through a router, loopback",
        "robots": args.robots,
        "rate_hz": args.rate,
        "window": args.window,
        "offered_per_s": args.robots * args.rate,
        "warmup_s": args.warmup,
        "duration_s": args.duration,
        "cores": os.cpu_count(),
        "loadavg_1min_at_end": os.getloadavg()[0],
        "worker_env": WORKER_ENV,
        "workers": pools,
        "ratio_to_one_worker": {n: (p["frames_per_s"] / one if one else None) for n, p in pools.items()},
    }
    emit_json(report, args.json)
    cells = "; ".join(
        f"{n} worker(s) {p['frames_per_s']:.0f} frames/s p99 {p['p99_ms'] or float('nan'):.0f} ms "
        f"({report['ratio_to_one_worker'][n]:.2f}x, workers used {p['cpu_per_s']['workers']:.2f} cores)"
        for n, p in pools.items()
    )
    print(
        f"fleet: {args.robots} robots x {args.rate:g} Hz offered ({args.robots * args.rate:.0f} frames/s) "
        f"on {os.cpu_count()} cores: {cells} (target: 2 workers >= 1.3x one)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
