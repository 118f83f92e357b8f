"""The digital twin: latency/power physics, determinism, bad input, and the TwinDevice backend."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from dvfo_core.device.base import Levels
from dvfo_core.device.twin import StageCost, TwinDevice, TwinModel
from dvfo_core.errors import DeviceError
from dvfo_core.workload import Workload

BOARDS = ["jetson-nano", "jetson-tx2", "jetson-xavier-nx", "jetson-orin-nano", "jetson-agx-orin"]
DOMAINS = ("cpu", "gpu", "emc")


def _sweep(twin: TwinModel, work: Workload, dom: str) -> list[StageCost]:
    top = twin.max_levels()
    n = twin.table.shape[DOMAINS.index(dom)]
    return [twin.stage(work, dataclasses.replace(top, **{dom: i})) for i in range(n)]


@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("dom", DOMAINS)
def test_latency_falls_monotonically_with_each_frequency(board, dom, resnet18):
    costs = _sweep(TwinModel(board), resnet18, dom)
    lat = [c.latency_s for c in costs]
    assert all(b <= a for a, b in itertools.pairwise(lat)), lat
    assert lat[-1] < lat[0]


@pytest.mark.parametrize("model", ["resnet18", "mobilenet_v2"])
def test_energy_optimal_gpu_clock_on_the_nano_is_not_an_extreme(model, request):
    """With a 10 fps camera (the frame's energy runs to the next frame) the GPU optimum is interior.

    Back to back it no longer is for ResNet-18: since the Nano's GPU rail follows the published
    POM_5V_GPU reading (~1.1-1.3 W at 921.6 MHz, jetson-inference issue #1206, see
    docs/twin-calibration.md) the GPU's dynamic power is small next to the board's static power, so
    racing at the top clock is cheapest (MobileNetV2, launch-bound, still has an interior optimum).
    """
    work = request.getfixturevalue(model)
    twin = TwinModel("jetson-nano")
    frames = []
    for cost in _sweep(twin, work, "gpu"):
        wait = twin.idle(max(0.0, 0.1 - cost.latency_s), twin.max_levels())
        frames.append(cost.energy_j + wait.energy_j)
    best = frames.index(min(frames))
    assert 0 < best < len(frames) - 1, frames
    if model == "mobilenet_v2":
        energies = [c.energy_j for c in _sweep(twin, work, "gpu")]
        assert 0 < energies.index(min(energies)) < len(energies) - 1, energies


def _grid(twin: TwinModel, work: Workload, period_s: float | None = None) -> dict[tuple[int, ...], float]:
    """Energy of a frame at every clock setting; with a period, the wait for the next frame counts."""
    cpu, gpu, emc = twin.table.shape
    out = {}
    for c in range(cpu):
        for g in range(gpu):
            for m in range(emc):
                lv = Levels(c, g, m)
                busy = twin.stage(work, lv)
                wait = twin.idle(max(0.0, period_s - busy.latency_s), lv) if period_s else None
                out[(c, g, m)] = busy.energy_j + (wait.energy_j if wait else 0.0)
    return out


@pytest.mark.parametrize("model", ["resnet18", "mobilenet_v2"])
def test_joint_energy_optimum_on_the_nano_beats_max_clocks(model, request):
    """Exhaustive search over the Nano's 15 x 12 x 7 settings.

    Back to back the optimum is at most as costly as max clocks (saving 0.7 % / 2.8 % since the GPU
    rail follows the published reading, jetson-inference issue #1206; it was 4.8 % / 15.5 % with the
    earlier envelope-fitted GPU coefficient); with a 10 fps camera the slack makes DVFS pay (> 10 %).
    """
    work = request.getfixturevalue(model)
    twin = TwinModel("jetson-nano")
    top = tuple(x - 1 for x in twin.table.shape)
    back_to_back = _grid(twin, work)
    best = min(back_to_back, key=back_to_back.get)
    assert best != (0, 0, 0)
    assert back_to_back[best] <= back_to_back[top]
    at_10fps = _grid(twin, work, period_s=0.1)  # a 10 fps camera: the edge waits for the next frame
    best = min(at_10fps, key=at_10fps.get)
    assert best not in (top, (0, 0, 0))
    assert at_10fps[best] < 0.9 * at_10fps[top]


@pytest.mark.parametrize("board", BOARDS)
def test_some_interior_clock_setting_beats_both_extremes_on_energy(board, mobilenet_v2):
    twin = TwinModel(board)
    e_max = twin.stage(mobilenet_v2, twin.max_levels()).energy_j
    e_min = twin.stage(mobilenet_v2, twin.min_levels()).energy_j
    best = min(c.energy_j for dom in DOMAINS for c in _sweep(twin, mobilenet_v2, dom))
    assert best < min(e_max, e_min)


def test_nano_rails_match_the_published_trace_and_stay_in_the_10w_mode(resnet18, mobilenet_v2):
    """Per-rail power at max clocks against a published Nano trace (jetson-inference issue #1206).

    There, a TensorRT detector at 921.6 MHz (GR3D 86-99 %) drew POM_5V_GPU 1.11-1.26 W and
    POM_5V_CPU 0.47-0.54 W within POM_5V_IN 4.52-4.53 W (that total also powers NVDEC video decoding,
    which the twin's workload does not run, so the twin's total may be lower, not higher); the same
    trace shows POM_5V_CPU up to 1.17 W while the GPU was less busy. ResNet-18 is in the trace's regime
    (GPU > 85 % busy); MobileNetV2 is launch-bound (CPU busier, GPU less), so only the bounds apply.
    """
    twin = TwinModel("jetson-nano")
    r18 = twin.stage(resnet18, twin.max_levels())
    assert 1.0 <= r18.rails_w["gpu"] <= 1.3
    assert 0.3 <= r18.rails_w["cpu"] <= 0.7
    for work in (resnet18, mobilenet_v2):
        load = twin.stage(work, twin.max_levels())
        assert load.rails_w["gpu"] <= 1.3
        assert load.rails_w["cpu"] <= 1.2
        assert 2.0 <= load.power_w <= 4.6 <= 10.0  # <= the published total, inside the 10 W mode
        assert load.power_w == pytest.approx(sum(load.rails_w.values()))
        assert load.energy_j == pytest.approx(load.power_w * load.latency_s)
    busy = twin.stage(resnet18, twin.max_levels())
    assert busy.util["gpu"] > 0.85  # the regime of the published GR3D 86-99 %
    idle = twin.idle(1.0, twin.min_levels())
    assert 1.0 <= idle.power_w <= 2.0


def test_waiting_at_high_clocks_costs_more_than_at_low_clocks():
    twin = TwinModel("jetson-nano")
    hi, lo = twin.idle(0.5, twin.max_levels()), twin.idle(0.5, twin.min_levels())
    assert hi.energy_j > lo.energy_j > 0
    assert hi.latency_s == lo.latency_s == 0.5
    assert twin.idle(0.0, twin.max_levels()).energy_j == 0.0
    assert twin.idle(2.0, twin.max_levels()).energy_j == pytest.approx(4 * hi.energy_j)


def test_fp16_is_faster_than_fp32_and_bigger_models_are_slower(profiled):
    fp32, fp16 = TwinModel("jetson-nano"), TwinModel("jetson-nano", precision="fp16")
    r18 = fp32.stage(profiled("resnet18"), fp32.max_levels()).latency_s
    assert fp16.stage(profiled("resnet18", half=True), fp16.max_levels()).latency_s < r18
    assert fp32.stage(profiled("resnet50"), fp32.max_levels()).latency_s > 1.5 * r18


def test_stronger_boards_are_faster(resnet18):
    lat = {b: TwinModel(b).stage(resnet18, TwinModel(b).max_levels()).latency_s for b in BOARDS}
    assert lat["jetson-agx-orin"] < lat["jetson-xavier-nx"] < lat["jetson-nano"]
    assert lat["jetson-orin-nano"] < lat["jetson-nano"]


def test_deterministic_under_a_seed_and_noise_is_optional(resnet18):
    exact = TwinModel("jetson-nano").stage(resnet18, Levels(5, 5, 5))
    assert TwinModel("jetson-nano", seed=1).stage(resnet18, Levels(5, 5, 5)) == exact
    a = [TwinModel("jetson-nano", seed=7, noise=0.05).stage(resnet18, Levels(5, 5, 5)) for _ in range(2)]
    assert a[0] == a[1]
    noisy = TwinModel("jetson-nano", seed=8, noise=0.05)
    draws = [noisy.stage(resnet18, Levels(5, 5, 5)).latency_s for _ in range(50)]
    assert len(set(draws)) == 50
    assert sum(draws) / 50 == pytest.approx(exact.latency_s, rel=0.05)


def test_per_layer_costs_add_up_to_the_stage(mobilenet_v2):
    twin = TwinModel("jetson-xavier-nx")
    lv = Levels(7, 9, 3)
    layers, overhead = twin.layer_costs(mobilenet_v2, lv)
    whole = twin.stage(mobilenet_v2, lv)
    assert len(layers) == len(mobilenet_v2.layers)
    assert sum(c.latency_s for c in layers) + overhead.latency_s == pytest.approx(whole.latency_s)
    assert sum(c.energy_j for c in layers) + overhead.energy_j == pytest.approx(whole.energy_j)
    # a ReLU6 moves bytes and computes (almost) nothing: memory-bound, it speeds up with the EMC only
    relus = [i for i, lay in enumerate(mobilenet_v2.layers) if lay.kind == "ReLU6"]
    big = max(relus, key=lambda i: mobilenet_v2.layers[i].bytes)
    base, _ = twin.layer_costs(mobilenet_v2, Levels(17, 9, 3))
    fast_emc, _ = twin.layer_costs(mobilenet_v2, Levels(17, 9, 7))
    fast_gpu, _ = twin.layer_costs(mobilenet_v2, Levels(17, 14, 3))
    assert fast_emc[big].latency_s < 0.8 * base[big].latency_s
    assert fast_gpu[big].latency_s == pytest.approx(base[big].latency_s, rel=0.02)


def test_empty_workload_costs_nothing():
    twin = TwinModel("jetson-nano")
    assert twin.stage(Workload("nothing"), twin.max_levels()) == StageCost(0.0, 0.0, 0.0, {}, {})


def test_levels_outside_the_table_are_refused(resnet18):
    twin = TwinModel("jetson-orin-nano", mode="7W")
    cpu, gpu, _ = twin.table.shape
    for bad in (Levels(cpu, 0, 0), Levels(0, gpu, 0), Levels(0, 0, -1)):
        with pytest.raises(DeviceError, match="level"):
            twin.stage(resnet18, bad)
    with pytest.raises(DeviceError, match="idle duration"):
        twin.idle(-1.0, twin.max_levels())


def test_default_levels_are_what_the_stock_governors_settle_at():
    twin = TwinModel("jetson-nano")
    d, top = twin.default_levels(), twin.max_levels()
    assert d.gpu == top.gpu and d.emc == top.emc
    assert twin.table.cpu_khz[d.cpu] >= 0.8 * twin.table.cpu_khz[-1] > twin.table.cpu_khz[d.cpu - 1]


def test_twin_device_applies_accounts_and_heats_up(resnet18):
    dev = TwinDevice(TwinModel("jetson-nano"))
    assert dev.backend == "twin" and dev.name == "jetson-nano" and not dev.read_only
    start = dev.current()
    dev.apply(dev.model.max_levels())
    assert dev.current() == dev.model.max_levels()
    with pytest.raises(DeviceError):
        dev.apply(Levels(99, 0, 0))
    t0 = dev.sample().temperature_c
    busy = dev.model.stage(resnet18, dev.current())
    for _ in range(2000):  # ~70 s of back-to-back frames
        dev.account(busy)
    s = dev.sample()
    assert s.total_w == pytest.approx(busy.power_w)
    assert s.t_s == pytest.approx(2000 * busy.latency_s)
    assert dev.energy_j == pytest.approx(2000 * busy.energy_j)
    assert s.temperature_c > t0 + 10
    hot = s.temperature_c
    dev.wait(60.0)
    assert dev.sample().temperature_c < hot
    assert dev.sample().gpu_util == 0.0
    dev.restore()
    assert dev.current() == start


@pytest.mark.xfail(strict=True, reason=(
    "known gap (docs/twin-calibration.md, 'EMC sensitivity'): the twin moves Orin Nano latency by "
    "0.5-5 % between EMC 2133 and 3199 MHz, the published measurement by 11-48 %; no sourced "
    "traffic model closes it yet. strict: once the twin lands in the range this XPASSes: unmark it"))
@pytest.mark.parametrize("model", ["resnet18", "mobilenet_v2"])
def test_emc_sensitivity_on_the_orin_nano_is_in_the_published_range(model, request):
    """arXiv 2606.16106 (Kang, 'Beyond CPU-GPU Frequency', Jetson Orin Nano): across the upper EMC
    range 2133 -> 3199 MHz the median latency moves by +11 % to +48 % depending on the workload."""
    work = request.getfixturevalue(model)
    twin = TwinModel("jetson-orin-nano", mode="MAXN")
    top = twin.max_levels()
    slow = dataclasses.replace(top, emc=twin.table.emc_hz.index(2133000000))
    assert twin.table.emc_hz[top.emc] == 3199000000
    rise = twin.stage(work, slow).latency_s / twin.stage(work, top).latency_s - 1
    assert 0.11 <= rise <= 0.48, rise
