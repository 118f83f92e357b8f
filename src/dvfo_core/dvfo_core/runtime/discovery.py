"""How nodes of both runtimes find each other on one machine, out of the box.

The DDS adapter, unless ``CYCLONEDDS_URI`` names the user's own file, runs Cyclone on the shipped
loopback configuration (``config/cyclonedds-loopback.xml``: 127.0.0.1, no multicast, unicast
discovery to localhost). Fast DDS with ROS 2's default settings announces the machine's network
addresses and does not discover such a participant; with ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``
it does (measured with the ROS 2 Kilted wheels, rmw_fastrtps_cpp 9.3.3 and cyclonedds 11.0.1).

So, by default, the project's rclpy nodes stay on this machine too: :func:`apply_discovery_default`
sets ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` before ``rclpy.init`` when the user has chosen
nothing. A user who chose anything (a LAN: ``ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET``, static peers,
a Fast DDS profile) is left alone.

The DDS adapter reads the same ROS 2 variables (:func:`cyclone_uri`), as ``rmw_cyclonedds_cpp``
does, so one ``export ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET`` (and ``ROS_STATIC_PEERS`` where
multicast does not pass) puts the nodes of both runtimes on a LAN; ``CYCLONEDDS_URI`` still wins.
No ROS 2 import here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from xml.sax.saxutils import quoteattr

from dvfo_core.errors import ConfigError
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


#: ``ROS_AUTOMATIC_DISCOVERY_RANGE`` values (ROS 2 Iron and later).
DISCOVERY_RANGES = ("SUBNET", "LOCALHOST", "OFF", "SYSTEM_DEFAULT")
#: The Cyclone settings every generated configuration shares with the shipped loopback file.
_CYCLONE_COMMON = '<Internal><SocketReceiveBufferSize min="4MB"/></Internal>'


def loopback_uri() -> str:
    """``file://`` URI of the shipped loopback Cyclone configuration."""
    path = Path(config_dir()) / LOOPBACK_CONFIG
    if not path.is_file():
        raise ConfigError(f"{path} is missing and CYCLONEDDS_URI is not set")
    return path.resolve().as_uri()


def discovery_range(environ: Mapping[str, str] = os.environ) -> str:
    """The discovery range the nodes use: ``ROS_AUTOMATIC_DISCOVERY_RANGE``; else Humble's
    ``ROS_LOCALHOST_ONLY`` (1: LOCALHOST, 0: SUBNET); else the project's default, LOCALHOST."""
    raw = environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE", "").strip().upper()
    if raw:
        if raw not in DISCOVERY_RANGES:
            raise ConfigError(
                f"ROS_AUTOMATIC_DISCOVERY_RANGE={raw!r} is not one of {', '.join(DISCOVERY_RANGES)}"
            )
        return raw
    localhost_only = environ.get("ROS_LOCALHOST_ONLY", "").strip()
    return "SUBNET" if localhost_only == "0" else "LOCALHOST"


def static_peers(environ: Mapping[str, str] = os.environ) -> list[str]:
    """``ROS_STATIC_PEERS``: addresses or host names separated by ``;``."""
    return [p.strip() for p in environ.get("ROS_STATIC_PEERS", "").split(";") if p.strip()]


def cyclone_uri(environ: Mapping[str, str] = os.environ) -> str:
    """The Cyclone configuration of the DDS adapter when ``CYCLONEDDS_URI`` is unset, from ROS 2's
    discovery variables as ``rmw_cyclonedds_cpp`` reads them: LOCALHOST without static peers is
    the shipped loopback file; SUBNET and SYSTEM_DEFAULT discover by multicast on the machine's
    network interface; LOCALHOST with peers and OFF do not multicast; static peers are always
    asked by unicast (OFF: only they, on no interface but loopback unless peers are given)."""
    scope, peers = discovery_range(environ), static_peers(environ)
    if scope == "LOCALHOST" and not peers:
        return loopback_uri()
    general = "<AllowMulticast>default</AllowMulticast>"
    if scope in ("LOCALHOST", "OFF"):
        general = "<AllowMulticast>false</AllowMulticast>"
        if not peers:  # OFF alone: nothing beyond this machine's loopback
            general = '<Interfaces><NetworkInterface address="127.0.0.1"/></Interfaces>' + general
    asked = (["localhost"] if scope == "LOCALHOST" else []) + peers
    discovery = "".join(f"<Peer address={quoteattr(p)}/>" for p in asked)
    if discovery:
        discovery = (
            "<ParticipantIndex>auto</ParticipantIndex><MaxAutoParticipantIndex>60</MaxAutoParticipantIndex>"
            f"<Peers>{discovery}</Peers>"
        )
    return (
        f'<CycloneDDS><Domain Id="any"><General>{general}</General><Discovery>{discovery}</Discovery>'
        f"{_CYCLONE_COMMON}</Domain></CycloneDDS>"
    )


def fastdds_profile() -> str:
    """Path of the shipped Fast DDS profile."""
    return str((Path(config_dir()) / FASTDDS_PROFILE).resolve())


def _ours(name: str, value: str, environ: Mapping[str, str]) -> bool:
    """Whether ``value`` of ``name`` is the project's own default (inherited by child processes)."""
    if name == "CYCLONEDDS_URI":
        return value == cyclone_uri(environ)
    return name in FASTDDS_PROFILE_VARIABLES and value == fastdds_profile()


def user_chose_discovery(environ: MutableMapping[str, str]) -> bool:
    """Whether any discovery variable is set by the user (the project's own defaults, which child
    processes inherit, do not count)."""
    return any(environ.get(n) and not _ours(n, environ[n], environ) for n in DISCOVERY_VARIABLES)


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
