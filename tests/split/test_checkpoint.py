"""Checkpoints save and load with their config; torchvision state_dict files load as users' would."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from split_helpers import images, randomise_statistics

from dvfo_core.errors import ConfigError
from dvfo_core.split import zoo
from dvfo_core.split.checkpoint import load_checkpoint, load_torchvision_weights, save_checkpoint
from dvfo_core.split.net import SplitConfig, SplitNet


@pytest.mark.parametrize("dtype,tol", [("fp32", 0.0), ("fp16", 2e-2), ("int8", 5e-2)])
def test_checkpoint_round_trip(tmp_path: Path, dtype: str, tol: float) -> None:
    torch.manual_seed(0)
    net = SplitNet(SplitConfig("mobilenet_v2", "features.8", 10, 32, (0.1,) * 3, (0.3,) * 3))
    randomise_statistics(net)
    with torch.no_grad():
        net.fusion.log_p.fill_(0.3)
    net.eval()
    path = save_checkpoint(tmp_path / "m.pt", net, {"note": "test"}, dtype)
    loaded = load_checkpoint(path)
    assert loaded.net.config == net.config and loaded.weights_dtype == dtype
    assert loaded.metrics == {"note": "test"}
    x = images(2)
    with torch.no_grad():
        a, b = net(x), loaded.net(x)
    assert (a - b).abs().max() <= tol * a.abs().max() + 1e-6
    assert float(loaded.net.fusion.log_p.detach()) == pytest.approx(0.3, abs=1e-3)


def test_int8_checkpoint_is_about_a_quarter_of_fp32(tmp_path: Path) -> None:
    net = SplitNet(SplitConfig("resnet18", "layer2", 10, 32))
    fp32 = save_checkpoint(tmp_path / "a.pt", net, weights_dtype="fp32").stat().st_size
    int8 = save_checkpoint(tmp_path / "b.pt", net, weights_dtype="int8").stat().st_size
    assert int8 < 0.3 * fp32


def test_torchvision_state_dict_file_loads_into_the_zoo_model(tmp_path: Path) -> None:
    """As a user with downloaded torchvision weights would: a plain state_dict file, 1000 classes."""
    torch.manual_seed(3)
    reference = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18-weights.pth"
    torch.save(reference.state_dict(), path)
    model = zoo.build("resnet18", num_classes=10)
    report = load_torchvision_weights(model, path)
    assert report.skipped == ["fc.weight", "fc.bias"]  # 1000 -> 10 classes: classifier re-initialised
    ours, theirs = model.net.state_dict(), reference.state_dict()
    for k in ours:
        if k not in report.skipped:
            assert torch.equal(ours[k], theirs[k]), k
    assert report.loaded == len(ours) - 2
    same_classes = zoo.build("resnet18", num_classes=1000)
    assert load_torchvision_weights(same_classes, path).skipped == []
    x = images(1)
    with torch.no_grad():
        torch.testing.assert_close(same_classes.eval()(x), reference.eval()(x))


def test_wrapped_and_data_parallel_state_dicts_load(tmp_path: Path) -> None:
    reference = torchvision.models.mobilenet_v2(weights=None, num_classes=10)
    path = tmp_path / "wrapped.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in reference.state_dict().items()}}, path)
    model = zoo.build("mobilenet_v2", num_classes=10)
    assert load_torchvision_weights(model, path).skipped == []


def test_bad_weight_files_name_the_file(tmp_path: Path) -> None:
    wrong = tmp_path / "mobilenet.pth"
    torch.save(torchvision.models.mobilenet_v2(weights=None).state_dict(), wrong)
    with pytest.raises(ConfigError, match=r"mobilenet\.pth.*lacks"):
        load_torchvision_weights(zoo.build("resnet18", num_classes=10), wrong)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match=r"junk\.pth"):
        load_torchvision_weights(zoo.build("resnet18", num_classes=10), junk)
    with pytest.raises(ConfigError, match=r"junk\.pth"):
        load_checkpoint(junk)
    with pytest.raises(ConfigError, match="not a dvfo-split"):
        load_checkpoint(wrong)
    with pytest.raises(ConfigError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
