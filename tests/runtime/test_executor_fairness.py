"""A node slower than its input still runs its timers: the executor interleaves them with a backlog
(the head's cloud time-outs run on a timer while camera frames queue up)."""

from __future__ import annotations

import time

import pytest

from dvfo_core.runtime.dds import DdsNode, Executor

N = 12


@pytest.mark.parametrize("intra_process", [False, True])
def test_a_due_timer_runs_between_the_messages_of_a_backlog(dds_domain: int, intra_process: bool) -> None:
    sender = DdsNode("sender", intra_process=intra_process)
    receiver = DdsNode("receiver", intra_process=intra_process)
    events: list[str] = []

    def slow(msg: object) -> None:  # each message takes longer than the timer's period
        events.append("message")
        time.sleep(0.03)

    receiver.subscribe("std_msgs/msg/String", "/backlog", slow, "default:100")
    receiver.timer(0.01, lambda: events.append("timer"))
    pub = sender.publisher("std_msgs/msg/String", "/backlog", "default:100")
    executor = Executor([sender, receiver])
    executor.spin(10, until=lambda: pub.matched_count() > 0)
    assert pub.matched_count() > 0
    for i in range(N):
        pub.publish(pub.msg_class(data=str(i)))
    executor.spin(30, until=lambda: events.count("message") == N)
    assert events.count("message") == N, "every message handled"
    first, last = events.index("message"), len(events) - 1 - events[::-1].index("message")
    between = events[first:last].count("timer")
    assert between >= N - 1, f"the timer ran between the backlog's messages: {events}"
