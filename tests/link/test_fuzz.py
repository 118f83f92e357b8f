"""10,000 hostile FeatureMaps through a real tail process on each link, well-formed frames among them.

The robot is this test: on DDS a publisher of ``/dvfo/feature_map``; on Zenoh robot alpha with its
certificate, through a router, to one tail worker. Cases come from the seeded generator of
fuzz_cases.py, a well-formed frame after every ``GOOD_EVERY`` hostile ones. The tail's rate cap is
off (tested in test_caps.py): every frame must reach the checks behind it. Specification:

* the tail never stops: its process is alive at the end and answered the last frame;
* every hostile frame it could read is answered once, ``ok: false``, with the generator's reason;
  those it could not (over the size cap, not a FeatureMap) are not answered;
* ``/diagnostics`` counts every refusal under its reason: exactly the generator's counts;
* every well-formed frame is answered ``ok: true`` with the logits of the in-process split.
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fuzz_cases import ROBOT, Case, hostile_cases, message
from link_helpers import wait_for

from dvfo_core.graph import load_graph
from dvfo_core.launcher import Launch, node_command
from dvfo_core.link.certs import robot_identity, worker_identity
from dvfo_core.link.plan import link_args
from dvfo_core.link.zenoh_link import RobotLink, client_config, open_session
from dvfo_core.runtime.dds import DdsNode, Executor
from dvfo_core.runtime.msgs import from_cdr
from dvfo_core.split.runner import SplitRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "graph"))
from graph_helpers import write_params

pytestmark = pytest.mark.slow
HOSTILE = 10_000
GOOD_EVERY = 100
CAP = 32 * 1024  #: the tail's max_payload_bytes here (frames are about 1 KB)
WINDOW = 200  #: answers outstanding before the robot waits
DEEP = "default:1000"  #: QoS of the offload topics: a burst of WINDOW frames fits
#: The reasons the generator's cases must be refused for, on each link (DDS carries only
#: well-typed messages, and a robot id there is a claim: of no robot, not of another one).
REASONS = {"shape", "channel_indices", "quant_params", "size", "encoding", "truncated", "corrupt"}
REASONS |= {"model_mismatch", "too_large"}
LINK_REASONS = {"dds": REASONS | {"robot_id"}, "zenoh": REASONS | {"robot_mismatch", "malformed"}}


class Robot:
    """The test's end of the link: sends cases, collects the answers and the tail's diagnostics."""

    def __init__(self) -> None:
        self.node = DdsNode("fuzz_robot")
        self.executor = Executor([self.node])
        self.answers: list[Any] = []
        self.counters: dict[str, int] = {}
        self.node.subscribe("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", self._on_diagnostics)

    def _on_diagnostics(self, msg: Any) -> None:
        for status in msg.status:
            if status.hardware_id.startswith("tail:"):
                self.counters = {kv.key: kv.value for kv in status.values}

    def rejected(self) -> Counter[str]:
        """The tail's refusals per reason, as its latest /diagnostics say."""
        found = (re.fullmatch(r"rejected\[(.+)\]", key) for key in self.counters)
        return Counter({m.group(1): int(self.counters[m.group(0)]) for m in found if m})

    def ready(self) -> bool:
        """Whether the tail is active and this robot can reach it."""
        return self.counters.get("lifecycle_state") == "active"

    def send(self, case: Case) -> None:
        """Put one case on the link."""
        raise NotImplementedError

    def pump(self, timeout_s: float = 0.0) -> None:
        """Take what arrived."""
        self.executor.spin_once(timeout_s)

    def close(self) -> None:
        """Release the link."""
        self.node.destroy()


class DdsRobot(Robot):
    def __init__(self) -> None:
        super().__init__()
        self.pub = self.node.publisher("dvfo_msgs/msg/FeatureMap", "/dvfo/feature_map", DEEP)
        self.node.subscribe("dvfo_msgs/msg/CloudResult", "/dvfo/cloud_result", self.answers.append, DEEP)

    def ready(self) -> bool:
        return super().ready() and self.pub.matched_count() > 0

    def send(self, case: Case) -> None:
        self.pub.publish(message(case.fields or {}))


class ZenohRobot(Robot):
    def __init__(self, certs: Path, endpoint: str) -> None:
        super().__init__()
        self.link = RobotLink(open_session(client_config([endpoint], robot_identity(certs, ROBOT))), ROBOT)

    def ready(self) -> bool:
        return super().ready() and bool(self.link.workers())

    def send(self, case: Case) -> None:
        assert self.link.send(case.payload()) is not None, "the worker left the pool"

    def pump(self, timeout_s: float = 0.0) -> None:
        super().pump(timeout_s)
        self.answers += [from_cdr("dvfo_msgs/msg/CloudResult", b) for b in self.link.results()]

    def close(self) -> None:
        self.link.close()
        super().close()


