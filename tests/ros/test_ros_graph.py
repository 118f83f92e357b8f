"""DDS-adapter nodes are part of the ROS 2 graph: rclpy (and so `ros2 node list`, `ros2 node
info`) sees them with their topics and services, through ``ros_discovery_info``."""

from __future__ import annotations

import time

from ros_helpers import RosCollector

from dvfo_core.runtime.dds import DdsNode


def _wait_for(collector: RosCollector, name: str, namespace: str, timeout_s: float = 15) -> bool:
    end = time.monotonic() + timeout_s
    graph = collector.node.rclpy_node
    while time.monotonic() < end:
        if (name, namespace) in graph.get_node_names_and_namespaces():
            return True
        collector.executor.spin_once(timeout_sec=0.1)
    return False


def test_a_dds_adapter_node_is_listed_with_its_topics_and_services(ros_collector: RosCollector) -> None:
    node = DdsNode("dds_head", namespace="/robot1")
    node.publisher("dvfo_msgs/msg/InferenceResult", "/dvfo/result")
    node.subscribe("sensor_msgs/msg/Image", "/camera/image_raw", lambda _m: None)
    node.manage(object())
    graph = ros_collector.node.rclpy_node
    assert _wait_for(ros_collector, "dds_head", "/robot1"), graph.get_node_names_and_namespaces()
    # endpoints are attributed to the node by their GUIDs, as for any ROS 2 node
    assert ("/dvfo/result", ["dvfo_msgs/msg/InferenceResult"]) in graph.get_publisher_names_and_types_by_node(
        "dds_head", "/robot1"
    )
    assert ("/camera/image_raw", ["sensor_msgs/msg/Image"]) in graph.get_subscriber_names_and_types_by_node(
        "dds_head", "/robot1"
    )
    services = dict(graph.get_service_names_and_types_by_node("dds_head", "/robot1"))
    assert services["/robot1/dds_head/set_parameters"] == ["rcl_interfaces/srv/SetParameters"]
    assert services["/robot1/dds_head/change_state"] == ["lifecycle_msgs/srv/ChangeState"]

    node.destroy()
    end = time.monotonic() + 15
    while ("dds_head", "/robot1") in graph.get_node_names_and_namespaces() and time.monotonic() < end:
        ros_collector.executor.spin_once(timeout_sec=0.1)
    assert ("dds_head", "/robot1") not in graph.get_node_names_and_namespaces(), "a destroyed node leaves"
