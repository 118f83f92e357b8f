"""A robot-to-cloud link with faults, inside a network namespace of its own.

``python tests/link/fault_lab.py --faults cap:0.5,delay:200,cut:5,router --out run.json`` re-runs
itself under ``unshare -n`` (root): a private loopback, so shaping, drops and port numbers touch
nothing else. Inside it starts the fleet's certificates, a Zenoh router with two tail workers, a
camera and a head (``shape_link: false``: the link is real, and the telemetry's link estimate is
measured) and a monitor that plays the governor. The robot reaches the router through a relay,
``127.0.0.1:RELAY_PORT`` -> the router: the relay's port is the robot's link, where the faults act.

Faults (``name:value``), each held for ``--hold`` seconds (``cut`` for its value) then healed:

=========  ==============================================================================
cap:M      both directions of the robot's link rate-limited to M Mbps (``tc`` HTB classes)
delay:D    D ms added to the round trip (the relay holds each chunk D/2 ms per direction)
loss:P     P % of the link's packets dropped at random, both directions (``nft numgen``)
cut:S      the link carries nothing for S s (the relay stalls both directions)
router     the router is killed (SIGKILL) and started again
worker     a tail worker is killed (SIGKILL); the other one goes on serving
=========  ==============================================================================

The run's record (every result and telemetry, every fault's on/off times) goes to ``--out`` as
JSON; :func:`summarise` turns it into the per-fault figures of docs/reliability.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "graph"))

ROUTER_PORT, RELAY_PORT = 7447, 7500
ROBOT = "robot1"
RATE_HZ = 2.0  #: a modest camera: the lab's six processes share two loaded cores here
CLOUD_TIMEOUT_MS = 1000.0
SHARES = (0.5, 1.0)  #: the monitor's governor alternates these shares: two payload sizes
ENCODING = "fp32+none"  #: 4 / 8 KB payloads at these shares (int8+zstd ones are 0.4-1.6 KB)
IN_NETNS = "DVFO_FAULT_LAB_NETNS"


# -- the link: a relay with delay and cut, shaping and loss on its port ----------------------------
class Relay:
    """A TCP forwarder ``127.0.0.1:listen`` -> ``127.0.0.1:target`` (TLS passes through untouched),
    holding each chunk ``delay_s`` per direction, or everything while ``cut``. Its own process
    (``fault_lab.py relay``): in the monitor's process the DDS waits would starve it of the GIL."""

    def __init__(self, listen: int, target: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "relay", str(listen), str(target)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def set(self, delay_s: float | None = None, cut: bool | None = None) -> None:
        """Change the added delay (per direction) or the cut; applied when the relay has read it."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if delay_s is not None:
            self.proc.stdin.write(f"delay {delay_s}\n")
        if cut is not None:
            self.proc.stdin.write(f"cut {int(cut)}\n")
        self.proc.stdin.write("sync\n")
        self.proc.stdin.flush()
        self.proc.stdout.readline()

    def close(self) -> None:
        """Stop forwarding."""
        self.proc.kill()
        self.proc.wait(5.0)


class RelayLoop:
    """The relay's process: forwards, and reads ``delay S`` / ``cut 0|1`` / ``sync`` on stdin."""

    def __init__(self, listen: int, target: int) -> None:
        self.listen, self.target = listen, target
        self.delay_s = 0.0
        self.cut = False

    def run(self) -> None:
        """Serve until stdin closes."""
        asyncio.run(self._main())

    async def _main(self) -> None:
        server = await asyncio.start_server(self._serve, "127.0.0.1", self.listen)
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            word, _, value = line.strip().partition(" ")
            if word == "delay":
                self.delay_s = float(value)
            elif word == "cut":
                self.cut = value == "1"
            elif word == "sync":
                print("ok", flush=True)
        server.close()

    async def _serve(self, down_r: asyncio.StreamReader, down_w: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            down_w.close()
            return
        await asyncio.gather(self._pipe(down_r, up_w), self._pipe(up_r, down_w), return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def read() -> None:
            while data := await reader.read(65536):
                queue.put_nowait((loop.time() + self.delay_s, data))
            queue.put_nowait(None)

        async def write() -> None:
            while (item := await queue.get()) is not None:
                due, data = item
                while self.cut or loop.time() < due:
                    await asyncio.sleep(0.05 if self.cut else max(0.0, due - loop.time()))
                writer.write(data)
                await writer.drain()

        try:
            await asyncio.gather(read(), write())
        finally:
            writer.close()


def sh(*args: str) -> None:
    """Run a command of the namespace's network set-up; its error output in the exception."""
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()}")


def cap_on(mbps: float, port: int = RELAY_PORT) -> None:
    """Rate-limit both directions of ``port``'s traffic on the loopback (one HTB class each)."""
    rate = f"{int(mbps * 1e6)}bit"
    sh("tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "1")
    sh("tc", "class", "add", "dev", "lo", "parent", "1:", "classid", "1:1", "htb", "rate", "10gbit")
    for minor, field in ((10, "dport"), (20, "sport")):
        sh("tc", "class", "add", "dev", "lo", "parent", "1:", "classid", f"1:{minor}", "htb",
           "rate", rate, "ceil", rate, "burst", "1600", "cburst", "1600")
        sh("tc", "filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32",
           "match", "ip", field, str(port), "0xffff", "flowid", f"1:{minor}")


def cap_off() -> None:
    """Remove the rate limit."""
    sh("tc", "qdisc", "del", "dev", "lo", "root")


def loss_on(percent: float, port: int = RELAY_PORT) -> None:
    """Drop ``percent`` % of ``port``'s packets at random, both directions (nftables)."""
    if shutil.which("nft") is None:
        raise RuntimeError("loss faults need nft: apt-get install nftables")
    sh("nft", "add", "table", "inet", "dvfo_faults")
    sh("nft", "add", "chain", "inet", "dvfo_faults", "out", "{ type filter hook output priority 0 ; }")
    for field in ("dport", "sport"):
        sh("nft", "add", "rule", "inet", "dvfo_faults", "out", "tcp", field, str(port),
           "numgen", "random", "mod", "100", "<", str(int(percent)), "drop")


def loss_off() -> None:
    """Remove the drops."""
    sh("nft", "delete", "table", "inet", "dvfo_faults")


# -- the graph -------------------------------------------------------------------------------
@dataclass
class Fault:
    """One fault of the run: ``kind`` and its value."""

    kind: str
    value: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Fault:
        """``cap:0.5`` -> Fault("cap", 0.5); ``router`` -> Fault("router")."""
        kind, _, value = text.partition(":")
        if kind not in ("cap", "delay", "loss", "cut", "router", "worker"):
            raise ValueError(f"unknown fault {text!r}")
        return cls(kind, float(value) if value else 0.0)

    @property
    def name(self) -> str:
        """As written on the command line."""
        return f"{self.kind}:{self.value:g}" if self.kind not in ("router", "worker") else self.kind


class Lab:
    """Router, workers, relay, camera, head and a monitor, in this network namespace."""

    def __init__(self, workdir: Path, workers: int = 2) -> None:
        from graph_helpers import write_params

        from dvfo_core.graph import load_graph
        from dvfo_core.launcher import Launch
        from dvfo_core.link.certs import init_fleet, issue_robot
        from dvfo_core.link.plan import ZenohPlan, cloud_commands, head_args, router_command

        certs = workdir / "certs"
        certs.mkdir()
        init_fleet(certs)
        issue_robot(certs, ROBOT)
        router = f"tls/127.0.0.1:{ROUTER_PORT}"
        self.plan = ZenohPlan(certs, listen=router, workers=workers, robot_id=ROBOT)
        params = write_params(
            workdir,
            camera={"count": 0, "rate_hz": RATE_HZ, "qos": {"image": "default:1000"}},
            head={
                "qos": {"image": "default:1000", "result": "default:1000"},
                "cloud_timeout_ms": CLOUD_TIMEOUT_MS,
                # the faults, not this loaded VM's round trip against a Jetson's modelled deadline,
                # decide when the head gives up on the cloud
                "deadline_guard": False,
                "shape_link": False,
                "encoding": ENCODING,
            },
        )
        self.launch, self.router_cmd = Launch, router_command(self.plan)
        self.router = Launch([], params, commands={"router": self.router_cmd}, quiet=True)
        (tail,) = load_graph("cloud")
        workers = cloud_commands(replace(self.plan, connect=router), tail, params, [])
        self.cloud = Launch([], params, commands=workers, quiet=True)
        self.relay = Relay(RELAY_PORT, ROUTER_PORT)
        edge_plan = replace(self.plan, connect=f"tls/127.0.0.1:{RELAY_PORT}")
        entries = [e for e in load_graph("edge") if e.name != "governor"]
        self.edge = Launch(entries, params, overrides={"head": head_args(edge_plan)}, quiet=True)
        self.params = params
        self.monitor = Monitor()

    def fault_on(self, fault: Fault) -> None:
        """Inject ``fault``."""
        if fault.kind == "cap":
            cap_on(fault.value)
        elif fault.kind == "delay":
            self.relay.set(delay_s=fault.value / 2e3)
        elif fault.kind == "loss":
            loss_on(fault.value)
        elif fault.kind == "cut":
            self.relay.set(cut=True)
        elif fault.kind == "router":
            self.router.procs["router"].kill()
            self.router.shutdown(0.5)
        elif fault.kind == "worker":
            self.cloud.procs["worker1"].kill()

    def fault_off(self, fault: Fault) -> None:
        """Heal ``fault`` (a killed worker stays dead: the other one serves)."""
        if fault.kind == "cap":
            cap_off()
        elif fault.kind == "delay":
            self.relay.set(delay_s=0.0)
        elif fault.kind == "loss":
            loss_off()
        elif fault.kind == "cut":
            self.relay.set(cut=False)
        elif fault.kind == "router":
            self.router = self.launch([], self.params, commands={"router": self.router_cmd}, quiet=True)

    def logs(self) -> dict[str, list[str]]:
        """The last lines of every process."""
        return {k: list(v) for lab in (self.router, self.cloud, self.edge) for k, v in lab.last_lines.items()}

    def close(self) -> None:
        """Stop everything (the edge first: its waiting frames finish edge-only)."""
        self.edge.shutdown()
        self.cloud.shutdown()
        self.router.shutdown()
        self.relay.close()


class Monitor:
    """Results, telemetry and camera stamps with their arrival times; plays the governor."""

    def __init__(self) -> None:
        from dvfo_core.runtime.dds import DdsNode, Executor

        self.node = DdsNode("fault_monitor")
        self.executor = Executor([self.node])
        self.results: list[dict[str, Any]] = []
        self.telemetry: dict[int, tuple[float, float]] = {}
        self.camera: list[float] = []
        self.action_pub = self.node.publisher("dvfo_msgs/msg/DvfsAction", "/dvfo/action")
        self.node.subscribe("dvfo_msgs/msg/InferenceResult", "/dvfo/result", self._result, "default:1000")
        self.node.subscribe("dvfo_msgs/msg/Telemetry", "/dvfo/telemetry", self._telemetry, "default:1000")
        self.node.subscribe("dvfo_msgs/msg/GroundTruth", "/camera/ground_truth", self._camera, "default:1000")
        self.share = 0
        self.next_action = 0.0

    @staticmethod
    def _t(stamp: Any) -> float:
        from dvfo_core.runtime.port import stamp_to_ns

        return stamp_to_ns(stamp) / 1e9

    def _result(self, m: Any) -> None:
        self.results.append({
            "seq": int(m.frame_seq), "stamp_t": self._t(m.header.stamp), "recv_t": time.time(),
            "cloud_used": bool(m.cloud_used), "fallback": bool(m.fallback), "xi": float(m.xi),
            "latency_ms": float(m.latency_ms), "energy_j": float(m.energy_j),
        })

    def _telemetry(self, m: Any) -> None:
        self.telemetry[int(m.frame_seq)] = (float(m.bandwidth_mbps), float(m.rtt_ms))

    def _camera(self, m: Any) -> None:
        self.camera.append(self._t(m.header.stamp))

    def spin(self, seconds: float, until: Any = None) -> bool:
        """Spin (and govern) for ``seconds`` or until ``until()``; returns whether it came true."""
        from dvfo_core.device.twin import TwinModel

        top = TwinModel("jetson-nano").max_levels()
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until is not None and until()):
            if time.monotonic() >= self.next_action:  # a governor speaks every frame; here every 0.5 s
                msg = self.node.msg("dvfo_msgs/msg/DvfsAction")(
                    cpu_level=top.cpu, gpu_level=top.gpu, emc_level=top.emc
                )
                msg.xi, msg.method = SHARES[self.share % len(SHARES)], "test"
                self.share += 1
                self.action_pub.publish(msg)
                self.next_action = time.monotonic() + 0.5
            self.executor.spin_once(0.05)
        return until is not None and bool(until())

    def offloaded_since(self, t: float) -> int:
        """Results answered by the cloud for frames taken after wall time ``t``."""
        return sum(1 for r in self.results if r["cloud_used"] and r["stamp_t"] > t)


def run(faults: list[Fault], hold_s: float, out: Path, workers: int = 2) -> dict[str, Any]:
    """The whole run; writes and returns its record."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one torch thread per node: six processes, two cores
    record: dict[str, Any] = {"faults": [], "hold_s": hold_s, "rate_hz": RATE_HZ,
                              "cloud_timeout_ms": CLOUD_TIMEOUT_MS, "error": None}
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(Path(tmp), workers)
        mon = lab.monitor
        try:
            t0 = time.time()
            if not mon.spin(240.0, lambda: mon.offloaded_since(t0) >= 6):
                raise RuntimeError("the robot never offloaded")
            record["start_t"] = time.time()
            mon.spin(4.0)  # a baseline
            for fault in faults:
                hold = fault.value if fault.kind == "cut" else hold_s
                on_t = time.time()
                lab.fault_on(fault)
                mon.spin(hold)
                off_t = time.time()
                lab.fault_off(fault)
                resumed = mon.spin(60.0, lambda off_t=off_t: mon.offloaded_since(off_t) >= 1)
                first = min((r["recv_t"] for r in mon.results if r["cloud_used"] and r["stamp_t"] > off_t),
                            default=None)
                record["faults"].append({"fault": fault.name, "on_t": on_t, "off_t": off_t,
                                         "resumed": resumed, "resumed_t": first})
                mon.spin(60.0, lambda off_t=off_t: mon.offloaded_since(off_t) >= 4)  # settled again
            record["end_t"] = time.time()
        except Exception as exc:  # the record says what went wrong; the caller decides
            record["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            record["stop_t"] = time.time()
            record["logs"] = lab.logs()
            lab.close()
            mon.spin(3.0)  # the frames the stop finished edge-only
        record["results"] = mon.results
        record["telemetry"] = {str(k): v for k, v in mon.telemetry.items()}
        record["camera"] = mon.camera
    out.write_text(json.dumps(record))
    return record


# -- the figures ------------------------------------------------------------------------------
def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def frames_check(record: dict[str, Any]) -> dict[str, Any]:
    """Frames in = frames out: every camera frame from the first result to the stop (less the last
    second, which the head may not have taken yet) has exactly one result."""
    seqs = [r["seq"] for r in record["results"]]
    stamps = {r["stamp_t"] for r in record["results"]}
    first = min(stamps, default=math.inf)
    taken = [s for s in record["camera"] if first <= s <= record["stop_t"] - 1.0]
    return {
        "results": len(seqs),
        "duplicates": len(seqs) - len(set(seqs)),
        "missing_seqs": sorted(set(range(min(seqs), max(seqs) + 1)) - set(seqs)) if seqs else [],
        "camera_frames": len(taken),
        "camera_frames_unanswered": len(set(taken) - stamps),
    }


def summarise(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A row for the baseline and for each fault: frames taken while it lasted, how many fell back
    or were answered by the cloud, seconds from its healing to the first answered frame taken after
    it, the measured end-to-end latency (camera stamp -> result at the monitor), the twin's energy
    per frame, and the telemetry's link estimate (medians) over the second half of the fault and
    from offloading's resumption to the next fault, and the last estimate before the next fault
    (``settled_*``: where the estimate went once the fault was gone; the median of that short window
    still holds the estimate's transition)."""
    results, tel = record["results"], record["telemetry"]
    first_on = record["faults"][0]["on_t"] if record["faults"] else record["end_t"]
    spans = [("baseline", record["start_t"], first_on, None)]
    spans += [(f["fault"], f["on_t"], f["off_t"], f["resumed_t"]) for f in record["faults"]]
    nexts = [f["on_t"] for f in record["faults"][1:]] + [record["end_t"]]

    def link(t0: float, t1: float) -> list[tuple[float, float]]:
        return [tel[str(r["seq"])] for r in results if t0 <= r["stamp_t"] < t1 and str(r["seq"]) in tel]

    rows = []
    for i, (name, on, off, resumed) in enumerate(spans):
        during = [r for r in results if on <= r["stamp_t"] < off]
        late = link((on + off) / 2, off)
        healed = link(resumed, nexts[i - 1]) if i and resumed else []
        rows.append({
            "fault": name,
            "frames": len(during),
            "fallbacks": sum(r["fallback"] for r in during),
            "offloaded": sum(r["cloud_used"] for r in during),
            "resume_s": resumed - off if resumed else None,
            "e2e_ms_p50": _median([1e3 * (r["recv_t"] - r["stamp_t"]) for r in during]),
            "energy_mj": 1e3 * statistics.fmean([r["energy_j"] for r in during]) if during else None,
            "link_mbps": _median([x[0] for x in late]),
            "link_rtt_ms": _median([x[1] for x in late]),
            "healed_mbps": _median([x[0] for x in healed]),
            "healed_rtt_ms": _median([x[1] for x in healed]),
            "settled_mbps": healed[-1][0] if healed else None,
            "settled_rtt_ms": healed[-1][1] if healed else None,
        })
    return rows


def in_private_netns(argv: list[str]) -> int:
    """Re-run this script under ``unshare -n`` with the loopback up (MTU 1500 and no segmentation
    offload, so that shaping sees packets of a real link's size)."""
    args = " ".join(f"'{a}'" for a in argv)
    setup = "ip link set lo up mtu 1500 gso_max_size 1500"
    inner = f"{setup} && exec {sys.executable} {Path(__file__).resolve()} {args}"
    env = {**os.environ, IN_NETNS: "1", "ROS_DOMAIN_ID": "0"}
    proc = subprocess.Popen(["unshare", "-n", "--", "sh", "-c", inner], env=env, start_new_session=True)
    try:
        return proc.wait()
    except BaseException:
        os.killpg(proc.pid, signal.SIGTERM)
        raise


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module's docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["relay"]:
        RelayLoop(int(argv[1]), int(argv[2])).run()
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faults", default="cap:0.5,delay:200,cut:5,router")
    ap.add_argument("--hold", type=float, default=8.0, help="seconds each fault lasts (cut: its value)")
    ap.add_argument("--workers", type=int, default=2, help="tail workers (the worker fault needs 2)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    faults = [Fault.parse(x) for x in args.faults.split(",") if x]
    if os.environ.get(IN_NETNS) != "1":
        return in_private_netns(argv)
    record = run(faults, args.hold, args.out.resolve(), args.workers)
    return 1 if record["error"] else 0


if __name__ == "__main__":
    sys.exit(main())
