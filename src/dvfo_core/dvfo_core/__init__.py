"""DVFO core library: no ROS import at module level.

Sub-packages: ``runtime`` (node port, Cyclone DDS and rclpy adapters, parameters), ``device``
(sysfs backend, digital twin, network and cloud models), ``split`` (model zoo, spatial-channel
attention, codec, fusion, training), ``rl`` (environment, agents, baselines, evaluation), ``bag``
(rosbag2 I/O).
"""

__version__ = "0.1.0"
