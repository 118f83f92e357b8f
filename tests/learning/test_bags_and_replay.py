"""rosbag2 recordings (MCAP, sqlite3) of telemetry drive the training environment; bad bags are errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from dvfo_core.bag import TELEMETRY_TOPIC, BagError, bag_topics, read_topic, write_bag
from dvfo_core.device.network import NetworkModel, load_trace
from dvfo_core.evaluation.baselines import EdgeOnlyMax
from dvfo_core.evaluation.controllers import Choice, Controller, FrameContext
from dvfo_core.evaluation.evaluate import run_method
from dvfo_core.learning.replay import CalibratedTwin, load_replay, telemetry_fields
from dvfo_core.runtime.msgs import message_class
from dvfo_core.world.build import World, WorldSpec, build_world
from dvfo_core.world.frame import CachedTwin

Telemetry = message_class("dvfo_msgs/msg/Telemetry")
Action = message_class("dvfo_msgs/msg/DvfsAction")


class _Cycle(Controller):
    """Cycles through a few clock/xi settings, as a robot trying things would."""

    name = "cycle"

    def reset(self, world: World, eta: float) -> None:
        t = world.table(n_cpu=2, n_gpu=3, n_emc=2)
        self.actions = [t.action(i) for i in range(0, t.size, 7)]
        self.world = world

    def decide(self, ctx: FrameContext) -> Choice:
        return Choice(self.actions[ctx.k % len(self.actions)], self.world.routes)


def _record(
    world: World, path: Path, storage: str, frames: int = 40, nan_every: int = 0, device: str | None = None
) -> tuple[Path, list]:
    net = NetworkModel(load_trace("lte-like"))
    run = run_method(world, _Cycle(), net, 0.5, frames)
    records = []
    for k, out in enumerate(run.outcomes):
        fields = telemetry_fields(out, device or world.device, world.twin.table, k, 45.0)
        if nan_every and k % nan_every == 0:
            fields["bandwidth_mbps"] = math.nan
        msg = Telemetry(**fields)
        t_ns = int(out.t_s * 1e9)
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(t_ns, 10**9)
        records.append((TELEMETRY_TOPIC, t_ns, msg))
        records.append(("/dvfo/action", t_ns, Action(frame_seq=k, xi=out.action.xi)))
    return write_bag(path, records, storage=storage), run.outcomes


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_a_recording_round_trips_and_replays_the_link_it_saw(
    world: World, tmp_path: Path, storage: str
) -> None:
    bag, outcomes = _record(world, tmp_path / f"run_{storage}", storage)
    assert bag_topics(bag) == {
        TELEMETRY_TOPIC: "dvfo_msgs/msg/Telemetry",
        "/dvfo/action": "dvfo_msgs/msg/DvfsAction",
    }
    msgs = [m for _, m in read_topic(bag, TELEMETRY_TOPIC)]
    assert [m.frame_seq for m in msgs] == list(range(len(outcomes)))
    replay = load_replay([bag], world.twin, world.routes, world.device)
    assert replay.frames == len(outcomes) and replay.dropped == 0
    for out in outcomes:  # the replayed trace holds what each frame measured, at its stamp
        mbps, rtt = replay.trace.at(out.t_s)
        assert mbps == pytest.approx(out.mbps, rel=1e-5) and rtt == pytest.approx(out.rtt_ms, rel=1e-5)
    # a recording made by this very twin calibrates to itself
    assert replay.latency_scale == pytest.approx(1.0, rel=1e-4)
    assert replay.power_scale == pytest.approx(1.0, rel=1e-4)


def test_a_slower_hungrier_robot_is_measured_as_such(world_spec: WorldSpec, tmp_path: Path) -> None:
    base = build_world(world_spec)
    robot = build_world(world_spec, twin=CalibratedTwin(CachedTwin(base.twin_model), 1.3, 1.6))
    bag, _ = _record(robot, tmp_path / "robot", "mcap")
    replay = load_replay([bag], base.twin, base.routes, base.device)
    assert replay.latency_scale == pytest.approx(1.3, rel=1e-3)
    assert replay.power_scale == pytest.approx(1.6, rel=1e-3)
    # the calibrated world reproduces the robot's frames
    calibrated = build_world(
        world_spec, twin=CalibratedTwin(CachedTwin(base.twin_model), replay.latency_scale, replay.power_scale)
    )
    net = NetworkModel(load_trace("steady-2mbps"))
    a = run_method(robot, EdgeOnlyMax(), net, 0.5, 3).outcomes[0]
    b = run_method(calibrated, EdgeOnlyMax(), net, 0.5, 3).outcomes[0]
    assert b.latency_s == pytest.approx(a.latency_s, rel=1e-3) and b.energy_j == pytest.approx(
        a.energy_j, rel=1e-3
    )


def test_nan_telemetry_is_dropped_and_counted(world: World, tmp_path: Path) -> None:
    bag, outcomes = _record(world, tmp_path / "nan", "mcap", nan_every=4)
    replay = load_replay([bag], world.twin, world.routes, world.device)
    assert replay.dropped == len(range(0, len(outcomes), 4))
    assert replay.frames == len(outcomes) - replay.dropped
    assert np.isfinite(replay.trace.mbps).all()


def test_all_nan_telemetry_is_an_error(world: World, tmp_path: Path) -> None:
    bag, _ = _record(world, tmp_path / "allnan", "sqlite3", frames=6, nan_every=1)
    with pytest.raises(BagError, match="no usable /dvfo/telemetry"):
        load_replay([bag], world.twin, world.routes, world.device)


def test_a_bag_of_another_device_is_refused(world: World, tmp_path: Path) -> None:
    bag, _ = _record(world, tmp_path / "xnx", "mcap", frames=5, device="jetson-xavier-nx")
    with pytest.raises(BagError, match="jetson-xavier-nx"):
        load_replay([bag], world.twin, world.routes, world.device)


def test_a_bag_without_telemetry_names_the_missing_topic(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "actions_only", [("/dvfo/action", 1, Action(frame_seq=1))], storage="mcap")
    with pytest.raises(BagError, match=r"no /dvfo/telemetry topic \(topics: /dvfo/action\)"):
        list(read_topic(bag, TELEMETRY_TOPIC))


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_corrupt_or_missing_bags_are_clear_errors(world: World, tmp_path: Path, storage: str) -> None:
    with pytest.raises(BagError, match="no such bag"):
        bag_topics(tmp_path / "nothing")
    bag, _ = _record(world, tmp_path / "good", storage, frames=30)
    data = next(p for p in bag.iterdir() if p.suffix in (".mcap", ".db3"))
    blob = bytearray(data.read_bytes())
    blob[len(blob) // 3 : len(blob) // 3 + 64] = b"\xff" * 64  # damage the middle
    data.write_bytes(bytes(blob[: 2 * len(blob) // 3]))  # and cut the end off
    with pytest.raises(BagError, match=str(bag)):
        load_replay([bag], world.twin, world.routes, world.device)
    garbage = tmp_path / "garbage.mcap"
    garbage.write_bytes(b"this is not an mcap file")
    with pytest.raises(BagError, match=r"garbage\.mcap"):
        list(read_topic(garbage, TELEMETRY_TOPIC))
