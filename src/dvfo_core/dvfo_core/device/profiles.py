"""Board profiles: the real figures of each Jetson, read from ``config/boards/<board>.yaml``.

The YAML file is the one source of every board figure (frequency tables, core counts, memory bus,
power modes, power-model coefficients), each with a ``source`` line. This module only parses and
validates it; :meth:`BoardProfile.table` clips the tables to a power mode's caps.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dvfo_core.device.base import FrequencyTable
from dvfo_core.errors import ConfigError
from dvfo_core.paths import config_dir

DOMAINS = ("cpu", "gpu", "emc")


@dataclass(frozen=True)
class VoltageCurve:
    """V(f) of one clock domain, either tabulated or an assumed parametric shape.

    * Tabulated (``points``: ascending ``(frequency Hz, volts)`` pairs, e.g. from the L4T kernel's
      DVFS tables): linear interpolation between points, held flat outside them.
    * Parametric (no ``points``): flat at ``v_min`` up to ``knee_frac`` of the reference frequency,
      then linear to ``v_max`` at the reference frequency. The reference is ``f_ref`` when given
      (the top level the shape was set for), else the caller's ``f_max``; above the reference the
      same slope continues (a higher clock needs a higher voltage).
    """

    v_min: float
    v_max: float
    knee_frac: float
    points: tuple[tuple[float, float], ...] = ()
    f_ref: float | None = None

    @property
    def tabulated(self) -> bool:
        """Whether V(f) comes from tabulated points rather than the assumed shape."""
        return bool(self.points)

    def volts(self, f: float, f_max: float) -> float:
        """Supply voltage at frequency ``f`` in Hz (``f_max``: the domain's top level in Hz)."""
        if self.points:
            fs = [p[0] for p in self.points]
            if f <= fs[0]:
                return self.points[0][1]
            if f >= fs[-1]:
                return self.points[-1][1]
            i = bisect.bisect_right(fs, f)
            (f0, v0), (f1, v1) = self.points[i - 1], self.points[i]
            return v0 + (v1 - v0) * (f - f0) / (f1 - f0)
        ref = self.f_ref if self.f_ref is not None else f_max
        knee = self.knee_frac * ref
        if f <= knee or ref <= knee:
            return self.v_min
        return self.v_min + (self.v_max - self.v_min) * (f - knee) / (ref - knee)


@dataclass(frozen=True)
class RailPower:
    """Power coefficients of a domain: dynamic ``c_eff_nf*1e-9*V^2*f*activity``, leakage ``leak*V``."""

    c_eff_nf: float
    leak_w_per_v: float
    idle_activity: float


@dataclass(frozen=True)
class PowerMode:
    """One nvpmodel power mode: online CPUs and the clock caps it sets."""

    name: str
    id: int
    budget_w: float
    online_cpus: int
    cpu_max_khz: int
    gpu_max_hz: int
    emc_max_hz: int


@dataclass(frozen=True)
class TwinParams:
    """Framework and efficiency parameters of the twin's latency model (calibrated, see docs)."""

    compute_efficiency: float  #: achieved share of peak GPU FLOP/s in compute-bound layers
    memory_efficiency: float  #: achieved share of peak DRAM bandwidth in memory-bound layers
    gpu_kernel_cycles: float  #: fixed GPU-side cycles per kernel (launch latency, tail effects)
    framework_cycles_per_layer: float  #: CPU cycles the framework spends dispatching one layer
    frame_overhead_cycles: float  #: CPU cycles per stage outside the layers (sync, pre/post)
    load_cores: float  #: CPU cores busy while the framework thread is busy (thread + helpers)


@dataclass(frozen=True)
class BoardProfile:
    """All figures of one board that the device layer and the twin need."""

    name: str
    description: str
    soc: str
    path: Path
    cpu_cores: int
    cpu_khz: tuple[int, ...]
    gpu_hz: tuple[int, ...]
    emc_hz: tuple[int, ...]
    gpu_flops_per_cycle: dict[str, float]
    emc_bytes_per_cycle: float  #: bus width in bytes x transfers per clock
    voltage: dict[str, VoltageCurve]
    rail_power: dict[str, RailPower]
    board_static_w: float
    rails: dict[str, str]  #: twin domain or "total" -> INA3221 rail name on the real board
    modes: dict[str, PowerMode]
    default_mode: str
    thermal: dict[str, float]
    twin: TwinParams
    max_mode_name: str | None = None  #: the ``max_mode:`` key of the YAML (None: highest caps)

    def mode(self, mode: str | None = None) -> PowerMode:
        """The named power mode (the default mode when ``None``)."""
        key = self.default_mode if mode is None else mode
        try:
            return self.modes[key]
        except KeyError:
            raise ConfigError(
                f"{self.path.name}: unknown power mode {key!r} (known: {', '.join(self.modes)})"
            ) from None

    def table(self, mode: str | None = None) -> FrequencyTable:
        """The frequency table clipped to the caps of ``mode`` (the default mode when ``None``).

        A level is kept when it is at or below the cap; the lowest level is always kept.
        """
        m = self.mode(mode)

        def clip(freqs: tuple[int, ...], cap: int) -> tuple[int, ...]:
            kept = tuple(f for f in freqs if f <= cap)
            return kept or freqs[:1]

        return FrequencyTable(
            cpu_khz=clip(self.cpu_khz, m.cpu_max_khz),
            gpu_hz=clip(self.gpu_hz, m.gpu_max_hz),
            emc_hz=clip(self.emc_hz, m.emc_max_hz),
        )

    @property
    def max_mode(self) -> str:
        """Name of the board's maximum-performance power mode.

        The YAML's ``max_mode`` key when present; otherwise the mode with the highest caps (GPU,
        then EMC, then CPU cap, then online CPUs).
        """
        if self.max_mode_name is not None:
            return self.max_mode_name
        return max(self.modes.values(),
                   key=lambda m: (m.gpu_max_hz, m.emc_max_hz, m.cpu_max_khz, m.online_cpus)).name

    @property
    def full_table(self) -> FrequencyTable:
        """The unclipped hardware table."""
        return FrequencyTable(self.cpu_khz, self.gpu_hz, self.emc_hz)


def boards_dir() -> Path:
    """The directory holding ``<board>.yaml`` profiles."""
    return config_dir() / "boards"


def list_profiles() -> list[str]:
    """Names of every shipped board profile, sorted."""
    return sorted(p.stem for p in boards_dir().glob("*.yaml"))


def _get(data: dict[str, Any], dotted: str, path: Path) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"{path}: missing field '{dotted}'")
        node = node[part]
    return node


