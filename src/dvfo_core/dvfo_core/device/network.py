"""The network between the edge and the cloud: bandwidth traces, RTT and radio energy.

A :class:`BandwidthTrace` is piecewise constant: row ``i`` of the CSV holds from ``time_s[i]`` to
``time_s[i+1]``; the last row holds for the median step, and the trace loops over that length.
:meth:`NetworkModel.transfer` sends an uplink payload through the time-varying bandwidth starting
at ``t_s``, then waits one RTT (the reply), charging the radio's transmit power while sending and its
base power while waiting. What the radio draws after the reply (its tail state) is
:meth:`RadioModel.tail_energy_j`; the caller charges it for the gap to the next transfer.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dvfo_core.errors import ConfigError
from dvfo_core.paths import config_dir

#: A step between two rows longer than this many median steps is a gap in the trace (refused).
MAX_GAP_STEPS = 10
#: RTT used when a trace has no ``rtt_ms`` column (documented fallback, docs/device.md).
DEFAULT_RTT_MS = 20.0


@dataclass(frozen=True)
class RadioModel:
    """Radio power: ``base_w + tx_w_per_mbps * rate`` while sending, ``base_w`` while awaiting the reply.

    After the reply arrives the radio does not drop to its idle state at once: it stays in a
    high-power *tail* state for ``tail_s`` seconds (LTE: the RRC_CONNECTED inactivity timer; Wi-Fi:
    the power-save-mode timeout) drawing ``tail_w``. ``tail_w`` is the radio's whole power in that
    state, *instead of* ``base_w`` (not on top of it): :meth:`NetworkModel.transfer` charges
    ``base_w`` up to the reply, :meth:`tail_energy_j` charges the time after it. A transfer that
    starts within the tail finds the radio still connected (no promotion cost is modelled).
    """

    name: str
    base_w: float
    tx_w_per_mbps: float
    rx_w_per_mbps: float
    source: str
    tail_w: float = 0.0  #: radio power in the tail state after a transfer (W), replaces base_w
    tail_s: float = 0.0  #: length of the tail (s): the inactivity timer

    def tail_energy_j(self, idle_s: float) -> float:
        """Energy (J) the radio draws in its tail state during the ``idle_s`` seconds after a transfer.

        ``min(idle_s, tail_s) * tail_w``: the tail lasts ``tail_s`` unless the next transfer starts
        earlier (then the caller passes the gap). After the tail the radio is idle; its idle power
        (DRX paging / Wi-Fi beacons) is not part of this model.
        """
        if idle_s < 0 or not math.isfinite(idle_s):
            raise ConfigError(f"idle time must be finite and >= 0, got {idle_s}")
        return min(idle_s, self.tail_s) * self.tail_w

    def tx_power_w(self, mbps: float) -> float:
        """Radio power while transmitting at ``mbps``."""
        return self.base_w + self.tx_w_per_mbps * mbps

    def rx_power_w(self, mbps: float = 0.0) -> float:
        """Radio power while receiving at ``mbps`` (0: waiting, radio awake)."""
        return self.base_w + self.rx_w_per_mbps * mbps

    @staticmethod
    def preset(name: str) -> RadioModel:
        """A shipped radio: ``wifi`` or ``lte``."""
        try:
            return RADIOS[name]
        except KeyError:
            raise ConfigError(f"unknown radio {name!r} (known: {', '.join(RADIOS)})") from None


_HUANG = ("Huang et al., 'A Close Examination of Performance and Power Characteristics of 4G LTE "
          "Networks', MobiSys 2012, Table 4 (power = alpha_u*up + alpha_d*down + beta; phone radios); "
          "tail: Table 3 ('tail base' power and tail timer; LTE 1060.0 mW for 11576 ms, "
          "Wi-Fi 119.3 mW for 238.1 ms)")
#: Tail figures of Huang et al. 2012, Table 3 (measured on an LTE smartphone, as the Table 4 figures
#: above; the phone's radios stand in for the Jetson's modem / Wi-Fi card). The LTE tail is the
#: RRC_CONNECTED inactivity timer (the short DRX on-durations inside it, Table 3's separate rows, are
#: left out); the Wi-Fi tail is the time the NIC stays awake after the last packet before power-save.
#: The Table 3 values were not re-read through this session's search tool (the table text was not
#: retrievable); they are carried with Table 4's, already in this file: re-check against the paper.
RADIOS: dict[str, RadioModel] = {
    "wifi": RadioModel("wifi", base_w=0.13286, tx_w_per_mbps=0.28317, rx_w_per_mbps=0.13701, source=_HUANG,
                       tail_w=0.1193, tail_s=0.2381),
    "lte": RadioModel("lte", base_w=1.28804, tx_w_per_mbps=0.43839, rx_w_per_mbps=0.05197, source=_HUANG,
                      tail_w=1.0600, tail_s=11.576),
}


@dataclass(frozen=True)
class Transfer:
    """One uplink transfer: total time (sending + one RTT), radio energy, mean rate and the RTT."""

    time_s: float
    energy_j: float
    mbps: float
    rtt_ms: float


class BandwidthTrace:
    """Uplink bandwidth (Mbps) and RTT (ms) over time, looping over its length."""

    def __init__(
        self, times_s: np.ndarray, mbps: np.ndarray, rtt_ms: np.ndarray, name: str = "trace"
    ) -> None:
        times_s, mbps, rtt_ms = (np.asarray(a, dtype=float) for a in (times_s, mbps, rtt_ms))
        if not (len(times_s) == len(mbps) == len(rtt_ms)) or len(times_s) == 0:
            raise ConfigError(f"{name}: times, bandwidth and rtt must be non-empty and of equal length")
        if np.any(np.diff(times_s) <= 0):
            raise ConfigError(f"{name}: time_s must be strictly increasing")
        if np.any(mbps < 0) or not np.any(mbps > 0) or not np.all(np.isfinite(mbps)):
            raise ConfigError(f"{name}: bandwidth_mbps must be finite, >= 0 and not all 0")
        if np.any(rtt_ms < 0) or not np.all(np.isfinite(rtt_ms)):
            raise ConfigError(f"{name}: rtt_ms must be finite and >= 0")
        self.name = name
        self.times_s = times_s - times_s[0]
        self.mbps = mbps
        self.rtt_ms = rtt_ms
        step = float(np.median(np.diff(self.times_s))) if len(times_s) > 1 else 1.0
        self.period_s = float(self.times_s[-1] + step)

    @classmethod
    def constant(cls, mbps: float, rtt_ms: float = DEFAULT_RTT_MS, name: str | None = None) -> BandwidthTrace:
        """A steady link of ``mbps`` and ``rtt_ms``."""
        if mbps <= 0:
            raise ConfigError(f"constant trace: bandwidth must be > 0 Mbps, got {mbps}")
        return cls(np.array([0.0]), np.array([float(mbps)]), np.array([float(rtt_ms)]),
                   name or f"constant-{mbps:g}mbps")

    @classmethod
    def load(cls, path: str | Path) -> BandwidthTrace:
        """Read a CSV with header ``time_s,bandwidth_mbps[,rtt_ms]``; errors name the file and line."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read trace {path} ({exc.strerror})") from exc
        lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
        rows = list(csv.reader(lines))
        if not rows:
            raise ConfigError(f"{path}: empty trace")
        header = [h.strip() for h in rows[0]]
        for col in ("time_s", "bandwidth_mbps"):
            if col not in header:
                raise ConfigError(
                    f"{path}: header must contain time_s,bandwidth_mbps[,rtt_ms], got {','.join(header)}"
                )
        it, ib = header.index("time_s"), header.index("bandwidth_mbps")
        ir = header.index("rtt_ms") if "rtt_ms" in header else None
        t, b, r = [], [], []
        for n, row in enumerate(rows[1:], start=2):
            if len(row) != len(header):
                raise ConfigError(f"{path}:{n}: expected {len(header)} fields, got {len(row)}")
            try:
                t.append(float(row[it]))
                b.append(float(row[ib]))
                r.append(float(row[ir]) if ir is not None else DEFAULT_RTT_MS)
            except ValueError:
                raise ConfigError(f"{path}:{n}: not a number in {','.join(row)}") from None
        if not t:
            raise ConfigError(f"{path}: no data rows")
        for n, value in enumerate(b, start=2):
            if value < 0:
                raise ConfigError(f"{path}:{n}: negative bandwidth {value:g} Mbps")
        steps = np.diff(np.array(t))
        if len(steps) >= 2 and np.all(steps > 0):
            limit = MAX_GAP_STEPS * float(np.median(steps))
            for i, step in enumerate(steps):
                if step > limit:
                    raise ConfigError(
                        f"{path}:{i + 3}: gap of {step:g} s after time {t[i]:g} s (more than "
                        f"{MAX_GAP_STEPS}x the median step {limit / MAX_GAP_STEPS:g} s): "
                        "fill it or split the trace"
                    )
        return cls(np.array(t), np.array(b), np.array(r), name=path.stem)

    def save(self, path: str | Path) -> None:
        """Write the trace as CSV (``time_s,bandwidth_mbps,rtt_ms``)."""
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["time_s", "bandwidth_mbps", "rtt_ms"])
            for row in zip(self.times_s, self.mbps, self.rtt_ms, strict=True):
                w.writerow([f"{row[0]:.3f}", f"{row[1]:.4f}", f"{row[2]:.2f}"])

    def _index(self, t_s: float) -> int:
        return int(np.searchsorted(self.times_s, math.fmod(t_s, self.period_s) if t_s >= 0 else 0.0,
                                   side="right") - 1)

    def at(self, t_s: float) -> tuple[float, float]:
        """Bandwidth in Mbps and RTT in ms at time ``t_s`` (the trace loops over :attr:`period_s`)."""
        i = self._index(t_s)
        return float(self.mbps[i]), float(self.rtt_ms[i])

    def segments(self, t_s: float) -> Iterator[tuple[float, float]]:
        """Endless ``(duration_s, mbps)`` pieces of the trace from ``t_s`` on."""
        i = self._index(t_s)
        pos = math.fmod(max(t_s, 0.0), self.period_s)
        n = len(self.times_s)
        while True:
            end = self.times_s[i + 1] if i + 1 < n else self.period_s
            yield float(end - pos), float(self.mbps[i])
            i = (i + 1) % n
            pos = self.times_s[i] if i else 0.0

    @property
    def mean_mbps(self) -> float:
        """Time-weighted mean bandwidth over one period."""
        dur = np.diff(np.append(self.times_s, self.period_s))
        return float(np.sum(dur * self.mbps) / self.period_s)


