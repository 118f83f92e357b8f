"""Run-time discovery of a Jetson's clock controls, power rails and sensors under a root prefix.

Nothing is hard-coded to one board: CPU policies come from cpufreq, the GPU from
``/sys/class/devfreq/*`` by its device-tree node name, the EMC control from bpmp debugfs
(TX2/Xavier/Orin) or the tegra210 override clock (Nano), INA3221 rails from the JetPack 4 IIO driver
or the JetPack 5+ hwmon driver. What is not found is listed in :attr:`Discovery.missing`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from dvfo_core.device.sysfs.files import read_int, read_ints, read_text, under
from dvfo_core.errors import DeviceError

GPU_NODE_NAMES = ("gp10b", "gv11b", "ga10b", "gpu")
CPUFREQ = "/sys/devices/system/cpu"
DEVFREQ = "/sys/class/devfreq"
BPMP_EMC = "/sys/kernel/debug/bpmp/debug/clk/emc"
OVERRIDE_EMC = "/sys/kernel/debug/clk/override.emc"
BWMGR = "/sys/kernel/debug/tegra_bwmgr"
EMC_ISO_CAP = "/sys/kernel/nvpmodel_emc_cap/emc_iso_cap"
INA_IIO = "/sys/bus/i2c/drivers/ina3221x"
INA_HWMON = "/sys/bus/i2c/drivers/ina3221"
THERMAL = "/sys/devices/virtual/thermal"
NVPMODEL_STATUS = "/var/lib/nvpmodel/status"
MC_ALL = "/sys/kernel/actmon_avg_activity/mc_all"
DT_MODEL = "/proc/device-tree/model"
DT_COMPATIBLE = "/proc/device-tree/compatible"
TEGRA_RELEASE = "/etc/nv_tegra_release"

#: What discovery looks for, in words (shown by ``dvfo devices``).
LOOKED_FOR = (
    f"device tree {DT_MODEL} / {DT_COMPATIBLE} naming an nvidia,tegra SoC, and {TEGRA_RELEASE}",
    f"CPU: cpufreq policies {CPUFREQ}/cpufreq/policy*/scaling_available_frequencies",
    f"GPU: a devfreq node in {DEVFREQ}/* whose device/of_node/name is one of {', '.join(GPU_NODE_NAMES)}",
    f"EMC: {BPMP_EMC}/{{rate,mrq_rate_locked}} (TX2/Xavier/Orin) or {OVERRIDE_EMC}/clk_update_rate (Nano)",
    f"power: INA3221 rails in {INA_IIO}/*/iio:device* (JetPack 4) or {INA_HWMON}/*/hwmon/hwmon* (JetPack 5+)",
    f"temperature: {THERMAL}/thermal_zone*/{{type,temp}}",
    f"power mode: {NVPMODEL_STATUS} and {EMC_ISO_CAP}",
)


@dataclass(frozen=True)
class CpuPolicy:
    """One cpufreq policy (a CPU cluster)."""

    path: Path
    cpus: tuple[int, ...]
    freqs_khz: tuple[int, ...]


@dataclass(frozen=True)
class GpuNode:
    """The GPU's devfreq node."""

    path: Path
    of_name: str
    freqs_hz: tuple[int, ...]
    load_path: Path | None


@dataclass(frozen=True)
class EmcControl:
    """How to read and pin the memory clock."""

    kind: str  #: ``bpmp`` or ``override``
    rate_path: Path  #: the current rate (Hz)
    set_path: Path  #: where a pinned rate is written
    lock_path: Path  #: written 1 before pinning (``mrq_rate_locked`` / ``clk_state``)
    min_hz: int
    max_hz: int


@dataclass(frozen=True)
class Rail:
    """One INA3221 channel."""

    name: str
    kind: str  #: ``iio`` or ``hwmon``
    voltage_path: Path  #: mV
    current_path: Path  #: mA
    power_path: Path | None = None  #: mW (IIO only)


