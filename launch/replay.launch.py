"""ros2 launch dvfo_core replay.launch.py bag:=RECORDED_BAG out:=NEW_BAG [bag_topic:=/camera/image_raw]
    [recorder:=dvfo|ros2] [edge_params_file:=...] [cloud_params_file:=...] [autostart:=false]

A recorded run replayed for training: the camera plays the images of the recorded bag once, head,
governor and tail (config/graph.yaml) run on them, and a recorder (`dvfo record`, or `ros2 bag
record` with recorder:=ros2) writes the DVFO topics to NEW_BAG; then `dvfo train --bag NEW_BAG`.
What it starts: dvfo_core.ros_launch.plan("replay", bag=..., out=...).
"""

from dvfo_core.ros_launch import launch_description


def generate_launch_description():
    """The whole graph on a recorded camera stream, and a recorder."""
    return launch_description("replay")
