"""The ros2 launch files start what config/graph.yaml lists, as `dvfo launch` does.

`launch` and `launch_ros` have no wheels, so what each file starts is checked through
:func:`dvfo_core.ros_launch.plan`, the middleware-free function its description is built from at
launch time; the files themselves are checked to be that one call, importable without ROS 2.
"""

from __future__ import annotations

import ast
import re
import runpy
from pathlib import Path

import pytest

from dvfo_core.cli import build_parser
from dvfo_core.errors import ConfigError
from dvfo_core.graph import load_graph
from dvfo_core.launcher import node_command
from dvfo_core.paths import CHECKOUT_ROOT, config_dir
from dvfo_core.recorder import DEFAULT_TOPICS
from dvfo_core.ros_launch import KINDS, plan
from dvfo_core.runtime.params import load_parameter_file
from dvfo_edge.camera_node import PARAMS as CAMERA_PARAMS

LAUNCH_FILES = {
    "src/dvfo_edge/launch/edge.launch.py": "edge",
    "src/dvfo_cloud/launch/cloud.launch.py": "cloud",
    "launch/system.launch.py": "system",
    "launch/replay.launch.py": "replay",
}


@pytest.mark.parametrize("path", LAUNCH_FILES)
def test_each_launch_file_is_its_kind_of_description_and_imports_without_ros2(path: str) -> None:
    file = CHECKOUT_ROOT / path
    assert callable(runpy.run_path(str(file))["generate_launch_description"])
    calls = [
        node.args[0].value
        for node in ast.walk(ast.parse(file.read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "launch_description"
    ]
    assert calls == [LAUNCH_FILES[path]]
    usage = ast.get_docstring(ast.parse(file.read_text())) or ""
    for argument in KINDS[LAUNCH_FILES[path]][0]:
        assert f"{argument.name}:=" in usage, f"{path}: its usage line names {argument.name}"


def test_system_launch_starts_every_node_as_dvfo_launch_all() -> None:
    nodes = plan("system").nodes
    entries = load_graph("all")
    assert [(n.package, n.executable, n.name, n.params_file) for n in nodes] == [
        (e.package, e.executable, e.name, e.params) for e in entries
    ]
    for n, e in zip(nodes, entries, strict=True):
        command = node_command(e)
        assert command[command.index("-m") + 1] == f"{n.package}.{n.executable}"
        assert f"__node:={n.name}" in command and str(n.params_file) in command
        assert n.parameters == {"autostart": True}
        assert load_parameter_file(n.params_file, n.name), f"{n.params_file} has a section for {n.name}"
    assert {n.params_file.name for n in nodes} == {"edge.yaml", "cloud.yaml"}


def test_package_launch_files_start_their_group_and_take_a_params_file(tmp_path: Path) -> None:
    for group in ("edge", "cloud"):
        assert [n.name for n in plan(group).nodes] == [e.name for e in load_graph(group)]
        assert {n.params_file for n in plan(group).nodes} == {config_dir() / f"{group}.yaml"}
    mine = tmp_path / "robot.yaml"
    edge = plan("edge", params_file=str(mine), autostart="false").nodes
    assert {n.params_file for n in edge} == {mine}
    assert all(n.parameters == {"autostart": False} for n in edge)
    system = plan("system", cloud_params_file=str(mine)).nodes
    assert {n.name: n.params_file for n in system}["tail"] == mine
    assert {n.name: n.params_file for n in system}["head"] == config_dir() / "edge.yaml"


def test_replay_launch_plays_the_bag_through_the_graph_and_records_what_training_reads() -> None:
    replay = plan("replay", bag="/data/run1", out="/data/run1_replay")
    assert [n.name for n in replay.nodes] == [e.name for e in load_graph("all")]
    camera = next(n for n in replay.nodes if n.name == "camera")
    assert camera.parameters == {
        "autostart": True,
        "source": "bag",
        "path": "/data/run1",
        "bag_topic": "/camera/image_raw",
        "loop": False,
    }
    specs = {s.name: s for s in CAMERA_PARAMS}
    for name, value in camera.parameters.items():
        if name != "autostart":
            assert specs[name].validate(value, "camera") == value, "the camera accepts it"
    assert all(n.parameters == {"autostart": True} for n in replay.nodes if n.name != "camera")
    (recorder,) = replay.processes
    assert recorder[1:3] == ["-m", "dvfo_core.cli"]
    args = build_parser().parse_args(recorder[3:])
    assert (args.command, str(args.out), args.topics) == ("record", "/data/run1_replay", list(DEFAULT_TOPICS))
    (ros2,) = plan("replay", bag="b", out="o", recorder="ros2").processes
    assert ros2 == ["ros2", "bag", "record", "--output", "o", *DEFAULT_TOPICS]


@pytest.mark.parametrize(
    ("kind", "arguments", "message"),
    [
        ("replay", {"out": "o"}, "missing argument(s) bag:=..."),
        ("replay", {"bag": "b", "out": "o", "recorder": "rosbag"}, "recorder:=rosbag: expected dvfo or ros2"),
        ("system", {"autostart": "maybe"}, "autostart:=maybe: expected true or false"),
        ("edge", {"edge_params_file": "x"}, "unknown argument(s) edge_params_file"),
        ("robot", {}, "unknown launch file kind 'robot'"),
    ],
)
def test_bad_launch_arguments_are_one_line_errors(kind: str, arguments: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        plan(kind, **arguments)
