"""Every parameter the shipped YAML files give a node is one the node declares (a line under the
wrong node, or a typo, would be silently ignored otherwise), and a node given one it does not
declare says so once when it starts."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

import pytest

from dvfo_core.graph import NodeEntry, load_graph
from dvfo_core.runtime.dds import DdsNode
from dvfo_core.runtime.node_main import bring_up

NODES = load_graph("all")


def _built(entry: NodeEntry, params_file: Path) -> DdsNode:
    """The node ``entry`` with its logic built (parameters declared), not configured."""
    node = DdsNode(entry.name, params_file=params_file, overrides={"autostart": False})
    logic = importlib.import_module(entry.module).LOGIC
    assert bring_up(node, logic)
    return node


@pytest.mark.parametrize("entry", NODES, ids=[e.name for e in NODES])
def test_the_shipped_file_names_only_parameters_the_node_declares(dds_domain: int, entry: NodeEntry) -> None:
    node = _built(entry, entry.params)
    try:
        assert node.undeclared_parameters() == [], f"{entry.params.name}, {entry.name}: not declared"
    finally:
        node.destroy()


def test_an_undeclared_parameter_is_named_in_one_warning(
    dds_domain: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    camera = next(e for e in NODES if e.name == "camera")
    typo = tmp_path / "camera.yaml"
    typo.write_text("camera:\n  ros__parameters:\n    rate_hz: 5.0\n    rate_hertz: 5.0\n")
    with caplog.at_level(logging.WARNING):
        node = _built(camera, typo)
    node.destroy()
    warnings = [r.getMessage() for r in caplog.records if "does not declare" in r.getMessage()]
    assert warnings == ["camera: ignoring parameters it does not declare: rate_hertz"]
