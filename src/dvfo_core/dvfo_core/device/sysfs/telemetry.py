"""Power, temperature and utilisation readings from the discovered INA3221 rails and sensors.

Fallbacks (documented in docs/device.md): a sensor file that cannot be read gives ``nan`` for that
value and one warning per file; the total is the board's input rail (the profile's ``total`` rail,
else ``POM_5V_IN``/``VDD_IN``), else the sum of the rails. ``PMIC-Die`` is left out of the hottest
temperature (a constant 100 degC placeholder on tegra210/tegra194).
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

from dvfo_core.device.base import PowerSample
from dvfo_core.device.profiles import load_profile
from dvfo_core.device.sysfs.discovery import Discovery, Rail, discover
from dvfo_core.device.sysfs.files import read_int, read_text, under
from dvfo_core.errors import DeviceError

log = logging.getLogger(__name__)
INPUT_RAILS = ("POM_5V_IN", "VDD_IN")
IGNORED_ZONES = ("PMIC-Die",)


class Telemetry:
    """Reads one :class:`PowerSample` at a time from a :class:`Discovery`."""

    def __init__(self, disc: Discovery, total_rail: str | None = None) -> None:
        self.disc = disc
        names = [r.name for r in disc.rails]
        self.total_rail = next((n for n in (total_rail, *INPUT_RAILS) if n and n in names), None)
        self._warned: set[Path] = set()
        self._last_stat: tuple[float, float] | None = None

    def _soft(self, path: Path, read) -> float:
        try:
            return float(read(path))
        except DeviceError as exc:
            if path not in self._warned:
                self._warned.add(path)
                log.warning("dvfo: %s; reporting nan for it", exc)
            return math.nan

    def rail_w(self, rail: Rail) -> float:
        """Power of one rail in W."""
        if rail.power_path is not None and rail.power_path.is_file():
            return self._soft(rail.power_path, read_int) / 1e3
        return self._soft(rail.voltage_path, read_int) * self._soft(rail.current_path, read_int) / 1e6

    def rails_w(self) -> dict[str, float]:
        """Power of every rail in W."""
        return {r.name: self.rail_w(r) for r in self.disc.rails}

    @property
    def rail_names(self) -> list[str]:
        """The rails discovered, in discovery order."""
        return [r.name for r in self.disc.rails]

    def power(self) -> tuple[float, dict[str, float]]:
        """Total board power and every rail's, in W (the total: see the module docstring)."""
        rails = self.rails_w()
        if self.total_rail is not None:
            return rails[self.total_rail], rails
        vals = [v for v in rails.values() if not math.isnan(v)]
        return (sum(vals) if vals else math.nan), rails

    def clocks(self) -> tuple[int, int, int]:
        """CPU (kHz, the first policy), GPU and EMC (Hz) clocks running now, read back; 0 when unreadable."""
        d = self.disc
        paths = (d.cpu_policies[0].path / "scaling_cur_freq" if d.cpu_policies else None,
                 d.gpu.path / "cur_freq" if d.gpu else None,
                 d.emc.rate_path if d.emc else None)
        out = [self._soft(p, read_int) if p is not None else math.nan for p in paths]
        return tuple(0 if math.isnan(v) else int(v) for v in out)  # type: ignore[return-value]

    def temperature_c(self) -> float:
        """Hottest thermal zone in degC (nan when none is readable)."""
        zones = [p for n, p in self.disc.thermal.items() if n not in IGNORED_ZONES]
        temps = [self._soft(p, read_int) / 1e3 for p in zones]
        temps = [t for t in temps if not math.isnan(t)]
        return max(temps) if temps else math.nan

    def gpu_util(self) -> float:
        """GPU load in [0, 1] (the driver reports per mille)."""
        gpu = self.disc.gpu
        if gpu is None or gpu.load_path is None:
            return math.nan
        return self._soft(gpu.load_path, read_int) / 1000.0

    def emc_util(self) -> float:
        """Memory-controller load: NaN, not measured (the actmon ``mc_all`` counter's unit is not
        documented)."""
        return math.nan

    def cpu_util(self) -> float:
        """Share of non-idle CPU time since the previous call (nan on the first call)."""
        stat = under(self.disc.root, "/proc/stat")
        try:
            fields = [float(v) for v in read_text(stat).splitlines()[0].split()[1:]]
        except (DeviceError, ValueError, IndexError):
            return math.nan
        idle, total = fields[3] + (fields[4] if len(fields) > 4 else 0.0), sum(fields)
        prev, self._last_stat = self._last_stat, (idle, total)
        if prev is None or total <= prev[1]:
            return math.nan
        return 1.0 - (idle - prev[0]) / (total - prev[1])

    def sample(self) -> PowerSample:
        """Read everything now."""
        total, rails = self.power()
        return PowerSample(time.monotonic(), total, rails, self.temperature_c(),
                           self.cpu_util(), self.gpu_util(), self.emc_util())


def board_telemetry(root: str | Path = "/", board: str | None = None) -> Telemetry:
    """The readings of the board under ``root`` (``board``: its profile, for the total rail).

    Raises :class:`DeviceError` when nothing at all can be measured there (not a Jetson).
    """
    disc = discover(Path(root))
    if not (disc.rails or disc.thermal or disc.cpu_policies or disc.gpu):
        raise DeviceError(f"nothing to measure under {root}: no INA3221 rail, thermal zone, cpufreq "
                          "policy or Jetson GPU (not a Jetson?)")
    total = load_profile(board).rails.get("total") if board else None
    return Telemetry(disc, total)