def _num(data: dict[str, Any], dotted: str, path: Path, positive: bool = True) -> float:
    value = _get(data, dotted, path)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{path}: field '{dotted}' must be a number, got {value!r}")
    if positive and value <= 0:
        raise ConfigError(f"{path}: field '{dotted}' must be > 0, got {value!r}")
    return float(value)


def _freqs(data: dict[str, Any], dotted: str, path: Path) -> tuple[int, ...]:
    value = _get(data, dotted, path)
    if not isinstance(value, list) or not value or not all(isinstance(v, int) and v > 0 for v in value):
        raise ConfigError(f"{path}: field '{dotted}' must be a non-empty list of positive integers")
    if list(value) != sorted(set(value)):
        raise ConfigError(f"{path}: field '{dotted}' must be strictly ascending")
    return tuple(value)


def _require_source(data: dict[str, Any], section: str, key: str, path: Path) -> None:
    node = data.get(section) if section else data
    if not isinstance(node, dict) or not str(node.get(key, "")).strip():
        where = f"{section}.{key}" if section else key
        raise ConfigError(f"{path}: missing source line '{where}'")


def _voltage(data: dict[str, Any], dom: str, path: Path) -> VoltageCurve:
    """``<dom>.voltage``: ``{points: [[f_hz, volts], ...]}`` or ``{v_min, v_max, knee_frac[, f_ref_hz]}``."""
    node = _get(data, f"{dom}.voltage", path)
    if isinstance(node, dict) and "points" in node:
        pts = node["points"]
        ok = isinstance(pts, list) and len(pts) >= 2 and all(
            isinstance(p, list) and len(p) == 2 and all(
                isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 for x in p) for p in pts)
        if not ok:
            raise ConfigError(f"{path}: field '{dom}.voltage.points' must be a list of >= 2 "
                              "[frequency_hz, volts] pairs of positive numbers")
        freqs = [float(p[0]) for p in pts]
        if freqs != sorted(set(freqs)):
            raise ConfigError(
                f"{path}: field '{dom}.voltage.points' must have strictly ascending frequencies")
        points = tuple((float(f), float(v)) for f, v in pts)
        volts = [v for _, v in points]
        return VoltageCurve(min(volts), max(volts), 0.0, points)
    curve = VoltageCurve(
        _num(data, f"{dom}.voltage.v_min", path),
        _num(data, f"{dom}.voltage.v_max", path),
        _num(data, f"{dom}.voltage.knee_frac", path, positive=False),
        f_ref=_num(data, f"{dom}.voltage.f_ref_hz", path) if "f_ref_hz" in node else None,
    )
    if curve.v_max < curve.v_min:
        raise ConfigError(f"{path}: {dom}.voltage.v_max is below v_min")
    return curve


