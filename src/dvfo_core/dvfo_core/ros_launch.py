"""What each ``ros2 launch`` file of the project starts, from ``config/graph.yaml``.

The launch files (``src/dvfo_edge/launch/edge.launch.py``, ``src/dvfo_cloud/launch/cloud.launch.py``
and the whole-system ones in the top-level ``launch/``: ``system.launch.py``, ``replay.launch.py``)
are one line each: :func:`launch_description` of their kind. What they start is computed here by
middleware-free functions (:func:`plan`): the nodes with their parameter files and parameters, and
the processes (the recorder); ``launch`` and ``launch_ros`` are imported only when a description is
generated, i.e. on a robot with ROS 2 (they have no wheels on PyPI).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvfo_core.errors import ConfigError
from dvfo_core.graph import load_graph


@dataclass(frozen=True)
class Argument:
    """A launch argument (``name:=value`` on the ``ros2 launch`` command line)."""

    name: str
    default: str | None  #: None: the argument is required
    description: str


@dataclass(frozen=True)
class NodeLaunch:
    """One node a launch file starts: what ``launch_ros.actions.Node`` gets."""

    package: str
    executable: str
    name: str
    params_file: Path  #: the group's parameter YAML
    parameters: dict[str, Any] = field(default_factory=dict)  #: given after the file (they win)


@dataclass(frozen=True)
class LaunchPlan:
    """Everything one launch file starts."""

    nodes: list[NodeLaunch]
    processes: list[list[str]] = field(default_factory=list)  #: command lines (the recorder)


def _flag(value: str | bool, name: str) -> bool:
    """A launch argument's boolean (``true``/``false``, as ``ros2 launch`` passes them)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise ConfigError(f"launch argument {name}:={value}: expected true or false")
    return text == "true"


def _nodes(group: str, params: dict[str, str], autostart: str | bool) -> list[NodeLaunch]:
    """The nodes of ``group`` (``edge``, ``cloud``, ``all``), each with its group's parameter file
    (``params[group]`` when given and not empty) and ``autostart``."""
    start = {"autostart": _flag(autostart, "autostart")}
    return [
        NodeLaunch(e.package, e.executable, e.name, Path(params.get(e.group) or e.params), dict(start))
        for e in load_graph(group)
    ]


def group_plan(group: str, params_file: str = "", autostart: str | bool = "true") -> LaunchPlan:
    """``edge.launch.py`` / ``cloud.launch.py``: the group's nodes; ``params_file`` replaces the
    group's parameter file."""
    return LaunchPlan(_nodes(group, {group: params_file}, autostart))


def system_plan(
    edge_params_file: str = "", cloud_params_file: str = "", autostart: str | bool = "true"
) -> LaunchPlan:
    """``launch/system.launch.py``: robot and cloud on one machine, every node of the graph with its
    group's parameter file (what ``dvfo launch all`` starts over the DDS adapter)."""
    return LaunchPlan(_nodes("all", {"edge": edge_params_file, "cloud": cloud_params_file}, autostart))


def _recorded_topics() -> list[str]:
    """What the replay launch records: what ``dvfo record`` records by default, all ``dvfo train
    --bag`` needs."""
    from dvfo_core.recorder import DEFAULT_TOPICS

    return list(DEFAULT_TOPICS)


def replay_plan(
    bag: str,
    out: str,
    bag_topic: str = "/camera/image_raw",
    recorder: str = "dvfo",
    edge_params_file: str = "",
    cloud_params_file: str = "",
    autostart: str | bool = "true",
) -> LaunchPlan:
    """``launch/replay.launch.py``: a recorded run replayed for training. The camera plays the
    images of ``bag`` (topic ``bag_topic``) once, head, governor and tail run on them as on the
    robot, and a recorder writes the DVFO topics to the new bag ``out`` for ``dvfo train --bag``:
    ``dvfo record`` (the DDS adapter, no ROS 2 needed) or, with ``recorder:=ros2``, ``ros2 bag
    record`` (rosbag2; same bag layout)."""
    if not bag or not out:
        raise ConfigError("replay.launch.py needs bag:=RECORDED_BAG and out:=NEW_BAG")
    plan = system_plan(edge_params_file, cloud_params_file, autostart)
    camera = {"source": "bag", "path": bag, "bag_topic": bag_topic, "loop": False}
    nodes = [
        NodeLaunch(n.package, n.executable, n.name, n.params_file, {**n.parameters, **camera})
        if n.name == "camera"
        else n
        for n in plan.nodes
    ]
    topics = _recorded_topics()
    commands = {
        # `dvfo record` by the interpreter running the launch (on a colcon install the `dvfo`
        # script is in lib/dvfo_core, not on PATH)
        "dvfo": [sys.executable, "-m", "dvfo_core.cli", "record", "--out", out, "--topics", *topics],
        "ros2": ["ros2", "bag", "record", "--output", out, *topics],
    }
    if recorder not in commands:
        raise ConfigError(f"launch argument recorder:={recorder}: expected dvfo or ros2")
    return LaunchPlan(nodes, [commands[recorder]])


