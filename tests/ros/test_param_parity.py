"""`ros2 param`'s questions get the same answers from a node on the DDS adapter as from the same
node on rclpy: list (names and prefixes at each depth), describe, types, get, and the unknown-name
cases. Each runtime is asked with its own clients (`dvfo param`, and the client classes), since
service calls do not cross DDS vendors (docs/runtime.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.slow
#: parameters every rclpy node has and the DDS adapter does not (it has no simulated time)
RCLPY_OWN = {"use_sim_time", "start_type_description_service"}
NAMES = ["rate_hz", "qos.image", "compressed.format", "compressed.jpeg_quality", "nope"]


def _env(runtime: str) -> dict[str, str]:
    return {**os.environ, "DVFO_RUNTIME": runtime}


@pytest.fixture
def cameras(dds_domain: int) -> Iterator[dict[str, str]]:
    """A camera node on each runtime (named after it), configured and active."""
    procs = {}
    for runtime in ("dds", "rclpy"):
        procs[runtime] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dvfo_edge.camera_node",
                "--ros-args",
                "-r",
                f"__node:=camera_{runtime}",
                "-p",
                "rate_hz:=1.0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_env(runtime),
        )
    try:
        for proc in procs.values():
            assert proc.stdout is not None
            for line in proc.stdout:
                if "lifecycle: activate (success)" in line:
                    break
        yield {runtime: f"camera_{runtime}" for runtime in procs}
    finally:
        for proc in procs.values():
            proc.send_signal(2)
            proc.communicate(timeout=30)


def _dvfo(runtime: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "dvfo_core.cli", "param", *args, "--timeout", "20"],
        capture_output=True,
        text=True,
        env=_env(runtime),
        timeout=120,
    )
    return done.stdout + (
        f"[exit {done.returncode}] {done.stderr.strip().splitlines()[-1]}" if done.returncode else ""
    )


def _answers(runtime: str, node: str) -> dict[str, object]:
    """Every question, asked with that runtime's client classes in a fresh process."""
    script = f"""
import json
from dvfo_core.runtime import selected_runtime
if selected_runtime() == "rclpy":
    from dvfo_core.runtime.ros_clients import RosParameterClient as Client
else:
    from dvfo_core.runtime.param_services import ParameterClient as Client
c = Client({node!r}, "", 20.0)
out = {{}}
queries = ([], 0), ([], 1), ([], 2), (["compressed"], 0), (["compressed"], 1), (["qos", "x"], 0)
for prefixes, depth in queries:
    names, parents = c.list_names(prefixes, depth)
    out[f"list {{prefixes}} {{depth}}"] = [[n for n in names if n not in {sorted(RCLPY_OWN)!r}], parents]
out["describe"] = [d.__dict__ for d in c.describe({NAMES[:4]!r})]
out["describe with an unknown"] = c.describe({NAMES!r})
out["types"] = c.types({NAMES[:4]!r})
out["types with an unknown"] = c.types(["nope"])
out["get"] = [c.get(n) for n in {NAMES!r}]
print(json.dumps(out))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=_env(runtime), timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_both_runtimes_answer_every_parameter_question_alike(cameras: dict[str, str]) -> None:
    dds, rclpy = _answers("dds", cameras["dds"]), _answers("rclpy", cameras["rclpy"])
    assert dds == rclpy
    assert dds["describe with an unknown"] == [] and dds["types with an unknown"] == []
    assert dds["get"][-1] is None and dds["get"][0] == 1.0


def test_dvfo_param_list_and_describe_print_the_same_on_both_runtimes(cameras: dict[str, str]) -> None:
    listed = {rt: _dvfo(rt, "list", node).split() for rt, node in cameras.items()}
    assert [n for n in listed["rclpy"] if n not in RCLPY_OWN] == listed["dds"]
    assert "compressed.jpeg_quality" in listed["dds"]
    described = {rt: _dvfo(rt, "describe", node, "rate_hz") for rt, node in cameras.items()}
    assert described["dds"] == described["rclpy"]
    assert "Type: double" in described["dds"] and "Constraints: min 0.1; max 1000.0" in described["dds"]
    unknown = {rt: _dvfo(rt, "describe", node, "nope") for rt, node in cameras.items()}
    assert all("has no parameter 'nope'" in text for text in unknown.values()), unknown
