"""A policy ships for every board x model x evaluated power mode, and each fits today's world."""

from __future__ import annotations

import pytest

from dvfo_core.device.profiles import list_profiles, load_profile
from dvfo_core.errors import ConfigError
from dvfo_core.evaluation.pipeline import get_policy
from dvfo_core.governor import Governor
from dvfo_core.learning.policy import Policy, PolicyError, shipped_policy, shipped_policy_path
from dvfo_core.world.build import WorldSpec, build_world, evaluated_modes

MODELS = ("resnet18", "mobilenet_v2")
PAIRS = [
    (device, mode, model)
    for device in list_profiles()
    for mode in evaluated_modes(load_profile(device))
    for model in MODELS
]


@pytest.mark.parametrize(("device", "mode", "model"), PAIRS)
def test_the_shipped_policy_fits_the_current_twin_profiles_and_accounting(
    device: str, mode: str, model: str, tmp_path
) -> None:
    path = shipped_policy_path(device, model, mode)
    assert path.is_file() and path.stat().st_size < 200_000
    policy = Policy.load(path)
    world = build_world(WorldSpec(device, model, power_mode=mode))
    policy.check(world.device, world.twin.table, world.model)
    assert policy.meta.table.routes == world.route_keys
    assert policy.meta.context == world.context  # references (E_ref, T_ref, deadline) unchanged
    # get_policy picks it (an empty cache: nothing is trained)
    picked = get_policy(world, "dvfo", cache=tmp_path, progress=False)
    assert picked.weights[0].tobytes() == policy.weights[0].tobytes()
    assert not any(tmp_path.iterdir())


def test_the_governor_picks_the_policy_of_its_board_and_model_by_itself() -> None:
    world = build_world(WorldSpec("jetson-tx2", "mobilenet_v2"))
    gov = Governor(world, "dvfo", 0.5)
    assert gov.policy is not None and gov.policy.meta.device == "jetson-tx2"
    assert gov.policy.meta.model == "mobilenet_v2" and gov.policy.meta.power_mode == world.power_mode


def test_a_missing_pair_is_one_clear_error_naming_it() -> None:
    with pytest.raises(PolicyError, match=r"no shipped policy for jetson-nano \(5W\) with resnet18") as err:
        shipped_policy("jetson-nano", "resnet18", "5W")
    assert "\n" not in str(err.value) and "jetson-nano/MAXN/resnet18" in str(err.value)
    world = build_world(WorldSpec("jetson-nano", "resnet18", power_mode="5W"))
    with pytest.raises(ConfigError, match="no shipped policy"):
        Governor(world, "dvfo", 0.5)
