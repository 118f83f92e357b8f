"""Matches across DDS vendors (rclpy on Fast DDS, the DDS adapter on Cyclone) count once nothing
published from then on can be lost: every message published after a publisher reports a
subscriber arrives, in both directions, and an answer sent after a subscription reports a
publisher arrives too (docs/runtime.md, dvfo_core/runtime/matching.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from rclpy.executors import SingleThreadedExecutor

from dvfo_core.runtime.dds import DdsNode, Executor
from dvfo_core.runtime.port import Node
from dvfo_core.runtime.ros import RosNode

N = 40
TOPIC = "/test/matching"
TYPE = "std_msgs/msg/String"


class _Both:
    """One DDS-adapter node and one rclpy node in this process, spun together."""

    def __init__(self) -> None:
        self.dds = DdsNode("matching_dds")
        self.ros = RosNode("matching_rclpy")
        self._dds_exec = Executor([self.dds])
        self._ros_exec = SingleThreadedExecutor()
        self._ros_exec.add_node(self.ros.rclpy_node)

    def spin(self, seconds: float, until: Callable[[], bool] = lambda: False) -> bool:
        end = time.monotonic() + seconds
        while not until() and time.monotonic() < end:
            self._ros_exec.spin_once(timeout_sec=0.002)
            self._dds_exec.spin_once(0.002)
        return until()

    def close(self) -> None:
        self._ros_exec.shutdown()
        self.ros.destroy()
        self.dds.destroy()


@pytest.fixture
def both(dds_domain: int) -> Iterator[_Both]:
    pair = _Both()
    yield pair
    pair.close()


def _stream(both: _Both, writer: Node, reader: Node) -> list[int]:
    """The reader subscribes first; the writer publishes 1..N at 50 Hz from the moment its
    subscriber count is positive. Returns what arrived."""
    got: list[int] = []
    reader.subscribe(TYPE, TOPIC, lambda m: got.append(int(m.data)))
    pub = writer.publisher(TYPE, TOPIC)
    assert both.spin(30, lambda: writer.subscriber_count(pub) > 0), "never matched"
    for i in range(1, N + 1):
        pub.publish(writer.msg(TYPE)(data=str(i)))
        both.spin(0.02)
    both.spin(5, lambda: len(got) >= N)
    return got


@pytest.mark.parametrize("direction", ["rclpy->dds", "dds->rclpy"])
def test_every_message_published_once_a_subscriber_is_counted_arrives(both: _Both, direction: str) -> None:
    writer, reader = (both.ros, both.dds) if direction == "rclpy->dds" else (both.dds, both.ros)
    got = _stream(both, writer, reader)
    assert got == list(range(1, N + 1)), f"lost: {sorted(set(range(1, N + 1)) - set(got))}"


def test_an_answer_sent_once_the_requester_counts_the_answering_publisher_arrives(both: _Both) -> None:
    """The head's offload rule: the DDS-adapter side waits until its answer subscription counts the
    rclpy publisher, then asks; the rclpy side answers at once; every answer arrives."""
    answers: list[int] = []
    both.dds.subscribe(TYPE, "/test/answer", lambda m: answers.append(int(m.data)))
    sub = both.dds.subscriptions[-1]
    answer_pub = both.ros.publisher(TYPE, "/test/answer")
    request_pub = both.dds.publisher(TYPE, "/test/request")
    both.ros.subscribe(TYPE, "/test/request", lambda m: answer_pub.publish(m))
    assert both.spin(30, lambda: both.dds.publisher_count(sub) > 0 and both.dds.subscriber_count(request_pub))
    for i in range(1, N + 1):
        request_pub.publish(both.dds.msg(TYPE)(data=str(i)))
        both.spin(0.02)
    both.spin(5, lambda: len(answers) >= N)
    assert answers == list(range(1, N + 1))