_AUTOSTART = Argument("autostart", "true", "configure and activate the managed nodes at start")


def _params_file(group: str) -> Argument:
    return Argument("params_file", "", f"parameter YAML of the {group} nodes (default: config/{group}.yaml)")


_EDGE = Argument("edge_params_file", "", "parameter YAML of the edge nodes (default: config/edge.yaml)")
_CLOUD = Argument("cloud_params_file", "", "parameter YAML of the cloud nodes (default: config/cloud.yaml)")

#: Each launch file's arguments and plan, by kind.
KINDS: dict[str, tuple[list[Argument], Callable[..., LaunchPlan]]] = {
    "edge": (
        [_params_file("edge"), _AUTOSTART],
        lambda **a: group_plan("edge", **a),
    ),
    "cloud": (
        [_params_file("cloud"), _AUTOSTART],
        lambda **a: group_plan("cloud", **a),
    ),
    "system": ([_EDGE, _CLOUD, _AUTOSTART], system_plan),
    "replay": (
        [
            Argument("bag", None, "the recorded rosbag2 bag whose images the camera replays"),
            Argument("out", None, "the bag to write (must not exist): dvfo train --bag reads it"),
            Argument("bag_topic", "/camera/image_raw", "image topic inside the recorded bag"),
            Argument("recorder", "dvfo", "dvfo (dvfo record, no ROS 2 needed) or ros2 (ros2 bag record)"),
            _EDGE,
            _CLOUD,
            _AUTOSTART,
        ],
        replay_plan,
    ),
}


def plan(kind: str, **arguments: str) -> LaunchPlan:
    """What the ``kind`` launch file starts with these launch arguments (defaults for the others)."""
    if kind not in KINDS:
        raise ConfigError(f"unknown launch file kind {kind!r}; choose {', '.join(KINDS)}")
    declared, build = KINDS[kind]
    names = {a.name for a in declared}
    unknown = sorted(set(arguments) - names)
    if unknown:
        raise ConfigError(f"{kind} launch: unknown argument(s) {', '.join(unknown)}")
    values = {a.name: a.default for a in declared if a.default is not None}
    values.update(arguments)
    missing = [a.name for a in declared if a.name not in values]
    if missing:
        raise ConfigError(f"{kind} launch: missing argument(s) {', '.join(f'{m}:=...' for m in missing)}")
    return build(**values)


def launch_description(kind: str) -> Any:
    """The ``LaunchDescription`` of a launch file: its arguments declared, and at launch time the
    nodes and processes of :func:`plan` with the values given."""
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    declared, _build = KINDS[kind]

    def actions(context: Any) -> list[Any]:
        values = {a.name: LaunchConfiguration(a.name).perform(context) for a in declared}
        started = plan(kind, **values)
        nodes = [
            Node(
                package=n.package,
                executable=n.executable,
                name=n.name,
                parameters=[str(n.params_file), n.parameters],
                output="screen",
                emulate_tty=True,
            )
            for n in started.nodes
        ]
        return nodes + [ExecuteProcess(cmd=cmd, output="screen") for cmd in started.processes]

    arguments = [
        DeclareLaunchArgument(a.name, description=a.description)
        if a.default is None
        else DeclareLaunchArgument(a.name, default_value=a.default, description=a.description)
        for a in declared
    ]
    return LaunchDescription([*arguments, OpaqueFunction(function=actions)])
