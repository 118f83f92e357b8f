"""Split profiles tell the twin what really runs: sliced edge tail, nothing in the cloud at xi = 0."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from split_helpers import SHIPPED, images

from dvfo_core.errors import ConfigError
from dvfo_core.split.net import SplitNet
from dvfo_core.split.profile import (
    SplitProfile,
    build_split_profile,
    load_profile,
    save_profiles,
    shipped_profiles,
)

XIS = (0.0, 0.25, 0.5, 0.75, 1.0)


@pytest.fixture(scope="module")
def profile(small_net: SplitNet) -> SplitProfile:
    return build_split_profile(small_net, XIS, images(3, size=64), image_size_for_costs=64, progress=False)


def test_edge_work_shrinks_with_xi_and_cloud_is_idle_at_zero(profile: SplitProfile) -> None:
    edge = [profile.at(xi).edge.flops for xi in XIS]
    cloud = [profile.at(xi).cloud.flops for xi in XIS]
    assert all(a > b for a, b in itertools.pairwise(edge))  # sliced conv reads fewer channels
    assert cloud[0] == 0 and profile.at(0.0).cloud.layers == ()
    assert all(a < b for a, b in itertools.pairwise(cloud))
    assert profile.at(0.0).payload_bytes == 0
    payload = [profile.at(xi).payload_bytes for xi in XIS]
    assert all(a < b for a, b in itertools.pairwise(payload))


def test_xi_zero_is_full_local_and_xi_one_runs_head_and_sca_only(profile: SplitProfile) -> None:
    assert profile.at(0.0).edge.flops == pytest.approx(profile.full_local.flops)
    at_one = profile.at(1.0)
    kinds = {layer.name.split(".")[0] for layer in at_one.edge.layers}
    assert not any(layer.name.startswith("layer3") for layer in at_one.edge.layers), kinds
    assert any(layer.kind == "Codec" for layer in at_one.edge.layers)
    # the cloud runs the whole tail on every channel, the same FLOPs as the edge would
    tail_flops = profile.full_local.flops - profile.at(1.0).edge.flops
    assert at_one.cloud.flops == pytest.approx(tail_flops, rel=0.01)
    assert at_one.fallback_edge.flops == pytest.approx(at_one.cloud.flops, rel=0.01)
    assert profile.at(0.5).fallback_edge.layers == ()


def test_neurosurgeon_split_points_and_cloud_only_payload(profile: SplitProfile, small_net: SplitNet) -> None:
    names = [sp.split for sp in profile.split_points]
    assert names == list(small_net.base.split_points)
    for sp in profile.split_points:
        total = sp.head_edge.flops + sp.tail.flops
        assert total == pytest.approx(
            profile.split_points[0].head_edge.flops + profile.split_points[0].tail.flops
        )
        assert 0 < sp.payload_bytes < sp.raw_fp32_bytes
    assert profile.cloud_only_raw_bytes == 64 * 64 * 3
    assert 0 < profile.cloud_only_payload_bytes


def test_profile_json_round_trip(profile: SplitProfile, tmp_path: Path) -> None:
    path = save_profiles([profile], tmp_path / "resnet18.json")
    json.loads(path.read_text())
    loaded = load_profile("resnet18", path)["layer2"]
    assert loaded == profile
    with pytest.raises(ConfigError, match="mobilenet_v2"):
        load_profile("mobilenet_v2", path)


@pytest.mark.parametrize("model", SHIPPED)
def test_shipped_profiles_are_measured_and_complete(model: str) -> None:
    assert model in shipped_profiles()
    profiles = load_profile(model)
    for split, prof in profiles.items():
        assert prof.split == split and prof.trained and prof.cost_image_size == 224
        assert prof.xis[0] == 0.0 and prof.xis[-1] == 1.0 and len(prof.xis) >= 5
        assert prof.n_accuracy > 0 and prof.full_local_accuracy is not None
        for lv in prof.levels:
            assert lv.accuracy is not None and lv.payload_bytes >= 0
            assert prof.full_local_accuracy - lv.accuracy <= 0.01 + 1e-9, (model, lv.xi)
        assert prof.at(0.0).cloud.flops == 0
        assert prof.at(1.0).edge.flops < prof.at(0.0).edge.flops


def test_every_zoo_model_has_a_shipped_profile() -> None:
    from dvfo_core.split import zoo

    assert set(zoo.model_names()) <= set(shipped_profiles())
