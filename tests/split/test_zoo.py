"""The zoo: six torchvision classifiers, each cut only where no skip connection is cut."""

from __future__ import annotations

import pytest
import torch
from split_helpers import build_eval, images

from dvfo_core.errors import ConfigError
from dvfo_core.split import zoo

PAPER_MODELS = ("efficientnet_b0", "vit_b_16")


def test_zoo_has_six_models_including_the_papers() -> None:
    names = zoo.model_names()
    assert len(names) >= 6
    for name in (*PAPER_MODELS, "resnet18", "resnet50", "mobilenet_v2", "vgg16"):
        assert name in names


@pytest.mark.parametrize("name", zoo.model_names())
def test_every_split_point_is_dag_safe(name: str) -> None:
    """tail(head(x)) reproduces the unsplit torchvision forward at every split point."""
    model = build_eval(name)
    x = images(2)
    assert model.default_split in model.split_points
    assert len(model.split_points) >= 4
    with torch.no_grad():
        reference = model(x)
        assert reference.abs().max() > 0
        for split in model.split_points:
            features = model.head(split)(x)
            assert features.shape[0] == 2 and features.dim() >= 3  # (B, C, *spatial)
            out = model.tail(split)(features)
            torch.testing.assert_close(out, reference, rtol=1e-5, atol=1e-5, msg=f"{name} @ {split}")


def test_feature_shapes_at_224_match_the_reference_measurements() -> None:
    """Default splits give the feature maps the H100 reference used (reference/cloud-gpu.md)."""
    expected = {
        "resnet18": (128, 28, 28),
        "resnet50": (512, 28, 28),
        "mobilenet_v2": (64, 14, 14),
        "efficientnet_b0": (40, 28, 28),
    }
    for name, shape in expected.items():
        model = zoo.build(name, num_classes=10)
        assert model.feature_shape(model.default_split, 224) == shape


def test_vit_feature_map_is_channel_first() -> None:
    model = zoo.build("vit_b_16", num_classes=10, image_size=32)
    assert model.feature_shape(model.default_split) == (768, 5)  # (D, tokens): 2x2 patches + class


def test_unknown_model_and_split_are_named_in_the_error() -> None:
    with pytest.raises(ConfigError, match="alexnet"):
        zoo.build("alexnet")
    model = zoo.build("resnet18", num_classes=10)
    with pytest.raises(ConfigError, match=r"layer9.*layer2"):
        model.head("layer9")
