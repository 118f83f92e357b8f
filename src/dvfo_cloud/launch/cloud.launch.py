"""ros2 launch dvfo_cloud cloud.launch.py [params_file:=/path/to/cloud.yaml] [autostart:=false]

Starts the cloud nodes listed in config/graph.yaml (the list `dvfo launch cloud` reads too).
"""

from dvfo_core.ros_launch import launch_description


def generate_launch_description():
    """The cloud nodes with their shared parameter file."""
    return launch_description("cloud")
