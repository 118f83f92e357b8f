"""The tail server screens every frame as it is submitted: a hostile one is refused there, with the
reason the fuzz generator broke it for, before the queue and before torch; good ones are served.

(The reasons a tail node decides before the server sees a frame, size cap, unreadable bytes and a
robot id other than the certificate's, are covered through the real links in test_fuzz.py.)
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from fuzz_cases import hostile_cases, message

from dvfo_core.split.codec import RejectReason
from dvfo_core.split.runner import SplitRunner
from dvfo_core.tail_server import TailRequest, TailServer

NODE_REASONS = (RejectReason.TOO_LARGE, RejectReason.MALFORMED, RejectReason.ROBOT_MISMATCH)
#: What the screening refuses for (dtype is for in-process callers: on a link, types are the message's).
SCREENED = ["robot_id", "model_mismatch", "encoding", "shape", "channel_indices", "quant_params", "size"]
SCREENED += ["truncated", "corrupt"]


def _request(seq: int, fields: dict[str, Any]) -> TailRequest:
    msg = message(fields)
    return TailRequest(str(msg.robot_id), seq, str(msg.model), str(msg.split), msg, msg.header.stamp)


def test_every_hostile_frame_is_refused_at_submit_with_its_reason(
    runner: SplitRunner, frames: list[dict[str, Any]]
) -> None:
    server = TailServer()
    cases = [c for c in hostile_cases(7, 3000, frames, "dds", 32 * 1024) if c.reason not in NODE_REASONS]
    expected = Counter(c.reason.value for c in cases if c.reason is not None)
    for seq, case in enumerate(cases):
        refusal = server.submit(_request(seq, case.fields or {}))
        assert refusal is not None and not refusal.ok, f"{case.kind} was accepted"
        assert f"({case.reason.value})" in refusal.error, (case.kind, refusal.error)  # type: ignore[union-attr]
    assert not server.queue and server.batches == 0, "nothing hostile reached the queue or torch"
    assert server.rejected == expected
    assert set(expected) == set(SCREENED), "the generator reaches every check of the screening"


def test_well_formed_frames_between_hostile_ones_are_served_exactly(
    runner: SplitRunner, frames: list[dict[str, Any]]
) -> None:
    server = TailServer(lambda model: runner, max_batch=4)
    cases = list(hostile_cases(8, 400, frames, "dds", 32 * 1024, good_every=40))
    good = {seq: c for seq, c in enumerate(cases) if c.reason is None}
    refusals = [server.submit(_request(seq, c.fields or {})) for seq, c in enumerate(cases)]
    assert [seq for seq, r in enumerate(refusals) if r is None] == sorted(good)
    replies = [reply for _ in good for reply in server.process()]
    assert sorted(r.request.frame_seq for r in replies) == sorted(good) and all(r.ok for r in replies)
    for reply in replies:
        fields = good[reply.request.frame_seq].fields or {}
        expected = runner.cloud_tail(runner.decode(message(fields))).detach().numpy()
        np.testing.assert_allclose(reply.logits, expected, atol=1e-3, rtol=1e-3)
