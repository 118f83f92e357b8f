"""`dvfo finetune` and `dvfo accuracy` end to end on real (tiny) data, and their one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torchvision

from dvfo_core.cli import main
from dvfo_core.split.checkpoint import load_checkpoint


def test_finetune_from_torchvision_weights_then_accuracy(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    weights = tmp_path / "resnet18-imagenet.pth"  # what a user downloads on a connected machine
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(weights=None)
    torch.save(reference.state_dict(), weights)
    ckpt = tmp_path / "r18.pt"
    argv = [
        "finetune",
        "--model",
        "resnet18",
        "--data",
        "digits",
        "--image-size",
        "16",
        "--epochs",
        "1",
        "--limit",
        "96",
        "--batch-size",
        "32",
        "--threads",
        "1",
        "--weights",
        str(weights),
        "--weights-dtype",
        "fp16",
        "--out",
        str(ckpt),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "re-initialised: fc.weight, fc.bias" in out and "full local top-1" in out
    loaded = load_checkpoint(ckpt)
    assert loaded.net.config.model == "resnet18" and loaded.net.config.image_size == 16
    assert loaded.metrics["train_images"] == 96 and loaded.metrics["test_n"] == 360
    # layer1 was not trained away from the loaded weights entirely: same shapes, loaded values moved a little
    before = reference.state_dict()["layer1.0.conv1.weight"]
    after = loaded.net.base.net.state_dict()["layer1.0.conv1.weight"]
    assert after.shape == before.shape and (after - before).abs().mean() < before.abs().mean()

    report = tmp_path / "acc.json"
    argv = [
        "accuracy",
        "--checkpoint",
        str(ckpt),
        "--data",
        "digits",
        "--limit",
        "40",
        "--xi",
        "0,0.5,1",
        "--encodings",
        "int8+zstd,fp16+lz4",
        "--threads",
        "1",
        "--json",
        str(report),
    ]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "fused %" in table and "int8+zstd" in table
    blob = json.loads(report.read_text())
    assert blob["n"] == 40 and len(blob["rows"]) == 6
    row = next(r for r in blob["rows"] if r["xi"] == 0.5 and r["encoding"] == "int8+zstd")
    assert 0 < row["payload_bytes"] < row["raw_fp32_bytes"]
    assert next(r for r in blob["rows"] if r["xi"] == 0.0)["payload_bytes"] == 0


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["accuracy", "--checkpoint", str(tmp_path / "nope.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dvfo accuracy: error:") and "nope.pt" in err and "\n" not in err
    assert (
        main(
            [
                "finetune",
                "--model",
                "resnet18",
                "--data",
                str(tmp_path / "missing"),
                "--out",
                str(tmp_path / "x.pt"),
            ]
        )
        == 2
    )
    assert "missing" in capsys.readouterr().err
    assert main(["accuracy", "--model", "resnet18", "--encodings", "int2+bz2"]) == 2
    assert "int2+bz2" in capsys.readouterr().err


def test_finetune_on_a_user_image_folder(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls, level in (("dark", 40), ("bright", 210)):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(12):
            img = np.clip(rng.normal(level, 20, (24, 24, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(tmp_path / "imgs" / cls / f"{i}.png")
    ckpt = tmp_path / "folder.pt"
    argv = [
        "finetune",
        "--model",
        "mobilenet_v2",
        "--data",
        str(tmp_path / "imgs"),
        "--image-size",
        "16",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--out",
        str(ckpt),
    ]
    assert main(argv) == 0
    loaded = load_checkpoint(ckpt)
    assert loaded.net.config.num_classes == 2 and loaded.metrics["test_n"] == 5
