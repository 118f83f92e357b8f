"""One side of the LAN discovery test (tests/ros/test_lan_discovery.py), run inside its own network
namespace: a node of either runtime that publishes ``std_msgs/String`` on ``/chatter``, or listens
until it has three messages and prints how many it got (JSON). Discovery is left entirely to the
environment the test gives it, as on a robot.

    python lan_peer.py {rclpy|dds} {pub|sub} SECONDS
"""

from __future__ import annotations

import json
import sys
import time

WANTED = 3


def main(runtime: str, role: str, seconds: float) -> None:
    """Publish for ``seconds`` (pub), or listen up to ``seconds`` and print what came (sub)."""
    if runtime == "rclpy":
        import rclpy

        from dvfo_core.runtime.ros import RosNode

        node = RosNode(f"lan_{role}")

        def spin(timeout_s: float) -> None:
            rclpy.spin_once(node.rclpy_node, timeout_sec=timeout_s)
    else:
        from dvfo_core.runtime.dds import DdsNode, Executor

        node = DdsNode(f"lan_{role}")
        executor = Executor([node])

        def spin(timeout_s: float) -> None:
            executor.spin_once(timeout_s)

    got: list[str] = []
    end = time.monotonic() + seconds
    if role == "pub":
        pub, string = node.publisher("std_msgs/msg/String", "/chatter"), node.msg("std_msgs/msg/String")
        i = 0
        while time.monotonic() < end:
            pub.publish(string(data=f"m{i}"))
            i += 1
            spin(0.2)
    else:
        node.subscribe("std_msgs/msg/String", "/chatter", lambda m: got.append(m.data))
        while time.monotonic() < end and len(got) < WANTED:
            spin(0.1)
        print(json.dumps({"received": len(got)}), flush=True)
    node.destroy()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
