"""QoS presets as rmw defines them, selectable per topic by a parameter string."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dvfo_core.errors import ConfigError


@dataclass(frozen=True)
class QosProfile:
    """The subset of QoS that ROS 2 nodes commonly tune."""

    reliability: Literal["reliable", "best_effort"] = "reliable"
    durability: Literal["volatile", "transient_local"] = "volatile"
    depth: int = 10


#: rmw's presets: ``rmw_qos_profile_sensor_data``, ``rmw_qos_profile_default`` and a latched one.
PRESETS: dict[str, QosProfile] = {
    "sensor_data": QosProfile("best_effort", "volatile", 5),
    "default": QosProfile("reliable", "volatile", 10),
    "reliable": QosProfile("reliable", "volatile", 10),
    "best_effort": QosProfile("best_effort", "volatile", 10),
    "transient_local": QosProfile("reliable", "transient_local", 1),
}


def parse_qos(spec: str | QosProfile) -> QosProfile:
    """A preset name, optionally with a depth (``sensor_data:2``), or a profile, as a profile."""
    if isinstance(spec, QosProfile):
        return spec
    name, _, depth = str(spec).partition(":")
    if name not in PRESETS:
        raise ConfigError(f"unknown QoS preset {spec!r}; choose one of {', '.join(PRESETS)}")
    profile = PRESETS[name]
    if depth:
        if not depth.isdigit() or int(depth) < 1:
            raise ConfigError(f"bad QoS depth in {spec!r}: expected a positive integer")
        profile = QosProfile(profile.reliability, profile.durability, int(depth))
    return profile