@dataclass
class Discovery:
    """What was found under ``root`` and what is missing."""

    root: Path
    is_jetson: bool = False
    model: str = ""
    compatible: str = ""
    release: str = ""
    board: str | None = None
    cpu_policies: list[CpuPolicy] = field(default_factory=list)
    online_cpus: list[int] = field(default_factory=list)
    gpu: GpuNode | None = None
    emc: EmcControl | None = None
    emc_iso_cap_hz: int | None = None
    rails: list[Rail] = field(default_factory=list)
    thermal: dict[str, Path] = field(default_factory=dict)
    nvpmodel_id: int | None = None
    mc_all: Path | None = None
    missing: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        """Human-readable lines: what was found, then what is missing."""
        lines = [f"model: {self.model or '(none)'}; board profile: {self.board or '(unknown)'}"]
        if self.release:
            lines.append(f"L4T: {self.release}")
        for p in self.cpu_policies:
            lines.append(f"cpu policy {p.path.name}: cpus {list(p.cpus)}, {len(p.freqs_khz)} levels "
                         f"{p.freqs_khz[0] / 1e3:g}-{p.freqs_khz[-1] / 1e3:g} MHz")
        if self.gpu:
            lines.append(f"gpu: {self.gpu.path} ({self.gpu.of_name}), {len(self.gpu.freqs_hz)} levels "
                         f"up to {self.gpu.freqs_hz[-1] / 1e6:g} MHz")
        if self.emc:
            lines.append(f"emc: {self.emc.kind} ({self.emc.set_path.parent}), "
                         f"{self.emc.min_hz / 1e6:g}-{self.emc.max_hz / 1e6:g} MHz")
        if self.rails:
            lines.append("power rails: " + ", ".join(f"{r.name} ({r.kind})" for r in self.rails))
        if self.thermal:
            lines.append("thermal zones: " + ", ".join(self.thermal))
        if self.nvpmodel_id is not None:
            lines.append(f"nvpmodel mode id: {self.nvpmodel_id}")
        lines += [f"missing: {m}" for m in self.missing]
        return lines


_BOARD_RULES = (  # (pattern on model + compatible, profile)
    (r"orin nano|p3767-000[345]", "jetson-orin-nano"),
    (r"agx orin|p3701", "jetson-agx-orin"),
    (r"xavier nx|p3668", "jetson-xavier-nx"),
    (r"tx2|tegra186|p3310", "jetson-tx2"),
    (r"jetson nano|jetson-nano|p3448", "jetson-nano"),
)


def guess_board(model: str, compatible: str) -> str | None:
    """The board profile matching the device-tree model/compatible strings, if any."""
    text = f"{model} {compatible}".lower()
    for pattern, board in _BOARD_RULES:
        if re.search(pattern, text):
            return board
    return None


def _opt_text(path: Path) -> str:
    try:
        return read_text(path) if path.is_file() else ""
    except DeviceError:
        return ""


def _cpus(root: Path, d: Discovery) -> None:
    base = under(root, CPUFREQ)
    dirs = sorted((base / "cpufreq").glob("policy*"),
                  key=lambda p: int(p.name[6:]) if p.name[6:].isdigit() else 0)
    if not dirs:  # older kernels: cpu<N>/cpufreq, one per cluster after de-duplication
        seen: dict[Path, Path] = {}
        for c in sorted(base.glob("cpu[0-9]*/cpufreq")):
            seen.setdefault(c.resolve(), c)
        dirs = list(seen.values())
    for p in dirs:
        avail = p / "scaling_available_frequencies"
        if not avail.is_file():
            d.missing.append(f"cpu: {avail} (policy without a frequency table)")
            continue
        try:
            freqs = read_ints(avail)
            related = p / "related_cpus"
            cpus = tuple(int(c) for c in read_text(related).split()) if related.is_file() else ()
        except DeviceError as exc:
            d.missing.append(f"cpu: {exc}")
            continue
        d.cpu_policies.append(CpuPolicy(p, cpus, freqs))
    if not d.cpu_policies:
        d.missing.append(f"cpu: no cpufreq policy with scaling_available_frequencies under {base}")
    for c in sorted(base.glob("cpu[0-9]*"), key=lambda x: int(x.name[3:])):
        online = c / "online"
        if online.is_file() and _opt_text(online) == "1":
            d.online_cpus.append(int(c.name[3:]))


def _gpu(root: Path, d: Discovery) -> None:
    cls = under(root, DEVFREQ)
    for node in sorted(cls.glob("*")):
        of_name = _opt_text(node / "device" / "of_node" / "name")
        compat = _opt_text(node / "device" / "of_node" / "compatible")
        if of_name not in GPU_NODE_NAMES and not any(n in compat for n in GPU_NODE_NAMES[:3]):
            continue
        avail = node / "available_frequencies"
        try:
            freqs = read_ints(avail)
        except DeviceError as exc:
            d.missing.append(f"gpu: {exc}")
            continue
        load = node / "device" / "load"
        if not load.is_file():
            load = next((p for p in (under(root, "/sys/devices/gpu.0/load"),
                                     under(root, "/sys/devices/platform/gpu.0/load")) if p.is_file()), None)
        d.gpu = GpuNode(node.resolve(), of_name or compat, freqs, load)
        return
    d.missing.append(f"gpu: no devfreq node in {cls} with of_node name in {', '.join(GPU_NODE_NAMES)}")


