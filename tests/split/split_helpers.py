"""Helpers shared by the split-inference tests (real modules, perturbed so errors show)."""

from __future__ import annotations

import torch

from dvfo_core.split import zoo

#: the two models whose fine-tuned checkpoints ship in dvfo_core/data
SHIPPED = ("resnet18", "mobilenet_v2")


def randomise_statistics(module: torch.nn.Module, seed: int = 0) -> None:
    """Give BatchNorm layers non-trivial running statistics and ViT a non-zero classifier.

    Freshly built torchvision models have BN mean 0 / var 1 and ViT's head at zero, which would
    hide errors in slicing or splitting; the tests run on these perturbed (still real) modules.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=g) - 0.5)
            if isinstance(m, torch.nn.Linear) and not m.weight.any():
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.02)


def images(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    """Random normalised images (for tests that check equalities, not accuracy)."""
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def build_eval(name: str, size: int = 32) -> zoo.SplitModel:
    """A zoo model in eval mode with perturbed statistics."""
    torch.manual_seed(0)
    model = zoo.build(name, num_classes=10, image_size=size)
    randomise_statistics(model)
    return model.eval()