def parse_profile(path: Path) -> BoardProfile:
    """Parse and validate one board YAML file."""
    try:
        # libyaml's loader when PyYAML has it: ~10x faster than the pure-Python one (`dvfo devices`)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    for section, key in [("cpu", "source"), ("gpu", "source"), ("gpu", "flops_source"), ("emc", "source"),
                         ("", "modes_source"), ("power", "source"), ("power", "rails_source"),
                         ("", "thermal_source"), ("twin", "source")]:
        _require_source(data, section, key, path)
    voltage = {}
    rail_power = {}
    for dom in DOMAINS:
        _require_source(data, dom, "voltage_source", path)
        voltage[dom] = _voltage(data, dom, path)
        rail_power[dom] = RailPower(
            _num(data, f"power.{dom}.c_eff_nf", path),
            _num(data, f"power.{dom}.leak_w_per_v", path, positive=False),
            _num(data, f"power.{dom}.idle_activity", path, positive=False),
        )
    modes_raw = _get(data, "modes", path)
    if not isinstance(modes_raw, dict) or not modes_raw:
        raise ConfigError(f"{path}: field 'modes' must be a non-empty mapping")
    modes = {}
    for mname in modes_raw:
        pre = f"modes.{mname}"
        modes[str(mname)] = PowerMode(
            name=str(mname),
            id=int(_num(data, f"{pre}.id", path, positive=False)),
            budget_w=_num(data, f"{pre}.budget_w", path),
            online_cpus=int(_num(data, f"{pre}.online_cpus", path)),
            cpu_max_khz=int(_num(data, f"{pre}.cpu_max_khz", path)),
            gpu_max_hz=int(_num(data, f"{pre}.gpu_max_hz", path)),
            emc_max_hz=int(_num(data, f"{pre}.emc_max_hz", path)),
        )
    default_mode = str(_get(data, "default_mode", path))
    if default_mode not in modes:
        raise ConfigError(f"{path}: default_mode {default_mode!r} is not one of the modes")
    max_mode = data.get("max_mode")
    if max_mode is not None and str(max_mode) not in modes:
        raise ConfigError(f"{path}: max_mode {max_mode!r} is not one of the modes")
    flops = _get(data, "gpu.flops_per_cycle", path)
    if not isinstance(flops, dict) or "fp32" not in flops:
        raise ConfigError(f"{path}: field 'gpu.flops_per_cycle' must map precisions (fp32, fp16) to numbers")
    rails = _get(data, "power.rails", path)
    if not isinstance(rails, dict) or "total" not in rails:
        raise ConfigError(f"{path}: field 'power.rails' must be a mapping with a 'total' rail")
    twin = TwinParams(*(
        _num(data, f"twin.{f}", path)
        for f in ("compute_efficiency", "memory_efficiency", "gpu_kernel_cycles",
                  "framework_cycles_per_layer", "frame_overhead_cycles", "load_cores")
    ))
    name = str(_get(data, "name", path))
    if name != path.stem:
        raise ConfigError(f"{path}: field 'name' is {name!r} but the file is {path.name}")
    return BoardProfile(
        name=name,
        description=str(data.get("description", "")),
        soc=str(_get(data, "soc", path)),
        path=path,
        cpu_cores=int(_num(data, "cpu.cores", path)),
        cpu_khz=_freqs(data, "cpu.freqs_khz", path),
        gpu_hz=_freqs(data, "gpu.freqs_hz", path),
        emc_hz=_freqs(data, "emc.freqs_hz", path),
        gpu_flops_per_cycle={str(k): float(v) for k, v in flops.items()},
        emc_bytes_per_cycle=(
            _num(data, "emc.bus_width_bits", path) / 8 * _num(data, "emc.transfers_per_clock", path)
        ),
        voltage=voltage,
        rail_power=rail_power,
        board_static_w=_num(data, "power.board_static_w", path),
        rails={str(k): str(v) for k, v in rails.items()},
        modes=modes,
        default_mode=default_mode,
        thermal={
            k: _num(data, f"thermal.{k}", path, positive=False) for k in ("ambient_c", "r_c_per_w", "tau_s")
        },
        twin=twin,
        max_mode_name=None if max_mode is None else str(max_mode),
    )


@functools.lru_cache(maxsize=32)
def _load_cached(path: Path) -> BoardProfile:
    return parse_profile(path)


def load_profile(name: str) -> BoardProfile:
    """Load the board profile ``name`` (e.g. ``jetson-nano``) or a path to a board YAML file."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"board profile file {name} does not exist")
        return _load_cached(path.resolve())
    path = boards_dir() / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"unknown board {name!r} (known: {', '.join(list_profiles())})")
    return _load_cached(path.resolve())
