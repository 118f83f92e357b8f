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
