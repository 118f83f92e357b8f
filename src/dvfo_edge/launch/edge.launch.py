"""ros2 launch dvfo_edge edge.launch.py [params_file:=/path/to/edge.yaml] [autostart:=false]

Starts the edge nodes listed in config/graph.yaml (the list `dvfo launch edge` reads too).
"""

from dvfo_core.ros_launch import launch_description


def generate_launch_description():
    """The edge nodes with their shared parameter file."""
    return launch_description("edge")
