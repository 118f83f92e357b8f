"""The twin's latency model: a per-layer roofline on the GPU overlapped with CPU-side dispatch.

For each layer that executes (its FLOPs and bytes come from the real torch module, see
:mod:`dvfo_core.workload`):

* GPU time   ``t_gpu = max(F / (peak_flops(f_gpu) * eff_c), B / (bw(f_emc) * eff_m)) + k / f_gpu``
  (roofline: compute- or memory-bound, plus a fixed per-kernel cost in GPU cycles);
* CPU time   ``t_cpu = c_layer / f_cpu`` (the framework dispatching the layer);
* layer time ``max(t_gpu, t_cpu)``: dispatch is asynchronous, so the slower side sets the pace.

A stage adds ``c_frame / f_cpu`` of CPU-only work (synchronisation, pre/post-processing).
"""

from __future__ import annotations

from dataclasses import dataclass

from dvfo_core.device.profiles import BoardProfile
from dvfo_core.errors import ConfigError
from dvfo_core.workload import Workload


@dataclass(frozen=True)
class Clocks:
    """Clock frequencies in Hz of the three domains."""

    cpu_hz: float
    gpu_hz: float
    emc_hz: float


@dataclass(frozen=True)
class StageTiming:
    """How long a stage takes and how busy each domain is meanwhile."""

    latency_s: float
    cpu_busy_s: float  #: time the framework thread is busy
    gpu_busy_s: float  #: time the GPU executes kernels
    dram_bytes: float  #: bytes moved to or from DRAM

    def utilisation(self, profile: BoardProfile, clocks: Clocks) -> tuple[float, float, float]:
        """CPU, GPU and EMC utilisation in [0, 1] (EMC: share of peak bandwidth)."""
        if self.latency_s <= 0:
            return 0.0, 0.0, 0.0
        bw = profile.emc_bytes_per_cycle * clocks.emc_hz
        return (
            min(1.0, self.cpu_busy_s / self.latency_s),
            min(1.0, self.gpu_busy_s / self.latency_s),
            min(1.0, self.dram_bytes / (bw * self.latency_s)),
        )


def _peak(profile: BoardProfile, clocks: Clocks, precision: str) -> tuple[float, float]:
    try:
        flops_per_cycle = profile.gpu_flops_per_cycle[precision]
    except KeyError:
        raise ConfigError(
            f"{profile.path.name}: no gpu.flops_per_cycle for precision {precision!r} "
            f"(known: {', '.join(profile.gpu_flops_per_cycle)})"
        ) from None
    p = profile.twin
    return (flops_per_cycle * clocks.gpu_hz * p.compute_efficiency,
            profile.emc_bytes_per_cycle * clocks.emc_hz * p.memory_efficiency)


def layer_timings(
    profile: BoardProfile, workload: Workload, clocks: Clocks, precision: str
) -> list[StageTiming]:
    """Timing of every layer of ``workload`` (without the per-stage CPU overhead)."""
    peak, bw = _peak(profile, clocks, precision)
    kernel_s = profile.twin.gpu_kernel_cycles / clocks.gpu_hz
    dispatch_s = profile.twin.framework_cycles_per_layer / clocks.cpu_hz
    out = []
    for layer in workload.layers:
        t_gpu = max(layer.flops / peak, layer.bytes / bw) + kernel_s
        out.append(StageTiming(max(t_gpu, dispatch_s), dispatch_s, t_gpu, float(layer.bytes)))
    return out


def frame_timing(profile: BoardProfile, clocks: Clocks) -> StageTiming:
    """The per-stage CPU-only work (synchronisation, pre/post-processing)."""
    frame_s = profile.twin.frame_overhead_cycles / clocks.cpu_hz
    return StageTiming(frame_s, frame_s, 0.0, 0.0)


def stage_timing(profile: BoardProfile, workload: Workload, clocks: Clocks, precision: str) -> StageTiming:
    """Latency of ``workload`` on ``profile`` at ``clocks``; an empty workload costs nothing."""
    if not workload.layers:
        return StageTiming(0.0, 0.0, 0.0, 0.0)
    parts = [*layer_timings(profile, workload, clocks, precision), frame_timing(profile, clocks)]
    return StageTiming(
        sum(t.latency_s for t in parts),
        sum(t.cpu_busy_s for t in parts),
        sum(t.gpu_busy_s for t in parts),
        sum(t.dram_bytes for t in parts),
    )
