"""ros2 launch dvfo_core system.launch.py [edge_params_file:=...] [cloud_params_file:=...] [autostart:=false]

Robot and cloud on one machine: every node of config/graph.yaml (camera, head, governor; tail),
each group with its own parameter file; the same nodes `dvfo launch all` starts without ROS 2.
What it starts: dvfo_core.ros_launch.plan("system").
"""

from dvfo_core.ros_launch import launch_description


def generate_launch_description():
    """The whole graph on this machine."""
    return launch_description("system")
