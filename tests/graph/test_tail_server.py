"""The tail server: batches equal per-frame results, bad payloads are rejected and counted."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from dvfo_core.camera import dataset
from dvfo_core.split.runner import SplitRunner
from dvfo_core.tail_server import TailRequest, TailServer


@pytest.fixture(scope="module")
def runner() -> SplitRunner:
    return SplitRunner.from_checkpoint(model="resnet18")


def _requests(runner: SplitRunner, n: int, xi: float, robot: str = "a") -> list[TailRequest]:
    frames = dataset("mnist", 64, 64, loop=False)
    out = []
    for seq in range(n):
        head = runner.head(runner.preprocess(next(frames).image))
        _, secondary = runner.partition(head, xi)
        enc = runner.encode_secondary(head, secondary)
        fields = enc.to_msg_fields()
        out.append(TailRequest(robot, seq, runner.model, runner.split, fields, stamp=seq))
    return out


def test_batched_tail_equals_per_frame_tail(runner: SplitRunner) -> None:
    reqs = _requests(runner, 5, 0.5)
    single = TailServer(lambda m: runner, max_batch=1)
    batched = TailServer(lambda m: runner, max_batch=8)
    for r in reqs:
        single.submit(r)
        batched.submit(r)
    one = [rep for _ in reqs for rep in single.process()]
    many = batched.process()
    assert [r.batch_size for r in many] == [5] * 5 and batched.batches == 1
    for a, b in zip(one, many, strict=True):
        assert a.ok and b.ok and a.request.frame_seq == b.request.frame_seq
        np.testing.assert_allclose(a.logits, b.logits, atol=1e-4, rtol=1e-4)


def test_bad_payloads_are_answered_counted_and_serving_continues(runner: SplitRunner) -> None:
    good, bad_shape, corrupt, other_model = _requests(runner, 4, 0.25, robot="b")
    bad_shape.fields = {**bad_shape.fields, "shape": [3, 3]}
    data = bytearray(bytes(corrupt.fields["data"]))
    data[len(data) // 2 :] = b"\x00" * (len(data) - len(data) // 2)
    corrupt.fields = {**corrupt.fields, "data": bytes(data)}
    other_model = dataclasses.replace(other_model, model="mobilenet_v2", split="features.7")
    server = TailServer(lambda m: runner)
    refusals = {r.frame_seq: server.submit(r) for r in (bad_shape, good, corrupt)}
    assert refusals[good.frame_seq] is None and len(server.queue) == 1, "only the good frame is queued"
    (served,) = server.process()
    assert served.ok and served.request is good and served.logits.shape == (10,)
    assert not refusals[bad_shape.frame_seq].ok and "shape" in refusals[bad_shape.frame_seq].error
    assert not refusals[corrupt.frame_seq].ok
    mismatch = server.submit(other_model)
    assert mismatch is not None and not mismatch.ok and "model_mismatch" in mismatch.error
    assert not server.queue and server.process() == []
    assert server.rejected["shape"] == 1 and server.rejected["model_mismatch"] == 1
    assert sum(server.rejected.values()) == 3 and server.served["b"] == 1
    assert torch.isfinite(torch.as_tensor(served.logits)).all()
