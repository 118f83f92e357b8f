"""How nodes of both runtimes find each other on one machine, out of the box.

The DDS adapter, unless ``CYCLONEDDS_URI`` names the user's own file, runs Cyclone on the shipped
loopback configuration (``config/cyclonedds-loopback.xml``: 127.0.0.1, no multicast, unicast
discovery to localhost). Fast DDS with ROS 2's default settings announces the machine's network
addresses and does not discover such a participant; with ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``
it does (measured with the ROS 2 Kilted wheels, rmw_fastrtps_cpp 9.3.3 and cyclonedds 11.0.1).

So, by default, the project's rclpy nodes stay on this machine too: :func:`apply_discovery_default`
sets ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` before ``rclpy.init`` when the user has chosen
nothing. A user who chose anything (a LAN: ``ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET`` plus a
``CYCLONEDDS_URI`` for the DDS-adapter nodes, static peers, a Fast DDS profile) is left alone.
No ROS 2 import here.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

from dvfo_core.paths import config_dir

#: The shipped Cyclone configuration the DDS adapter uses when ``CYCLONEDDS_URI`` is unset.
LOOPBACK_CONFIG = "cyclonedds-loopback.xml"
#: The shipped Fast DDS profile of the project's rclpy nodes (XTypes type propagation off).
FASTDDS_PROFILE = "fastdds-ros.xml"
FASTDDS_PROFILE_VARIABLES = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")

#: Variables by which a user chooses how ROS 2 and DDS discover peers.
DISCOVERY_VARIABLES = (
    "ROS_AUTOMATIC_DISCOVERY_RANGE",
    "ROS_STATIC_PEERS",
    "ROS_LOCALHOST_ONLY",
    "CYCLONEDDS_URI",
    "FASTDDS_DEFAULT_PROFILES_FILE",
    "FASTRTPS_DEFAULT_PROFILES_FILE",
)


def loopback_uri() -> str:
    """``file://`` URI of the shipped loopback Cyclone configuration."""
    return (Path(config_dir()) / LOOPBACK_CONFIG).resolve().as_uri()


def fastdds_profile() -> str:
    """Path of the shipped Fast DDS profile."""
    return str((Path(config_dir()) / FASTDDS_PROFILE).resolve())


def _ours(name: str, value: str) -> bool:
    """Whether ``value`` of ``name`` is the project's own default (inherited by child processes)."""
    if name == "CYCLONEDDS_URI":
        return value == loopback_uri()
    return name in FASTDDS_PROFILE_VARIABLES and value == fastdds_profile()


def user_chose_discovery(environ: MutableMapping[str, str]) -> bool:
    """Whether any discovery variable is set by the user (the project's own defaults, which child
    processes inherit, do not count)."""
    return any(environ.get(n) and not _ours(n, environ[n]) for n in DISCOVERY_VARIABLES)


def apply_fastdds_profile_default(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """Point Fast DDS at the shipped profile (``config/fastdds-ros.xml``: XTypes type propagation
    off, as rmw_cyclonedds_cpp and the DDS adapter) unless a profile file is set; returns the path
    set, or None. With type propagation on, Fast DDS and Cyclone reject each other's type look-ups
    at discovery ("Inconsistent TypeObject", "invalid type object"); topics match either way.
    Call before ``rclpy.init``."""
    if any(environ.get(name) for name in FASTDDS_PROFILE_VARIABLES):
        return None
    environ["FASTDDS_DEFAULT_PROFILES_FILE"] = fastdds_profile()
    return environ["FASTDDS_DEFAULT_PROFILES_FILE"]


def apply_discovery_default(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """Set ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` unless the user chose; returns what was set
    (None: left alone). Call before ``rclpy.init``."""
    if user_chose_discovery(environ):
        return None
    environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    return "LOCALHOST"
