"""When a match between a writer and a reader can be relied on (no middleware import here).

DDS discovery is one-sided for a while: a writer matches a reader before that reader has matched
the writer, and across vendors the gap is long. Cyclone DDS (the DDS adapter) makes it lossy: a
Cyclone reader accepts nothing from a writer of another vendor (Fast DDS: rclpy's default RMW)
until it has discovered that writer *and* received its first heartbeat, and then starts after the
heartbeat's last sequence number ("For non-Cyclone, if the reader is volatile, we have to just
start from the most recent sample", ``ddsi_proxy_writer_add_connection``). Everything a Fast DDS
writer publishes between its own match and that point is lost, reliable QoS or not. Measured here
(rclpy 9.1.2 on rmw_fastrtps_cpp, cyclonedds 11.0.1, loopback): the Cyclone reader matched back
0.01-0.65 s after the Fast DDS writer had matched it, and the first 1-20 samples of a 50 Hz
stream were lost. The other directions lose nothing: a Cyclone writer keeps what a matched reader
has not acknowledged, and Fast DDS readers ask for it.

So the adapters count a match only once it has held for :data:`MATCH_SETTLE_S` where the loss can
happen: the subscriptions of a Fast DDS writer, the publishers of a Fast DDS reader (whose Cyclone
writer may not have matched back), the publishers of a Cyclone reader (matched, but maybe without
the writer's first heartbeat yet; an idle Fast DDS writer's first answer was lost 0.5 s after the
match). ``wait_for_subscribers`` of the camera and the head's choice to offload (its feature maps
reach the tail, the answers come back) then mean "will be received". The shipped Fast DDS profile
also sends heartbeats every 100 ms instead of 3 s, so that a Cyclone reader is in step soon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Seconds a cross-vendor match must have held before it is relied on: about three times the
#: longest one-sided window measured (0.65 s), plus the first heartbeat.
MATCH_SETTLE_S = 2.0


@dataclass
class SettledCount:
    """A matched-endpoint count that follows rises only after they have held for ``settle_s``
    (falls at once): feed it the raw count, read back the count that can be relied on."""

    settle_s: float = MATCH_SETTLE_S
    raw: int = 0  #: the last raw count seen
    settled: int = 0  #: the count that has held for ``settle_s``
    rose_at: float = -math.inf  #: when the raw count last rose (as first seen)

    def update(self, raw: int, now: float) -> int:
        """The settled count, given the raw count ``raw`` seen at time ``now`` (seconds)."""
        if raw > self.raw:
            self.rose_at = now
        self.raw = raw
        self.settled = raw if now - self.rose_at >= self.settle_s else min(self.settled, raw)
        return self.settled
