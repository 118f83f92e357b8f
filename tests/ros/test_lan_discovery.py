"""Discovery on a LAN between the two runtimes, with ROS 2's own variables and nothing else.

Two hosts are two network namespaces the test makes (root), joined by a veth pair of their own
(10.213.0.1 and .2; nothing leaves them). On one, an rclpy node (Fast DDS); on the other, a
DDS-adapter node (Cyclone), with no ``CYCLONEDDS_URI``: the adapter derives its Cyclone
configuration from ``ROS_AUTOMATIC_DISCOVERY_RANGE`` and ``ROS_STATIC_PEERS`` as rmw_cyclonedds_cpp
does (docs/runtime.md, "Discovery"). Topics cross in both directions with
``ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET`` where multicast passes, and with static peers where it
does not; with nothing set, both runtimes stay on their own machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from dvfo_core.runtime.discovery import DISCOVERY_VARIABLES

PEER = Path(__file__).with_name("lan_peer.py")
ADDRESSES = ("10.213.0.1", "10.213.0.2")
SUBNET = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}


@dataclass
class Lan:
    """Two namespaces ``hosts`` on one link; ``multicast``: whether multicast passes on it."""

    hosts: tuple[str, str]
    multicast: bool


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10)


@contextmanager
def lan(multicast: bool) -> Iterator[Lan]:
    """Two hosts on a private link, removed afterwards."""
    tag = uuid.uuid4().hex[:6]
    hosts = (f"dvfo-lan-a-{tag}", f"dvfo-lan-b-{tag}")
    links = (f"dvfoa{tag}", f"dvfob{tag}")
    try:
        for host in hosts:
            _ip("netns", "add", host)
        _ip("link", "add", links[0], "type", "veth", "peer", "name", links[1])
        for host, link, address in zip(hosts, links, ADDRESSES, strict=True):
            _ip("link", "set", link, "netns", host)
            _ip("-n", host, "addr", "add", f"{address}/24", "dev", link)
            _ip("-n", host, "link", "set", "lo", "up")
            _ip("-n", host, "link", "set", link, "up", "multicast", "on" if multicast else "off")
            if multicast:
                _ip("-n", host, "route", "add", "224.0.0.0/4", "dev", link)
        yield Lan(hosts, multicast)
    finally:
        for host in hosts:  # deleting a namespace deletes its end of the veth pair, and so both
            subprocess.run(["ip", "netns", "del", host], capture_output=True, timeout=10)


def _env(chosen: dict[str, str]) -> dict[str, str]:
    """This environment without any discovery setting (this process's rclpy set some), plus ``chosen``."""
    env = {k: v for k, v in os.environ.items() if k not in DISCOVERY_VARIABLES}
    return {**env, **chosen}


def received(net: Lan, publisher: tuple[str, dict[str, str]], subscriber: tuple[str, dict[str, str]],
             seconds: float = 25.0) -> int:
    """Messages a subscriber on the second host got (up to 3) from a publisher on the first; each
    side is (runtime, its discovery variables)."""
    def start(host: str, runtime: str, role: str, chosen: dict[str, str], s: float) -> subprocess.Popen[str]:
        cmd = ["ip", "netns", "exec", host, sys.executable, str(PEER), runtime, role, str(s)]
        pipe = subprocess.PIPE
        return subprocess.Popen(cmd, env=_env(chosen), stdout=pipe, stderr=pipe, text=True)

    pub = start(net.hosts[0], publisher[0], "pub", publisher[1], seconds + 10)
    try:
        sub = start(net.hosts[1], subscriber[0], "sub", subscriber[1], seconds)
        out, err = sub.communicate(timeout=seconds + 60)
        assert sub.returncode == 0, f"subscriber failed: {err[-2000:]}"
        return json.loads(out.strip().splitlines()[-1])["received"]
    finally:
        pub.kill()
        pub.communicate(timeout=30)


@pytest.mark.parametrize(("pub", "sub"), [("rclpy", "dds"), ("dds", "rclpy")])
def test_subnet_range_alone_crosses_a_multicast_lan_both_ways(pub: str, sub: str) -> None:
    with lan(multicast=True) as net:
        assert received(net, (pub, SUBNET), (sub, SUBNET)) == 3


@pytest.mark.parametrize(("pub", "sub"), [("rclpy", "dds"), ("dds", "rclpy")])
def test_static_peers_cross_a_lan_without_multicast_both_ways(pub: str, sub: str) -> None:
    with lan(multicast=False) as net:
        assert received(net, (pub, SUBNET), (sub, SUBNET), seconds=8) == 0, "no multicast: no discovery"
        a, b = ({"ROS_STATIC_PEERS": other} for other in reversed(ADDRESSES))
        assert received(net, (pub, a), (sub, b)) == 3


def test_with_nothing_set_neither_runtime_leaves_its_machine() -> None:
    with lan(multicast=True) as net:
        assert received(net, ("dds", {}), ("rclpy", {}), seconds=8) == 0
        assert received(net, ("rclpy", {}), ("dds", {}), seconds=8) == 0
