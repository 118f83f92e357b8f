"""The sysfs backend: a real Jetson's clocks and power, discovered at run time under ``root``."""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType

from dvfo_core.device.base import DeviceBackend, FrequencyTable, Levels, PowerSample
from dvfo_core.device.meter import BoardMeter
from dvfo_core.device.profiles import BoardProfile, PowerMode, load_profile
from dvfo_core.device.sysfs.clocks import SavedState, Transaction, pair_writes
from dvfo_core.device.sysfs.discovery import LOOKED_FOR, Discovery, discover
from dvfo_core.device.sysfs.files import read_int, writable
from dvfo_core.device.sysfs.guard import RestoreGuard
from dvfo_core.device.sysfs.telemetry import Telemetry
from dvfo_core.errors import DeviceError

log = logging.getLogger(__name__)
_said_read_only = False


def _say_read_only_once(reason: str) -> None:
    global _said_read_only
    if not _said_read_only:
        _said_read_only = True
        log.warning("dvfo: read-only: %s; clocks will not be changed, telemetry only", reason)


def _nearest(freqs: tuple[int, ...], f: int) -> int:
    return min(range(len(freqs)), key=lambda i: abs(freqs[i] - f))


class SysfsDevice(DeviceBackend):
    """A Jetson's clocks (cpufreq, GPU devfreq, EMC) and INA3221 telemetry under ``root``.

    Args:
        root: prefix of ``/sys``, ``/proc``, ``/etc``, ``/var`` (``/`` on a Jetson; a fixture tree in tests).
        board: board profile name; guessed from the device tree when ``None``.
        mode: power mode; read from nvpmodel's status when ``None`` (else the profile default).
        read_only: force telemetry-only; when ``None``, read-only unless every control file is writable.

    The first :meth:`apply` saves every control file it touches and installs a
    :class:`RestoreGuard`; :meth:`restore` (also on exit, SIGINT, SIGTERM, SIGHUP, unhandled
    exceptions, and leaving a ``with`` block) writes them back.
    """

    backend = "sysfs"

    def __init__(self, root: str | Path = "/", board: str | None = None, mode: str | None = None,
                 read_only: bool | None = None) -> None:
        self.root = Path(root)
        self.discovery: Discovery = discover(self.root)
        d = self.discovery
        if not d.cpu_policies and d.gpu is None:
            raise DeviceError(f"not a Jetson at {self.root}: no cpufreq policy and no Jetson GPU devfreq "
                              "node "
                              f"(looked for: {'; '.join(LOOKED_FOR[1:3])})")
        name = board or d.board
        if name is None:
            raise DeviceError(f"cannot tell the board from the device tree (model {d.model!r}); pass board=")
        self.profile: BoardProfile = load_profile(name)
        self.power_mode: PowerMode = self._mode(mode)
        self._table = self._build_table()
        self._telemetry = Telemetry(d, self.profile.rails.get("total"))
        self._saved = SavedState()
        self._guard: RestoreGuard | None = None
        controls = self._control_files()
        missing = [str(p) for p in controls if not writable(p)]
        if read_only is None:
            read_only = bool(missing) or not controls
        self._read_only = read_only
        if read_only:
            _say_read_only_once(f"no write access to {missing[0]} (run as root to set clocks)" if missing
                                else "read-only requested")

    # -- discovery-derived facts -------------------------------------------------------------
    def _mode(self, mode: str | None) -> PowerMode:
        if mode is not None:
            return self.profile.mode(mode)
        nid = self.discovery.nvpmodel_id
        for m in self.profile.modes.values():
            if nid is not None and m.id == nid:
                return m
        if nid is not None:
            self.discovery.missing.append(
                f"power mode: nvpmodel id {nid} is not in {self.profile.path.name}; "
                f"using {self.profile.default_mode}")
        return self.profile.mode()

    def _build_table(self) -> FrequencyTable:
        d, m = self.discovery, self.power_mode

        def clip(freqs: tuple[int, ...], cap: int) -> tuple[int, ...]:
            return tuple(f for f in freqs if f <= cap) or freqs[:1]

        cpu = clip(d.cpu_policies[0].freqs_khz, m.cpu_max_khz) if d.cpu_policies else ()
        gpu = clip(d.gpu.freqs_hz, m.gpu_max_hz) if d.gpu else ()
        emc: tuple[int, ...] = ()
        if d.emc:  # debugfs lists no rates: the profile's table within the limits read from the board
            cap = m.emc_max_hz
            if d.emc_iso_cap_hz and 0 < d.emc_iso_cap_hz < d.emc.max_hz:
                cap = min(cap, d.emc_iso_cap_hz)
            emc = clip(tuple(f for f in self.profile.emc_hz if d.emc.min_hz <= f <= d.emc.max_hz)
                       or (d.emc.max_hz,), cap)
        return FrequencyTable(cpu, gpu, emc)

    def _control_files(self) -> list[Path]:
        d = self.discovery
        files = [p.path / n for p in d.cpu_policies for n in ("scaling_min_freq", "scaling_max_freq")]
        if d.gpu:
            files += [d.gpu.path / "min_freq", d.gpu.path / "max_freq"]
        if d.emc:
            files += [d.emc.lock_path, d.emc.set_path]
        return files

    # -- DeviceBackend ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        """Board profile name."""
        return self.profile.name

    @property
    def table(self) -> FrequencyTable:
        """Discovered frequencies, clipped to the power mode's caps."""
        return self._table

    @property
    def read_only(self) -> bool:
        """True when clocks are not changed (no root, or asked)."""
        return self._read_only

    def apply(self, levels: Levels) -> None:
        """Pin CPU, GPU and EMC to ``levels`` (a no-op when read-only)."""
        t = self._table
        for dom, idx, freqs in (("cpu", levels.cpu, t.cpu_khz), ("gpu", levels.gpu, t.gpu_hz),
                                ("emc", levels.emc, t.emc_hz)):
            if freqs and not 0 <= idx < len(freqs):
                raise DeviceError(f"{self.name}: {dom} level {idx} is not in 0..{len(freqs) - 1}")
        self.set_frequencies(
            t.cpu_khz[levels.cpu] if t.cpu_khz else None,
            t.gpu_hz[levels.gpu] if t.gpu_hz else None,
            t.emc_hz[levels.emc] if t.emc_hz else None,
        )

    def set_frequencies(self, cpu_khz: int | None = None, gpu_hz: int | None = None,
                        emc_hz: int | None = None) -> None:
        """Pin the given frequencies, each of which must be in :attr:`table`; all or nothing."""
        t = self._table
        for dom, f, freqs, unit in (("cpu", cpu_khz, t.cpu_khz, "kHz"), ("gpu", gpu_hz, t.gpu_hz, "Hz"),
                                    ("emc", emc_hz, t.emc_hz, "Hz")):
            if f is not None and f not in freqs:
                raise DeviceError(f"{self.name} ({self.power_mode.name}): {dom} {f} {unit} is not an "
                                  f"available frequency (choose from {', '.join(map(str, freqs))})")
        if self._read_only:
            return
        d = self.discovery
        plan: list[tuple[Path, int]] = []
        if cpu_khz is not None:
            for pol in d.cpu_policies:  # other clusters: their nearest level to the chosen frequency
                f = pol.freqs_khz[_nearest(pol.freqs_khz, cpu_khz)]
                plan += self._pair(pol.path / "scaling_min_freq", pol.path / "scaling_max_freq", f)
        if gpu_hz is not None and d.gpu:
            plan += self._pair(d.gpu.path / "min_freq", d.gpu.path / "max_freq", gpu_hz)
        if emc_hz is not None and d.emc:
            plan += [(d.emc.lock_path, 1), (d.emc.set_path, emc_hz)]
        for path, _ in plan:
            self._saved.remember(path)
        if self._guard is None:
            self._guard = RestoreGuard(self.restore).install()
        txn = Transaction()
        for path, value in plan:
            txn.write(path, value)

    @staticmethod
    def _pair(lo: Path, hi: Path, f: int) -> list[tuple[Path, int]]:
        order = pair_writes(read_int(lo), read_int(hi), f, f)
        return [(lo if which == "min" else hi, v) for which, v in order]

    def current(self) -> Levels:
        """The levels nearest to the clocks running now."""
        d, t = self.discovery, self._table
        cpu = _nearest(t.cpu_khz, read_int(d.cpu_policies[0].path / "scaling_cur_freq")) if t.cpu_khz else 0
        gpu = _nearest(t.gpu_hz, read_int(d.gpu.path / "cur_freq")) if d.gpu else 0
        emc = _nearest(t.emc_hz, read_int(d.emc.rate_path)) if d.emc else 0
        return Levels(cpu, gpu, emc)

    def sample(self) -> PowerSample:
        """Rails, total power, hottest temperature, CPU and GPU utilisation now."""
        return self._telemetry.sample()

    def restore(self) -> None:
        """Write back every control file changed since the first :meth:`apply`."""
        errors = self._saved.restore()
        if errors:
            raise DeviceError("could not restore: " + "; ".join(errors))
        if self._guard is not None:
            guard, self._guard = self._guard, None
            guard.uninstall()

    def __enter__(self) -> SysfsDevice:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.restore()

    def meter(self, period_s: float = 0.05) -> BoardMeter:
        """A sampler of this device's power: ``with dev.meter() as m: ...; m.energy_total_j``, or
        marks and windows (:class:`~dvfo_core.device.meter.BoardMeter`)."""
        return BoardMeter(self._telemetry, period_s)
