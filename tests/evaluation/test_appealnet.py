"""AppealNet: the light edge model answers confident frames, the rest appeal to the cloud's model."""

from __future__ import annotations

import numpy as np
import pytest

from dvfo_core.device.network import BandwidthTrace, NetworkModel
from dvfo_core.evaluation.baselines import AppealData, AppealNet
from dvfo_core.evaluation.evaluate import run_method
from dvfo_core.world.build import World

CONF = (0.99, 0.40, 0.95, 0.20)
EDGE_CORRECT = (True, False, True, True)
CLOUD_CORRECT = (True, True, False, False)


def _run(world: World, mbps: float) -> list:
    world.extras["appeal"] = AppealData(CONF, EDGE_CORRECT, CLOUD_CORRECT, 0.5, "x")
    world.extras["appeal_edge"] = world.local
    return run_method(world, AppealNet(), NetworkModel(BandwidthTrace.constant(mbps)), 0.5, 8).outcomes


def test_low_confidence_frames_appeal_and_take_the_clouds_answer(world: World) -> None:
    outcomes = _run(world, 64.0)
    for k, out in enumerate(outcomes):
        appealed = CONF[k % 4] < 0.5
        assert (out.payload_bytes > 0) == appealed and not out.rescued
        assert out.accuracy == [1.0, 1.0, 1.0, 0.0][k % 4]
        assert out.action.levels == world.twin_model.max_levels()
    local, appeal = outcomes[0], outcomes[1]
    assert appeal.latency_s > local.latency_s and appeal.energy_j > local.energy_j  # local run first, then up


def test_an_appeal_the_cloud_would_answer_late_keeps_the_edge_models_answer(world: World) -> None:
    for k, out in enumerate(_run(world, 0.5)):
        if CONF[k % 4] < 0.5:  # the deadline guard gives up on the appeal
            assert out.rescued and not out.deadline_missed
            assert out.accuracy == float(EDGE_CORRECT[k % 4])


@pytest.mark.slow
def test_measured_on_the_shipped_checkpoints() -> None:
    from dvfo_core.evaluation.appeal import measure

    # the checkpoints ship with dvfo_core: a missing one is a failure, never a skip
    d = measure("mobilenet_v2", "resnet18", n=120)
    n = len(d.confidence)
    assert n == 60 and len(d.edge_correct) == len(d.cloud_correct) == n
    assert 0.0 <= d.threshold <= 1.0 and d.edge_model == "mobilenet_v2"
    assert np.mean(d.cloud_correct) > 0.8  # a trained model, not chance (10 classes)
    assert all(0.1 <= c <= 1.0 for c in d.confidence)
