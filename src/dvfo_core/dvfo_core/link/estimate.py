"""The link estimate from the robot's own offloaded frames: bandwidth and round-trip time.

Each offloaded frame is a measurement of the link: ``bits`` went up and its answer came back
``seconds`` later, net of the time the cloud says it spent on the frame (compute + queue). The
estimator fits the link model the governor and the twin use,

    seconds = rtt + bits / bandwidth             (r = rtt, s = 1 / bandwidth)

by least squares over the recent transfers, each weighted by how recent it is:

* forgetting per transfer: every new transfer multiplies the weight of all older ones by
  ``forget`` (0.9: the last ~10 transfers carry the estimate, which averages out the timing noise
  of a loaded machine);
* a change reset: two transfers in a row far off the prediction, both slower or both faster, mean
  the link changed: the older transfers then keep a tenth of their weight, so a step is followed
  within a few transfers;
* ageing in time: every weight halves each ``half_life_s`` of wall time, so when nothing is
  offloaded (the policy stopped, or the link is down) the transfers fade;
* a prior, as two pseudo-transfers of weight ``prior_weight`` (an empty one taking the prior RTT
  and a ``ref_bits`` one taking the prior RTT + ``ref_bits`` / prior bandwidth): it keeps the fit
  defined with one payload size or none, and it is what the estimate returns to once the transfers
  have faded, so the estimate cannot freeze at a bad value after the policy stopped offloading;
  offloading at the prior's figures then measures the link again;
* a lost answer (the head stopped waiting after ``waited`` seconds) is a transfer that took
  ``waited`` seconds: a lower bound, and evidence enough that the link is bad.

With a single payload size the data fix only ``rtt + bits / bandwidth`` at that size; the prior then
decides how it splits into RTT and bandwidth (the prediction for that size is right either way).
Several sizes (a governor varying ``xi``) separate the two. docs/link.md has the reasoning and the
constants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: Weight kept by the older transfers each time a new one arrives.
FORGET = 0.9
#: Wall time over which every transfer's weight halves.
HALF_LIFE_S = 3.0
#: Weight of each of the prior's two pseudo-transfers (a real transfer weighs 1 when it arrives).
PRIOR_WEIGHT = 0.02
#: Size of the prior's larger pseudo-transfer (bits): 64 KiB.
REF_BITS = 64 * 1024 * 8
#: A transfer is a surprise when its time is off the prediction by more than this share of it
#: (and more than the floor); this many surprises in a row, all slower or all faster, mean the link
#: changed: the older transfers then keep only ``RESET_KEEP`` of their weight.
SURPRISE, SURPRISE_FLOOR_S, SURPRISES_TO_RESET, RESET_KEEP = 0.5, 0.005, 2, 0.1
#: Bounds of the estimate: bandwidth in Mbps, RTT in ms.
MIN_MBPS, MAX_MBPS = 0.01, 1000.0
MAX_RTT_MS = 60_000.0


@dataclass(frozen=True)
class LinkEstimate:
    """Bandwidth and RTT of the link as estimated now."""

    mbps: float
    rtt_ms: float
    weight: float  #: total weight of the measured transfers behind it (0: the prior alone)

    def transfer_s(self, nbytes: float) -> float:
        """Predicted round trip of a payload of ``nbytes`` bytes."""
        return self.rtt_ms / 1e3 + nbytes * 8 / (self.mbps * 1e6)


class LinkEstimator:
    """Weighted least squares of ``seconds = rtt + bits / bandwidth`` over recent transfers."""

    def __init__(
        self,
        prior_mbps: float,
        prior_rtt_ms: float,
        forget: float = FORGET,
        half_life_s: float = HALF_LIFE_S,
        prior_weight: float = PRIOR_WEIGHT,
        ref_bits: float = REF_BITS,
    ) -> None:
        if not (prior_mbps > 0 and prior_rtt_ms >= 0 and 0 < forget <= 1 and half_life_s > 0):
            raise ValueError("prior_mbps > 0, prior_rtt_ms >= 0, 0 < forget <= 1, half_life_s > 0")
        self.prior = LinkEstimate(_clamp(prior_mbps, MIN_MBPS, MAX_MBPS), min(prior_rtt_ms, MAX_RTT_MS), 0.0)
        self.forget, self.half_life_s = forget, half_life_s
        self._prior_weight, self._ref_bits = prior_weight, ref_bits
        self._sums = [0.0] * 5  # weighted sums of 1, b, b^2, t, b*t over the measured transfers
        self._at: float | None = None  # when the sums were last aged
        self._surprises = 0  # consecutive transfers far off the prediction, signed (+: slower)
        self.transfers = 0
        self.lost_answers = 0

    @classmethod
    def from_trace(cls, trace: Any) -> LinkEstimator:
        """An estimator whose prior is a bandwidth trace's mean bandwidth and mean RTT (the link the
        operator configured; :class:`~dvfo_core.device.network.BandwidthTrace`)."""
        rtts = [float(x) for x in trace.rtt_ms]
        return cls(trace.mean_mbps, sum(rtts) / len(rtts))

    def add(self, nbytes: float, seconds: float, now_s: float) -> None:
        """A payload of ``nbytes`` bytes was answered ``seconds`` after it left (the cloud's own
        compute and queue time already taken out)."""
        self._add(nbytes * 8.0, max(0.0, seconds), now_s)
        self.transfers += 1

    def lost(self, nbytes: float, waited_s: float, now_s: float) -> None:
        """The answer to a payload of ``nbytes`` bytes never came; the head waited ``waited_s``."""
        self._add(nbytes * 8.0, max(0.0, waited_s), now_s)
        self.lost_answers += 1

    def estimate(self, now_s: float) -> LinkEstimate:
        """The link as estimated at ``now_s`` (the prior when nothing was measured or all has aged)."""
        self._age(now_s)
        n, sb, sbb, st, sbt = self._sums
        weight = n
        # the prior's pseudo-transfers: an empty one, and one of the transfers' mean size
        ref = sb / n if n > 1e-9 and sb > 0 else self._ref_bits
        r0, s0 = self.prior.rtt_ms / 1e3, 1 / (self.prior.mbps * 1e6)
        for b, t in ((0.0, r0), (ref, r0 + ref * s0)):
            w = self._prior_weight
            n, sb, sbb, st, sbt = n + w, sb + w * b, sbb + w * b * b, st + w * t, sbt + w * b * t
        if n <= 0:
            return self.prior
        s_min, s_max = 1 / (MAX_MBPS * 1e6), 1 / (MIN_MBPS * 1e6)
        det = n * sbb - sb * sb
        if det > 1e-12 * n * sbb:
            r = (st * sbb - sb * sbt) / det
            s = (n * sbt - sb * st) / det
        else:  # every transfer the same size, no prior: all of it is RTT
            r, s = st / n, s_min
        if r < 0:  # the best fit with rtt = 0
            r, s = 0.0, sbt / sbb if sbb > 0 else s_min
        if not s_min <= s <= s_max:  # the best fit with the bandwidth at its bound
            s = _clamp(s, s_min, s_max)
            r = max(0.0, (st - s * sb) / n)
        return LinkEstimate(1 / (s * 1e6), min(r * 1e3, MAX_RTT_MS), weight)

    def _add(self, bits: float, seconds: float, now_s: float) -> None:
        expected = self.estimate(now_s).transfer_s(bits / 8.0)  # ages the sums to now_s
        miss = seconds - expected
        surprise = abs(miss) > max(SURPRISE * expected, SURPRISE_FLOOR_S)
        self._surprises = self._surprises + int(math.copysign(1, miss)) if surprise else 0
        if self._surprises != 0 and math.copysign(1, self._surprises) != math.copysign(1, miss):
            self._surprises = int(math.copysign(1, miss))
        f = self.forget
        if abs(self._surprises) >= SURPRISES_TO_RESET:  # the link changed: drop most of the past
            f, self._surprises = RESET_KEEP, 0
        self._sums = [f * x for x in self._sums]
        for i, v in enumerate((1.0, bits, bits * bits, seconds, bits * seconds)):
            self._sums[i] += v

    def _age(self, now_s: float) -> None:
        if self._at is not None and now_s > self._at:
            k = 0.5 ** ((now_s - self._at) / self.half_life_s)
            self._sums = [k * x for x in self._sums]
        if self._at is None or now_s > self._at:
            self._at = now_s


def _clamp(x: float, lo: float, hi: float) -> float:
    return lo if not x >= lo else min(x, hi)  # NaN -> lo
