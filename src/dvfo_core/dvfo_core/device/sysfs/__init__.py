"""The sysfs backend of a real Jetson: discovery, clock writes with restore, INA3221 telemetry."""

from dvfo_core.device.sysfs.backend import SysfsDevice
from dvfo_core.device.sysfs.discovery import LOOKED_FOR, Discovery, discover
from dvfo_core.device.sysfs.guard import RestoreGuard

__all__ = ["LOOKED_FOR", "Discovery", "RestoreGuard", "SysfsDevice", "discover"]
