"""Per-layer costs come from the module that runs, a shared module counted once per call."""

import torch
from torch import nn

from dvfo_core.workload import profile_layers


class Twice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.fc(x)))


def test_shared_module_called_twice_is_counted_per_call() -> None:
    w = profile_layers(Twice(), torch.randn(1, 8))
    fc_calls = [layer for layer in w.layers if layer.name == "fc"]
    assert len(fc_calls) == 2
    assert [c.flops for c in fc_calls] == [2 * 8 * 8, 2 * 8 * 8]  # a multiply-add is 2 FLOPs
    assert w.flops == 2 * 2 * 8 * 8


def test_conv_layer_costs() -> None:
    conv = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
    w = profile_layers(conv, torch.randn(1, 3, 5, 5))
    c, r = w.layers
    assert c.kind == "Conv2d" and c.flops == 2 * 4 * 5 * 5 * 3 * 3 * 3
    assert c.param_bytes == (4 * 3 * 3 * 3 + 4) * 4
    assert c.input_bytes == 3 * 25 * 4 and c.output_bytes == 4 * 25 * 4
    assert r.flops == 0 and r.bytes == 2 * 4 * 25 * 4
