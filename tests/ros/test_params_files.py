"""Every shipped parameter file is read by rcl itself, value for value as YAML means it.

rcl's parser (libyaml events) is stricter than PyYAML: an unquoted ``tls/127.0.0.1:7447`` inside
a flow sequence is a parse error there and nowhere else, and it stops every rclpy node at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import rclpy
import yaml
from rclpy.context import Context

CONFIG = Path(__file__).resolve().parents[2] / "config"
PARAM_FILES = sorted(p for p in CONFIG.rglob("*.yaml") if "ros__parameters" in p.read_text())


def _leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Parameter names (nested maps joined with dots, as ROS 2 names them) to values."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_leaves(value, f"{name}."))
        else:
            out[name] = value
    return out


def test_the_node_parameter_files_are_found() -> None:
    assert {p.name for p in PARAM_FILES} >= {"edge.yaml", "cloud.yaml"}


@pytest.mark.parametrize("path", PARAM_FILES, ids=lambda p: str(p.relative_to(CONFIG)))
def test_rcl_reads_every_value_of_a_shipped_parameter_file(path: Path) -> None:
    sections = yaml.safe_load(path.read_text())
    context = Context()
    rclpy.init(args=["--ros-args", "--params-file", str(path)], context=context)
    try:
        for node_name, section in sections.items():
            expected = _leaves(section["ros__parameters"])
            node = rclpy.create_node(
                node_name, context=context, automatically_declare_parameters_from_overrides=True
            )
            try:
                got = {name: node.get_parameter(name).value for name in expected}
            finally:
                node.destroy_node()
            assert got == {k: (list(v) if isinstance(v, list) else v) for k, v in expected.items()}
    finally:
        rclpy.shutdown(context=context)


def test_an_rclpy_node_names_the_parameters_it_was_given_but_does_not_declare(tmp_path: Path) -> None:
    from dvfo_core.runtime.params import ParamSpec
    from dvfo_core.runtime.ros import RosNode

    typo = tmp_path / "camera.yaml"
    typo.write_text("camera_typo_check:\n  ros__parameters:\n    rate_hz: 5.0\n    rate_hertz: 5.0\n")
    node = RosNode("camera_typo_check", args=["--ros-args", "--params-file", str(typo), "-p", "colour:=red"])
    try:
        assert node.declare(ParamSpec("rate_hz", 10.0, "frames per second")) == 5.0
        assert node.undeclared_parameters() == ["colour", "rate_hertz"]
    finally:
        node.destroy()
