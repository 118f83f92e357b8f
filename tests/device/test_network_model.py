"""Network model: trace files, looping, transfers over time-varying bandwidth, radio energy."""

from __future__ import annotations

import pytest

from dvfo_core.device.network import (
    DEFAULT_RTT_MS,
    RADIOS,
    BandwidthTrace,
    NetworkModel,
    RadioModel,
    list_traces,
    load_trace,
)
from dvfo_core.device.trace_gen import DEFAULT_SEED, generate
from dvfo_core.errors import ConfigError


def test_shipped_traces_exist_and_load():
    assert set(list_traces()) >= {"steady-0.5mbps", "steady-2mbps", "steady-8mbps", "wifi-fades", "lte-like"}
    for name in list_traces():
        tr = load_trace(name)
        assert tr.period_s > 0 and tr.mean_mbps > 0
    assert load_trace("steady-2mbps").at(12.3) == (2.0, 20.0)


def test_shipped_traces_are_regenerated_bit_for_bit_from_the_seed(tmp_path):
    for path in generate(tmp_path, DEFAULT_SEED):
        from dvfo_core.device.network import traces_dir

        assert path.read_bytes() == (traces_dir() / path.name).read_bytes()


def test_wifi_trace_has_fades_and_lte_trace_wanders():
    wifi = load_trace("wifi-fades")
    assert wifi.mbps.min() < 1.0 and wifi.mean_mbps > 5.0
    lte = load_trace("lte-like")
    assert lte.mbps.min() >= 0.5 and lte.mbps.max() <= 12.0 and lte.rtt_ms.min() >= 50.0


def test_trace_is_piecewise_constant_and_loops(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("time_s,bandwidth_mbps,rtt_ms\n0,1,10\n1,4,30\n")
    tr = BandwidthTrace.load(p)
    assert tr.period_s == 2.0
    assert tr.at(0.5) == (1.0, 10.0)
    assert tr.at(1.5) == (4.0, 30.0)
    assert tr.at(2.5) == (1.0, 10.0)  # looped
    assert tr.at(5.9) == (4.0, 30.0)


def test_rtt_column_is_optional_with_a_documented_default(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("time_s,bandwidth_mbps\n0,3\n")
    assert BandwidthTrace.load(p).at(7.0) == (3.0, DEFAULT_RTT_MS)


def test_transfer_on_a_steady_link():
    net = NetworkModel(BandwidthTrace.constant(8.0, rtt_ms=20.0), RADIOS["wifi"])
    tr = net.transfer(100_000, 0.0)  # 0.8 Mbit at 8 Mbps = 0.1 s, plus one RTT
    assert tr.time_s == pytest.approx(0.1 + 0.02)
    radio = RADIOS["wifi"]
    assert tr.energy_j == pytest.approx(radio.tx_power_w(8.0) * 0.1 + radio.rx_power_w() * 0.02)
    assert tr.mbps == pytest.approx(8.0) and tr.rtt_ms == 20.0
    assert net.transfer(0, 0.0).time_s == 0.0 and net.transfer(0, 0.0).energy_j == 0.0


def test_transfer_integrates_over_a_bandwidth_change(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("time_s,bandwidth_mbps,rtt_ms\n0,1,0\n1,4,0\n")
    net = NetworkModel(BandwidthTrace.load(p), RadioModel("flat", 1.0, 0.0, 0.0, "test"))
    # start at 0.5 s: 0.5 s at 1 Mbps sends 0.5 Mbit, the remaining 1.5 Mbit take 0.375 s at 4 Mbps
    tr = net.transfer(2e6 / 8, 0.5)
    assert tr.time_s == pytest.approx(0.875)
    assert tr.energy_j == pytest.approx(0.875)
    # a payload several periods long (5 Mbit per 2 s period) takes whole loops plus a remainder
    big = net.transfer(12e6 / 8, 0.0)  # 2 periods (10 Mbit) + 1 s at 1 Mbps + 0.25 s at 4 Mbps
    assert big.time_s == pytest.approx(5.25)


def test_slower_link_costs_more_time_and_radio_energy():
    slow = NetworkModel(BandwidthTrace.constant(0.5)).transfer(50_000, 0.0)
    fast = NetworkModel(BandwidthTrace.constant(8.0)).transfer(50_000, 0.0)
    assert slow.time_s > 10 * fast.time_s * 0.9 and slow.energy_j > fast.energy_j


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("time,bw\n0,1\n", "header must contain"),
        ("time_s,bandwidth_mbps\n0,1\n1\n", r":3: expected 2 fields"),
        ("time_s,bandwidth_mbps\n0,fast\n", r":2: not a number"),
        ("time_s,bandwidth_mbps\n1,1\n0,1\n", "strictly increasing"),
        ("time_s,bandwidth_mbps\n0,0\n1,0\n", "not all 0"),
        ("time_s,bandwidth_mbps,rtt_ms\n0,1,-5\n", "rtt_ms"),
        ("time_s,bandwidth_mbps\n", "no data rows"),
        ("time_s,bandwidth_mbps\n0,1\n1,-2\n2,1\n", r":3: negative bandwidth -2 Mbps"),
        ("time_s,bandwidth_mbps\n0,1\n1,2\n2,1\n60,1\n61,1\n", r":5: gap of 58 s after time 2 s"),
    ],
)
def test_malformed_trace_is_a_clear_error(tmp_path, content, message):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(ConfigError, match=message) as err:
        BandwidthTrace.load(p)
    assert "\n" not in str(err.value)  # one line


def test_unknown_trace_and_radio_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown trace 'moon-link'"):
        load_trace("moon-link")
    with pytest.raises(ConfigError, match="cannot read trace"):
        load_trace(tmp_path / "missing.csv")
    with pytest.raises(ConfigError, match="unknown radio"):
        RadioModel.preset("carrier-pigeon")


def test_radio_tail_energy_is_capped_by_the_tail_timer():
    """Huang et al. MobiSys 2012, Table 3: LTE tail 1060 mW for 11.576 s, Wi-Fi 119.3 mW for 238.1 ms."""
    lte, wifi = RADIOS["lte"], RADIOS["wifi"]
    assert (lte.tail_w, lte.tail_s) == (pytest.approx(1.060), pytest.approx(11.576))
    assert (wifi.tail_w, wifi.tail_s) == (pytest.approx(0.1193), pytest.approx(0.2381))
    assert lte.tail_energy_j(0.0) == 0.0
    assert lte.tail_energy_j(0.1) == pytest.approx(0.106)  # a 10 fps gap: the whole gap is tail
    assert lte.tail_energy_j(60.0) == pytest.approx(1.060 * 11.576)  # the tail ends, the radio idles
    assert wifi.tail_energy_j(0.1) == pytest.approx(0.01193)
    assert wifi.tail_energy_j(1.0) == pytest.approx(0.1193 * 0.2381)
    # the tail state draws less than the connected state awaiting a reply: it replaces base_w
    assert lte.tail_w < lte.base_w and wifi.tail_w < wifi.base_w
    with pytest.raises(ConfigError, match="idle time"):
        lte.tail_energy_j(-1.0)


def test_a_radio_without_tail_figures_has_no_tail():
    flat = RadioModel("flat", 1.0, 0.0, 0.0, "test")
    assert flat.tail_energy_j(5.0) == 0.0