def _emc(root: Path, d: Discovery) -> None:
    bpmp = under(root, BPMP_EMC)
    override = under(root, OVERRIDE_EMC)
    try:
        if (bpmp / "rate").is_file() and (bpmp / "mrq_rate_locked").is_file():
            d.emc = EmcControl("bpmp", bpmp / "rate", bpmp / "rate", bpmp / "mrq_rate_locked",
                               read_int(bpmp / "min_rate"), read_int(bpmp / "max_rate"))
        elif (override / "clk_update_rate").is_file():
            bw = under(root, BWMGR)
            rate = under(root, "/sys/kernel/debug/clk/emc/clk_rate")
            d.emc = EmcControl("override", rate if rate.is_file() else override / "clk_update_rate",
                               override / "clk_update_rate", override / "clk_state",
                               read_int(bw / "emc_min_rate"), read_int(bw / "emc_max_rate"))
    except DeviceError as exc:
        d.missing.append(f"emc: {exc}")
        return
    if d.emc is None:
        d.missing.append(f"emc: neither {bpmp}/rate (bpmp debugfs; needs root) "
                         f"nor {override}/clk_update_rate")
    cap = under(root, EMC_ISO_CAP)
    if cap.is_file():
        try:
            d.emc_iso_cap_hz = read_int(cap)
        except DeviceError as exc:
            d.missing.append(f"emc cap: {exc}")


def _rails(root: Path, d: Discovery) -> None:
    for dev in sorted(under(root, INA_IIO).glob("*/iio:device*")):
        for name_file in sorted(dev.glob("rail_name_*")):
            ch = name_file.name.rsplit("_", 1)[1]
            d.rails.append(Rail(_opt_text(name_file), "iio", dev / f"in_voltage{ch}_input",
                                dev / f"in_current{ch}_input", dev / f"in_power{ch}_input"))
    for hw in sorted(under(root, INA_HWMON).glob("*/hwmon/hwmon*")):
        for label in sorted(hw.glob("in*_label")):
            k = label.name[2:-6]
            name = _opt_text(label)
            if not name or name.upper() == "NC" or "sum of shunt" in name.lower():
                continue
            d.rails.append(Rail(name, "hwmon", hw / f"in{k}_input", hw / f"curr{k}_input"))
    if not d.rails:
        d.missing.append(f"power: no INA3221 rails under {under(root, INA_IIO)} or {under(root, INA_HWMON)}")


def _thermal(root: Path, d: Discovery) -> None:
    zones = sorted(under(root, THERMAL).glob("thermal_zone*"), key=lambda p: int(p.name[12:] or 0))
    for z in zones:
        name = _opt_text(z / "type")
        if name and (z / "temp").is_file():
            d.thermal[name] = z / "temp"
    if not d.thermal:
        d.missing.append(f"temperature: no thermal_zone*/temp under {under(root, THERMAL)}")


def discover(root: str | Path = "/") -> Discovery:
    """Look for every control and sensor of a Jetson under ``root``."""
    root = Path(root)
    d = Discovery(root=root)
    d.model = _opt_text(under(root, DT_MODEL))
    d.compatible = _opt_text(under(root, DT_COMPATIBLE))
    d.release = _opt_text(under(root, TEGRA_RELEASE)).lstrip("# ")
    d.is_jetson = "nvidia,tegra" in d.compatible or bool(d.release)
    if not d.is_jetson:
        d.missing.append(f"device tree: {under(root, DT_COMPATIBLE)} names no nvidia,tegra SoC and "
                         f"{under(root, TEGRA_RELEASE)} is absent")
    d.board = guess_board(d.model, d.compatible) if d.is_jetson else None
    if d.is_jetson and d.board is None:
        d.missing.append(f"board profile: model {d.model!r} matches no shipped profile "
                         "(pass the board by name)")
    _cpus(root, d)
    _gpu(root, d)
    _emc(root, d)
    _rails(root, d)
    _thermal(root, d)
    status = under(root, NVPMODEL_STATUS)
    m = re.search(r"pmode:(\d+)", _opt_text(status))
    if m:
        d.nvpmodel_id = int(m.group(1))
    else:
        d.missing.append(f"power mode: {status} unreadable (the profile's default mode is assumed)")
    mc = under(root, MC_ALL)
    d.mc_all = mc if mc.is_file() else None
    return d
