"""The device-layer interface shared by the sysfs backend and the digital twin."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FrequencyTable:
    """Frequencies the governor may choose from, ascending, already clipped to the power mode."""

    cpu_khz: tuple[int, ...]
    gpu_hz: tuple[int, ...]
    emc_hz: tuple[int, ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        """Number of CPU, GPU and EMC levels."""
        return len(self.cpu_khz), len(self.gpu_hz), len(self.emc_hz)


@dataclass(frozen=True)
class Levels:
    """A clock setting as indices into a :class:`FrequencyTable`."""

    cpu: int
    gpu: int
    emc: int


@dataclass(frozen=True)
class PowerSample:
    """One reading of the board's power rails and temperatures."""

    t_s: float  #: monotonic time of the reading
    total_w: float  #: total board power
    rails_w: dict[str, float] = field(default_factory=dict)
    temperature_c: float = float("nan")  #: hottest thermal zone
    cpu_util: float = float("nan")
    gpu_util: float = float("nan")
    emc_util: float = float("nan")


class DeviceBackend(ABC):
    """Reads and sets a board's clocks and reads its power; restores what it changed."""

    #: ``"twin"`` or ``"sysfs"``
    backend: str = ""

    @property
    @abstractmethod
    def name(self) -> str:
        """Board profile name (``jetson-nano``, ...)."""

    @property
    @abstractmethod
    def table(self) -> FrequencyTable:
        """The active power mode's frequency table."""

    @property
    def read_only(self) -> bool:
        """True when clocks cannot be set (no root): telemetry only."""
        return False

    @abstractmethod
    def apply(self, levels: Levels) -> None:
        """Set CPU, GPU and EMC clocks to ``levels`` (indices into :attr:`table`)."""

    @abstractmethod
    def current(self) -> Levels:
        """The levels in force now."""

    @abstractmethod
    def sample(self) -> PowerSample:
        """Read power, temperatures and utilisation now."""

    def restore(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Put back every clock and governor this backend changed (no-op when nothing changed)."""