class NetworkModel:
    """The edge-to-cloud link: a bandwidth trace and the edge radio's power."""

    def __init__(self, trace: BandwidthTrace, radio: RadioModel | None = None) -> None:
        self.trace = trace
        self.radio = radio if radio is not None else RADIOS["wifi"]
        self._cum: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None

    def transfer(self, nbytes: float, t_s: float) -> Transfer:
        """Send ``nbytes`` uplink starting at ``t_s``; 0 bytes costs nothing (nothing is sent)."""
        time_s, energy_j, mbps, rtt_ms = self.transfer_many(nbytes, np.array([float(t_s)]))
        return Transfer(float(time_s[0]), float(energy_j[0]), float(mbps[0]), float(rtt_ms[0]))

    def transfer_many(
        self, nbytes: float, starts_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`transfer` for many start times at once: ``(time_s, energy_j, mbps, rtt_ms)`` arrays.

        The link is piecewise constant, so the bits sent by time ``t`` are a piecewise-linear
        function ``C(t)``; a transfer started at ``t0`` ends when ``C`` has grown by its bits. The
        radio's power is ``base + k * rate``, so its energy is ``base * duration + k * megabits``.
        """
        if nbytes < 0 or not math.isfinite(nbytes):
            raise ConfigError(f"transfer size must be finite and >= 0, got {nbytes}")
        tr = self.trace
        t = np.maximum(np.asarray(starts_s, dtype=float), 0.0)
        rtt_ms = tr.rtt_ms[self._segment(t)]
        if nbytes == 0:
            zero = np.zeros_like(t)
            return zero, zero.copy(), zero.copy(), rtt_ms
        bits = 8.0 * nbytes
        rate, starts, cum, per_period = self._cumulative()
        loops, pos = np.divmod(t, tr.period_s)
        i = self._segment(t)
        sent_before = loops * per_period + cum[i] + rate[i] * (pos - starts[i])
        target = sent_before + bits
        loops_end = np.floor(target / per_period)
        left = target - loops_end * per_period
        ends = cum + rate * np.diff(np.append(starts, tr.period_s))
        j = np.minimum(np.searchsorted(ends, left, side="left"), len(ends) - 1)
        # a target exactly at a loop boundary ends at the previous loop's end
        j_rate = np.where(rate[j] > 0, rate[j], np.inf)
        end = loops_end * tr.period_s + starts[j] + (left - cum[j]) / j_rate
        tx_s = np.maximum(end - t, 0.0)
        radio = self.radio
        rtt_s = rtt_ms / 1e3
        energy = radio.base_w * tx_s + radio.tx_w_per_mbps * bits / 1e6 + radio.rx_power_w() * rtt_s
        mbps = np.where(tx_s > 0, bits / np.where(tx_s > 0, tx_s, 1.0) / 1e6, np.inf)
        return tx_s + rtt_s, energy, mbps, rtt_ms

    def _segment(self, t: np.ndarray) -> np.ndarray:
        tr = self.trace
        return np.searchsorted(tr.times_s, np.mod(np.maximum(t, 0.0), tr.period_s), side="right") - 1

    def _cumulative(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Per segment: rate (bit/s), start (s), bits sent before it in a period; bits per period."""
        if self._cum is None:
            tr = self.trace
            rate = tr.mbps * 1e6
            dur = np.diff(np.append(tr.times_s, tr.period_s))
            sent = rate * dur
            cum = np.concatenate([[0.0], np.cumsum(sent)[:-1]])
            self._cum = (rate, tr.times_s, cum, float(np.sum(sent)))
        return self._cum


def traces_dir() -> Path:
    """The directory of shipped traces (``config/traces``)."""
    return config_dir() / "traces"


def list_traces() -> list[str]:
    """Names of the shipped bandwidth traces."""
    return sorted(p.stem for p in traces_dir().glob("*.csv"))


def load_trace(name_or_path: str | Path) -> BandwidthTrace:
    """A shipped trace by name (``steady-2mbps``), or any CSV by path."""
    p = Path(name_or_path)
    if p.suffix == ".csv" or p.exists():
        return BandwidthTrace.load(p)
    shipped = traces_dir() / f"{name_or_path}.csv"
    if not shipped.is_file():
        raise ConfigError(f"unknown trace {name_or_path!r} (known: {', '.join(list_traces())})")
    return BandwidthTrace.load(shipped)
