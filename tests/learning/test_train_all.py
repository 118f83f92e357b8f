"""``dvfo train --all``: every shipped pairing trained in one command, the pairings spread over processes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dvfo_core.cli import build_parser, main
from dvfo_core.cli.train import _train_shipped
from dvfo_core.learning.policy import Policy, shipped_policies

STEPS = 1_100  # past learning_starts: the networks take gradient steps


@pytest.mark.slow
def test_train_all_writes_one_policy_per_shipped_pairing_as_the_in_process_training_would(
    tmp_path: Path,
) -> None:
    out = tmp_path / "policies"
    argv = ["train", "--all", "--steps", str(STEPS), "--out-dir", str(out), "--jobs", "2", "--no-progress"]
    assert main(argv) == 0
    written = sorted(p.stem.replace("__", "/") for p in out.glob("*.npz"))
    assert written == sorted(shipped_policies())
    for name in written:
        device, mode, model = name.split("/")
        meta = Policy.load(out / f"{device}__{mode}__{model}.npz").meta
        assert (meta.device, meta.power_mode, meta.model) == (device, mode, model)
        assert meta.training["steps"] == STEPS
    # the same pairing trained in this process: the worker's policy is the same network
    args = build_parser().parse_args(["train", "--all", "--steps", str(STEPS), "--out-dir", str(tmp_path)])
    here = Policy.load(_train_shipped((vars(args), "jetson-nano", "MAXN", "resnet18")))
    there = Policy.load(out / "jetson-nano__MAXN__resnet18.npz")
    for a, b in zip(here.weights + here.biases, there.weights + there.biases, strict=True):
        np.testing.assert_array_equal(a, b)


def test_train_all_refuses_zero_jobs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--all", "--jobs", "0"]) == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err