def _params(tmp_path: Path) -> Path:
    caps = {"max_payload_bytes": CAP, "max_rate_hz": 0.0}
    return write_params(tmp_path, tail={**caps, "qos": {"feature_map": DEEP, "cloud_result": DEEP}})


@pytest.fixture(params=["dds", "zenoh"])
def link(
    request: pytest.FixtureRequest, tmp_path: Path, dds_domain: int
) -> Iterator[tuple[str, Robot, Launch]]:
    """A tail on the link (on Zenoh: a worker of a router of the fleet), and the robot facing it."""
    (tail,) = load_graph("cloud")
    if request.param == "dds":
        robot: Robot = DdsRobot()
        cloud = Launch([tail], _params(tmp_path), quiet=True)
        name = "tail"
    else:
        certs, endpoint = request.getfixturevalue("certs"), request.getfixturevalue("router")
        args = link_args(worker_identity(certs), endpoint)
        command = node_command(tail, _params(tmp_path), ["-r", "__ns:=/worker1", *args])
        cloud = Launch([], quiet=True, commands={"worker1": command})
        robot, name = ZenohRobot(certs, endpoint), "worker1"
    try:
        ready = wait_for(lambda: robot.pump(0.05) or robot.ready(), 120)
        assert ready, f"the tail did not come up: {list(cloud.last_lines[name])}"
        yield name, robot, cloud
    finally:
        robot.close()
        cloud.shutdown()


def _expected_logits(runner: SplitRunner, fields: dict[str, Any]) -> np.ndarray:
    decoded = runner.decode(message(fields), model=fields["model"], split=fields["split"])
    return runner.cloud_tail(decoded).detach().numpy()


def test_the_tail_refuses_every_hostile_frame_with_its_reason_and_keeps_serving(
    link: tuple[str, Robot, Launch], frames: list[dict[str, Any]], runner: SplitRunner
) -> None:
    name, robot, cloud = link
    kind = "zenoh" if isinstance(robot, ZenohRobot) else "dds"
    sent: dict[int, Case] = {}  # frame_seq -> the case, for every case the tail answers
    reasons: Counter[str] = Counter()
    start = time.monotonic()

    def outstanding() -> int:
        robot.pump()
        return len(sent) - len(robot.answers)

    for seq, case in enumerate(hostile_cases(12, HOSTILE, frames, kind, CAP, GOOD_EVERY), start=1):
        if case.fields is not None:
            case.fields["frame_seq"] = seq
        if case.reason is not None:
            reasons[case.reason.value] += 1
        if case.answered:
            sent[seq] = case
        if len(sent) - len(robot.answers) >= WINDOW:
            assert wait_for(lambda: outstanding() < WINDOW // 2, 60), (
                f"tail stalled: {cloud.last_lines[name]}"
            )
        robot.send(case)
    assert wait_for(lambda: outstanding() == 0, 120), f"{outstanding()} frames unanswered"
    assert wait_for(lambda: robot.pump(0.05) or robot.rejected() == reasons, 30), "diagnostics lag"
    elapsed = time.monotonic() - start

    assert cloud.poll()[name] is None, f"the tail died: {list(cloud.last_lines[name])}"
    assert sum(reasons.values()) == HOSTILE and set(reasons) == LINK_REASONS[kind], reasons
    by_seq = Counter(int(a.frame_seq) for a in robot.answers)
    assert set(by_seq) == set(sent) and max(by_seq.values()) == 1, "one answer per readable frame"
    logits: dict[tuple[str, bytes], np.ndarray] = {}
    good = 0
    for answer in robot.answers:
        case = sent[int(answer.frame_seq)]
        assert answer.robot_id == (ROBOT if kind == "zenoh" else (case.fields or {})["robot_id"])
        if case.reason is None:
            fields = case.fields or {}
            key = (fields["encoding"], bytes(fields["data"]))
            expected = logits.setdefault(key, _expected_logits(runner, fields))
            assert answer.ok, f"well-formed frame {answer.frame_seq} refused: {answer.error}"
            np.testing.assert_allclose(answer.logits, expected, atol=1e-3, rtol=1e-3)
            good += 1
        else:
            assert not answer.ok and f"({case.reason.value})" in answer.error, (case.kind, answer.error)
    assert good == HOSTILE // GOOD_EVERY - 1
    assert robot.rejected() == reasons, "every refusal counted under its reason"
    assert int(robot.counters[f"served[{ROBOT}]"]) == good
    print(
        f"{kind}: {HOSTILE} hostile + {good} well-formed frames in {elapsed:.1f} s; refusals {dict(reasons)}"
    )
