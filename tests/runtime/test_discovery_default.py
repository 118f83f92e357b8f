"""rclpy nodes of the project discover DDS-adapter nodes on one machine without any setting, and
the DDS adapter follows ROS 2's discovery variables as rmw_cyclonedds_cpp does (on a real LAN:
tests/ros/test_lan_discovery.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from dvfo_core.errors import ConfigError
from dvfo_core.runtime.discovery import (
    apply_discovery_default,
    apply_fastdds_profile_default,
    cyclone_uri,
    discovery_range,
    fastdds_profile,
    loopback_uri,
)


def _cyclone(env: dict[str, str]) -> tuple[str | None, list[str], list[str]]:
    """(AllowMulticast, interface addresses, peers) of the generated Cyclone configuration."""
    root = ET.fromstring(cyclone_uri(env))
    allow = root.find("Domain/General/AllowMulticast")
    interfaces = [e.get("address", "") for e in root.iter("NetworkInterface")]
    peers = [e.get("address", "") for e in root.iter("Peer")]
    return (allow.text if allow is not None else None), interfaces, peers


def test_by_default_and_with_localhost_the_adapter_runs_the_shipped_loopback_file() -> None:
    assert cyclone_uri({}) == cyclone_uri({"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}) == loopback_uri()
    assert cyclone_uri({"ROS_LOCALHOST_ONLY": "1"}) == loopback_uri(), "Humble's variable"


def test_subnet_discovers_by_multicast_on_the_network_and_asks_static_peers_too() -> None:
    assert _cyclone({"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}) == ("default", [], [])
    assert _cyclone({"ROS_LOCALHOST_ONLY": "0"}) == ("default", [], [])
    env = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "subnet", "ROS_STATIC_PEERS": "192.0.2.7; robot-2.lan"}
    assert _cyclone(env) == ("default", [], ["192.0.2.7", "robot-2.lan"])


def test_static_peers_without_a_range_reach_them_by_unicast_only() -> None:
    assert _cyclone({"ROS_STATIC_PEERS": "192.0.2.7"}) == ("false", [], ["localhost", "192.0.2.7"])


def test_off_stays_on_loopback_unless_peers_are_named() -> None:
    off = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "OFF"}
    assert _cyclone(off) == ("false", ["127.0.0.1"], [])
    assert _cyclone({**off, "ROS_STATIC_PEERS": "192.0.2.7"}) == ("false", [], ["192.0.2.7"])


def test_an_unknown_range_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="SUBNET, LOCALHOST, OFF, SYSTEM_DEFAULT"):
        discovery_range({"ROS_AUTOMATIC_DISCOVERY_RANGE": "LAN"})


def test_the_adapters_derived_config_inherited_by_a_child_is_not_a_user_choice() -> None:
    env = {"CYCLONEDDS_URI": cyclone_uri({})}
    assert apply_discovery_default(env) == "LOCALHOST"


def test_nothing_chosen_keeps_fast_dds_on_this_machine_like_the_loopback_cyclone_config() -> None:
    env: dict[str, str] = {}
    assert apply_discovery_default(env) == "LOCALHOST"
    assert env == {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}


def test_the_adapters_own_loopback_default_inherited_by_a_child_is_not_a_user_choice() -> None:
    env = {"CYCLONEDDS_URI": loopback_uri(), "FASTDDS_DEFAULT_PROFILES_FILE": fastdds_profile()}
    assert apply_discovery_default(env) == "LOCALHOST"


def test_any_user_choice_is_left_alone() -> None:
    for chosen in (
        {"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"},
        {"ROS_STATIC_PEERS": "192.0.2.7"},
        {"CYCLONEDDS_URI": "file:///etc/robot/cyclonedds.xml"},
        {"FASTDDS_DEFAULT_PROFILES_FILE": "/etc/robot/fastdds.xml"},
    ):
        env = dict(chosen)
        assert apply_discovery_default(env) is None
        assert env == chosen


def test_fast_dds_gets_the_shipped_profile_without_type_propagation_unless_one_is_set() -> None:
    env: dict[str, str] = {}
    assert apply_fastdds_profile_default(env) == fastdds_profile()
    assert "<name>fastdds.type_propagation</name>" in open(fastdds_profile()).read()
    mine = {"FASTRTPS_DEFAULT_PROFILES_FILE": "/etc/robot/fastdds.xml"}
    assert apply_fastdds_profile_default(mine) is None
    assert mine == {"FASTRTPS_DEFAULT_PROFILES_FILE": "/etc/robot/fastdds.xml"}
