"""rclpy nodes of the project discover DDS-adapter nodes on one machine without any setting."""

from __future__ import annotations

from dvfo_core.runtime.discovery import (
    apply_discovery_default,
    apply_fastdds_profile_default,
    fastdds_profile,
    loopback_uri,
)


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
