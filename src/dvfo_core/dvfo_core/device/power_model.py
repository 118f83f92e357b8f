"""The twin's power model: per-domain ``V(f)^2 f`` dynamic power plus leakage plus board static power.

For domain ``d`` at frequency ``f`` with supply ``V = V_d(f)`` (the board's voltage curve):

    P_d = leak_d * V + c_d * V^2 * f * activity_d

where activity is the switching share: an idle floor (clock tree and housekeeping at the pinned
clock) plus the utilisation of the stage. CPU activity is counted in busy cores. The board adds a
constant ``board_static_w`` (regulators, DRAM refresh, peripherals). Coefficients live in
``config/boards/<board>.yaml`` under ``power``.
"""

from __future__ import annotations

from dvfo_core.device.perf_model import Clocks
from dvfo_core.device.profiles import BoardProfile

#: Names of the twin's rails in :attr:`StageCost.rails_w` (documented in docs/device.md).
RAILS = ("cpu", "gpu", "emc", "static")


def rail_power(
    profile: BoardProfile,
    clocks: Clocks,
    online_cpus: int,
    cpu_util: float = 0.0,
    gpu_util: float = 0.0,
    emc_util: float = 0.0,
) -> dict[str, float]:
    """Power in W of each rail at ``clocks`` given the domains' utilisation in [0, 1]."""
    hw = profile.full_table
    out: dict[str, float] = {}
    for dom, f, f_max, activity in (
        ("cpu", clocks.cpu_hz, hw.cpu_khz[-1] * 1e3,
         profile.rail_power["cpu"].idle_activity * online_cpus + cpu_util * profile.twin.load_cores),
        ("gpu", clocks.gpu_hz, hw.gpu_hz[-1],
         profile.rail_power["gpu"].idle_activity + (1 - profile.rail_power["gpu"].idle_activity) * gpu_util),
        ("emc", clocks.emc_hz, hw.emc_hz[-1],
         profile.rail_power["emc"].idle_activity + (1 - profile.rail_power["emc"].idle_activity) * emc_util),
    ):
        coef = profile.rail_power[dom]
        volts = profile.voltage[dom].volts(f, f_max)
        out[dom] = coef.leak_w_per_v * volts + coef.c_eff_nf * 1e-9 * volts * volts * f * activity
    out["static"] = profile.board_static_w
    return out
