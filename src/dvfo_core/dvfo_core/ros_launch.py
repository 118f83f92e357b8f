"""The ``ros2 launch`` description of a node group, shared by the edge and cloud launch files.

Imports ``launch`` and ``launch_ros`` only when called: they exist on a robot with ROS 2 alone.
"""

from __future__ import annotations

from typing import Any

from dvfo_core.graph import load_graph


def launch_description(group: str) -> Any:
    """A ``LaunchDescription`` starting the ``group`` nodes of ``config/graph.yaml``.

    Argument ``params_file:=...`` replaces the group's parameter file for every node;
    ``autostart:=false`` leaves the (managed) nodes unconfigured for ``ros2 lifecycle set``.
    """
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node
    from launch_ros.parameter_descriptions import ParameterValue

    entries = load_graph(group)
    params_file = LaunchConfiguration("params_file")
    autostart = ParameterValue(LaunchConfiguration("autostart"), value_type=bool)
    actions: list[Any] = [
        DeclareLaunchArgument(
            "params_file",
            default_value=str(entries[0].params),
            description=f"ROS 2 parameter YAML for the {group} nodes",
        ),
        DeclareLaunchArgument(
            "autostart",
            default_value="true",
            description="configure and activate the managed nodes at start",
        ),
    ]
    actions += [
        Node(
            package=e.package,
            executable=e.executable,
            name=e.name,
            parameters=[params_file, {"autostart": autostart}],
            output="screen",
            emulate_tty=True,
        )
        for e in entries
    ]
    return LaunchDescription(actions)
