"""Energy accounting: a frame's energy is the integral of power over the frame, waits included."""

from __future__ import annotations

import pytest

from dvfo_core.device.base import PowerSample
from dvfo_core.device.cloud import CloudModel
from dvfo_core.device.energy import energy_between, integrate, rail_energy
from dvfo_core.device.network import BandwidthTrace, NetworkModel
from dvfo_core.device.twin import TwinDevice, TwinModel
from dvfo_core.errors import DeviceError
from dvfo_core.workload import Workload


def test_trapezoid_integration_of_a_known_power_series():
    s = [PowerSample(0.0, 2.0, {"a": 1.0}), PowerSample(1.0, 4.0, {"a": 3.0}),
         PowerSample(3.0, 4.0, {"a": 3.0})]
    assert integrate(s) == pytest.approx(3.0 + 8.0)
    assert rail_energy(s) == {"a": pytest.approx(2.0 + 6.0)}
    assert energy_between(s, 0.5, 2.0) == pytest.approx((3.0 + 4.0) / 2 * 0.5 + 4.0)
    assert integrate(s[:1]) == 0.0
    with pytest.raises(DeviceError, match="do not cover"):
        energy_between(s, 0.0, 5.0)
    with pytest.raises(DeviceError, match="time order"):
        integrate(list(reversed(s)))


def test_frame_energy_is_the_integral_of_power_including_the_wait_for_the_cloud(resnet18):
    """Head on the edge, payload over a 2 Mbps link, tail on the cloud, result back, fusion on the edge."""
    twin = TwinModel("jetson-nano")
    dev = TwinDevice(twin)
    dev.apply(twin.max_levels())
    net = NetworkModel(BandwidthTrace.constant(2.0, rtt_ms=30.0))
    cloud = CloudModel.load("h100")
    head = Workload("head", resnet18.layers[:25])
    tail = Workload("tail", resnet18.layers[25:])

    dev.account(twin.stage(head, dev.current()))
    t_sent = dev.clock_s
    xfer = net.transfer(60_000, t_sent)
    wait_s = xfer.time_s + cloud.tail_latency_s(tail)
    waited = dev.wait(wait_s)
    dev.account(twin.stage(Workload("fuse", resnet18.layers[-1:]), dev.current()))

    frame_e = dev.energy_j
    assert integrate(list(dev.timeline)) == pytest.approx(frame_e)
    assert energy_between(list(dev.timeline), t_sent, t_sent + wait_s) == pytest.approx(waited.energy_j)
    # waiting is not free: at the clocks the governor chose, the edge keeps drawing idle power
    assert waited.energy_j == pytest.approx(twin.idle(1.0, twin.max_levels()).power_w * wait_s)
    assert waited.energy_j > 0.25 * frame_e
    # the same wait at the lowest clocks costs less: the reason the governor picks clocks per frame
    assert twin.idle(wait_s, twin.min_levels()).energy_j < waited.energy_j
