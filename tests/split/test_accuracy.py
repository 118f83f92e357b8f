"""The accuracy claim: fused split inference within 1 pp of full local inference at every xi."""

from __future__ import annotations

import pytest
from torch.utils.data import Subset

from dvfo_core.split.accuracy import DEFAULT_XIS, evaluate
from dvfo_core.split.data import load_dataset
from dvfo_core.split.net import SplitNet


def test_fused_accuracy_holds_on_a_small_held_out_subset(shipped_net: SplitNet) -> None:
    data = load_dataset("mnist", shipped_net.config.image_size)
    subset = Subset(data.test, range(0, 1000, 5))  # 200 images, every class
    report = evaluate(shipped_net, subset, "mnist", DEFAULT_XIS, ["int8+zstd"], progress=False)
    assert report.n == 200
    assert report.full_local_top1 >= 0.95
    assert report.max_drop_pp() <= 2.0, report.table()  # 1 image in 200 is 0.5 pp
    assert [r.xi for r in report.rows] == list(DEFAULT_XIS)
    assert report.rows[0].payload_bytes == 0 and report.rows[-1].payload_bytes > report.rows[1].payload_bytes


@pytest.mark.slow
def test_fused_accuracy_within_one_point_on_the_full_test_split(shipped_net: SplitNet) -> None:
    """The paper's claim on the whole held-out split (n = 1000), for the shipped int8+zstd codec."""
    data = load_dataset("mnist", shipped_net.config.image_size)
    report = evaluate(
        shipped_net, data.test, "mnist", DEFAULT_XIS, ["int8+zstd", "int4+zstd"], progress=False
    )
    assert report.n == 1000
    int8 = [r for r in report.rows if r.encoding == "int8+zstd"]
    for row in int8:
        assert report.full_local_top1 - row.fused_top1 <= 0.01 + 1e-9, report.table()
    assert report.full_local_top1 >= 0.95
