"""The tail's caps: bytes per message and messages per second per robot, refusals counted by reason."""

from __future__ import annotations

from dvfo_core.split.codec import RejectReason
from dvfo_core.tail_server import Admission, TailRequest, TailServer


def test_a_message_over_the_size_cap_is_refused() -> None:
    caps = Admission(max_payload_bytes=1000)
    assert caps.check("r", 1000, now=0.0) is None
    assert caps.check("r", 1001, now=0.0) is RejectReason.TOO_LARGE


def test_each_robot_gets_its_own_rate_with_a_one_second_burst() -> None:
    caps = Admission(max_rate_hz=5.0)
    burst = [caps.check("flood", 10, now=0.0) for _ in range(7)]
    assert burst == [None] * 5 + [RejectReason.RATE_LIMITED] * 2
    assert caps.check("calm", 10, now=0.0) is None, "another robot is not slowed by the flood"
    assert caps.check("flood", 10, now=0.1) is RejectReason.RATE_LIMITED, "half a token is not a message"
    assert caps.check("flood", 10, now=0.2) is None, "0.2 s at 5 Hz earns one message"
    assert caps.check("flood", 10, now=0.2) is RejectReason.RATE_LIMITED
    steady = [caps.check("steady", 10, now=t / 4) for t in range(40)]  # 4 Hz < 5 Hz
    assert steady == [None] * 40


def test_zero_disables_the_caps() -> None:
    caps = Admission()
    assert all(caps.check("r", 10**9, now=0.0) is None for _ in range(1000))


def test_refusals_are_counted_and_answered_when_there_is_a_frame_to_answer() -> None:
    server = TailServer(lambda model: None, admission=Admission(max_payload_bytes=10))  # type: ignore[arg-type]
    assert server.refuse(RejectReason.TOO_LARGE) is None
    req = TailRequest("r", 7, "resnet18", "layer2", fields={}, stamp=0)
    reply = server.refuse(RejectReason.RATE_LIMITED, req, "over 5 Hz")
    assert reply is not None and not reply.ok and "rate_limited" in reply.error
    assert reply.request.frame_seq == 7
    assert dict(server.rejected) == {"too_large": 1, "rate_limited": 1}
