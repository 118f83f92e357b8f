"""Parameters: ROS 2 YAML files, declarations with validation, change callbacks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dvfo_core.errors import ConfigError
from dvfo_core.runtime.dds import DdsNode
from dvfo_core.runtime.params import ParameterError, ParameterStore, ParamSpec, load_parameter_file
from dvfo_core.runtime.qos import parse_qos

SPECS = [
    ParamSpec("model", "resnet18", "torchvision model name", choices=["resnet18", "mobilenet_v2"]),
    ParamSpec("eta", 0.5, "energy weight of the cost", min=0.0, max=1.0),
    ParamSpec("rate_hz", 10.0, "frame rate", min=0.1),
    ParamSpec("qos.image", "sensor_data", "QoS of /camera/image_raw"),
    ParamSpec("dry_run", False, "do not touch clocks"),
]


def test_yaml_round_trip_through_a_node(tmp_path: Path, dds_domain: int) -> None:
    path = tmp_path / "params.yaml"
    doc = {
        "/**": {"ros__parameters": {"rate_hz": 5.0}},
        "head": {"ros__parameters": {"model": "mobilenet_v2", "eta": 0.8, "qos": {"image": "default"}}},
        "governor": {"ros__parameters": {"eta": 0.1}},
    }
    path.write_text(yaml.safe_dump(doc))
    node = DdsNode("head", params_file=path)
    values = node.declare_all(SPECS)
    assert values == {
        "model": "mobilenet_v2", "eta": 0.8, "rate_hz": 5.0, "qos.image": "default", "dry_run": False
    }
    dumped = {"head": {"ros__parameters": dict(values)}}
    (tmp_path / "back.yaml").write_text(yaml.safe_dump(dumped))
    assert load_parameter_file(tmp_path / "back.yaml", "head") == values


def test_bad_value_is_rejected_with_a_clear_message() -> None:
    store = ParameterStore("governor")
    for spec in SPECS:
        store.declare(spec)
    with pytest.raises(ParameterError, match=r"parameter governor\.eta: 1\.5 is above the maximum 1\.0"):
        store.set("eta", 1.5)
    with pytest.raises(ParameterError, match=r"governor\.model: 'vgg99' is not one of"):
        store.set("model", "vgg99")
    with pytest.raises(ParameterError, match=r"governor\.dry_run: expected bool, got str"):
        store.set("dry_run", "yes")
    assert store.get("eta") == 0.5  # unchanged after rejections


def test_change_callbacks_see_accepted_values_only() -> None:
    store = ParameterStore("governor")
    store.declare(SPECS[1])
    seen = []
    store.on_change(lambda name, value: seen.append((name, value)))
    store.set("eta", 1)  # an int is a valid float
    with pytest.raises(ParameterError):
        store.set("eta", -1.0)
    assert seen == [("eta", 1.0)]


def test_bad_value_in_the_yaml_file_fails_at_declaration(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("governor:\n  ros__parameters:\n    eta: 7.0\n")
    store = ParameterStore("governor", load_parameter_file(path, "governor"))
    with pytest.raises(ParameterError, match=r"governor\.eta: 7\.0 is above the maximum"):
        store.declare(SPECS[1])


def test_missing_and_malformed_files_give_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"parameter file .*nope\.yaml does not exist"):
        load_parameter_file(tmp_path / "nope.yaml", "head")
    bad = tmp_path / "bad.yaml"
    bad.write_text("head: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: line \d+ is not valid YAML"):
        load_parameter_file(bad, "head")
    nosection = tmp_path / "nosection.yaml"
    nosection.write_text("head:\n  model: resnet18\n")
    with pytest.raises(ConfigError, match="has no 'ros__parameters'"):
        load_parameter_file(nosection, "head")


def test_qos_presets_follow_rmw() -> None:
    assert parse_qos("sensor_data").reliability == "best_effort" and parse_qos("sensor_data").depth == 5
    assert parse_qos("default").reliability == "reliable" and parse_qos("default").depth == 10
    assert parse_qos("sensor_data:2").depth == 2
    with pytest.raises(ConfigError, match="unknown QoS preset 'fast'"):
        parse_qos("fast")
