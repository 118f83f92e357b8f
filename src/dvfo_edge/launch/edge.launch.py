"""ros2 launch dvfo_edge edge.launch.py [params_file:=/path/to/edge.yaml]

Starts the edge nodes listed in config/graph.yaml (the list `dvfo launch edge` reads too),
each with the parameter file below.
"""

from dvfo_core.graph import load_graph
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription


def generate_launch_description() -> LaunchDescription:
    """The edge nodes with a shared parameter file."""
    entries = load_graph("edge")
    params_file = LaunchConfiguration("params_file")
    actions = [
        DeclareLaunchArgument(
            "params_file",
            default_value=str(entries[0].params),
            description="ROS 2 parameter YAML for the edge nodes",
        )
    ]
    for entry in entries:
        actions.append(
            Node(
                package=entry.package,
                executable=entry.executable,
                name=entry.name,
                parameters=[params_file],
                output="screen",
                emulate_tty=True,
            )
        )
    return LaunchDescription(actions)
