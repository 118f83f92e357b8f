"""`dvfo launch --link zenoh`: what it starts, and one-line errors for what it cannot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dvfo_core.graph import load_graph
from dvfo_core.link.plan import ZenohPlan, cloud_commands, head_args, local_endpoint


def _dvfo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dvfo_core.cli", *args], capture_output=True, text=True)


def test_the_cloud_is_a_router_and_n_workers_each_in_its_own_namespace(certs: Path) -> None:
    (tail,) = load_graph("cloud")
    commands = cloud_commands(ZenohPlan(certs, "tls/0.0.0.0:7447", workers=3), tail, tail.params, [])
    assert list(commands) == ["router", "worker1", "worker2", "worker3"]
    assert commands["router"][-2:] == ["--listen", "tls/0.0.0.0:7447"]
    worker = commands["worker2"]
    assert "__ns:=/worker2" in worker and "offload.link:=zenoh" in worker
    assert 'offload.connect:=["tls/127.0.0.1:7447"]' in worker, "local workers use the loopback address"
    assert f'offload.certificate:="{(certs / "worker.pem").resolve()}"' in worker


def test_a_worker_only_host_starts_no_router(certs: Path) -> None:
    (tail,) = load_graph("cloud")
    plan = ZenohPlan(certs, connect="tls/10.0.0.5:7447", workers=2)
    commands = cloud_commands(plan, tail, tail.params, [])
    assert list(commands) == ["worker1", "worker2"]
    assert 'offload.connect:=["tls/10.0.0.5:7447"]' in commands["worker1"]


def test_the_head_gets_its_robot_id_and_certificate(certs: Path) -> None:
    args = head_args(ZenohPlan(certs, connect="tls/cloud:7447", robot_id="alpha"))
    assert "robot_id:=alpha" in args and 'offload.connect:=["tls/cloud:7447"]' in args
    assert f'offload.private_key:="{(certs / "robot-alpha-key.pem").resolve()}"' in args


def test_local_endpoint_replaces_wildcard_addresses() -> None:
    assert local_endpoint("tls/0.0.0.0:7447") == "tls/127.0.0.1:7447"
    assert local_endpoint("tls/[::]:7000") == "tls/127.0.0.1:7000"
    assert local_endpoint("tls/10.1.2.3:7447") == "tls/10.1.2.3:7447"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["edge", "--certs", "x"], "--certs only apply with --link zenoh"),
        (["edge", "--link", "zenoh", "--certs", "/nonexistent"], "needs --certs DIR"),
        (
            ["edge", "--link", "zenoh", "--certs", "CERTS", "--robot-id", "nobody"],
            "robot-nobody.pem does not exist",
        ),
        (["edge", "--link", "zenoh", "--certs", "CERTS"], "needs --robot-id"),
    ],
)
def test_launch_refuses_in_one_line(certs: Path, args: list[str], message: str) -> None:
    args = [str(certs) if a == "CERTS" else a for a in args]
    done = _dvfo("launch", *args, "--duration", "1")
    assert done.returncode == 2 and message in done.stderr and done.stderr.count("\n") == 1, done.stderr
