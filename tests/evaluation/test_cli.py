"""``dvfo train`` and ``dvfo eval`` end to end, and their one-line errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dvfo_core.bag import write_bag
from dvfo_core.cli import main
from dvfo_core.evaluation.methods import METHODS
from dvfo_core.runtime.msgs import message_class

FIELDS = {"energy_j_per_frame", "latency_ms_mean", "latency_ms_p95", "accuracy", "cost", "deadline_miss_rate"}


@pytest.fixture(scope="module")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory, profile_file: Path) -> Path:
    out = tmp_path_factory.mktemp("pol") / "nano.npz"
    rc = main(
        [
            "train",
            "--device",
            "jetson-nano",
            "--model",
            "resnet18",
            "--split-profile",
            str(profile_file),
            "--steps",
            "300",
            "--seed",
            "1",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert rc == 0 and out.is_file()
    assert (out.with_suffix(".train") / "checkpoint" / "model.zip").is_file()
    return out


def test_eval_writes_every_method_and_the_scenario(
    tiny_policy: Path, profile_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DVFO_POLICY_CACHE", str(tmp_path / "cache"))
    out, png = tmp_path / "eval.json", tmp_path / "eval.png"
    rc = main(
        [
            "eval",
            "--device",
            "jetson-nano",
            "--model",
            "resnet18",
            "--split-profile",
            str(profile_file),
            "--bandwidth-mbps",
            "2",
            "--eta",
            "0.5",
            "--policy",
            str(tiny_policy),
            "--frames",
            "12",
            "--train-steps",
            "200",
            "--json",
            str(out),
            "--plot",
            str(png),
            "--no-progress",
        ]
    )
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["scenario"]["device"] == "jetson-nano" and doc["scenario"]["eta"] == 0.5
    assert doc["scenario"]["link"] == "2 Mbps" and doc["scenario"]["frames"] == 12
    ran = set(doc["methods"]) | set(doc["skipped"])
    assert ran == set(METHODS)
    for m in doc["methods"].values():
        assert FIELDS <= set(m)
    assert doc["methods"]["oracle"]["cost"] <= doc["methods"]["dvfo"]["cost"] + 1e-9
    assert png.stat().st_size > 10_000
    assert sorted(p.name for p in (tmp_path / "cache").iterdir())  # drldo / dvfs_only_drl trained and cached


def test_eval_on_a_trace_runs(tiny_policy: Path, profile_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    rc = main(
        [
            "eval",
            "--device",
            "jetson-nano",
            "--model",
            "resnet18",
            "--split-profile",
            str(profile_file),
            "--bandwidth-trace",
            "wifi-fades",
            "--policy",
            str(tiny_policy),
            "--frames",
            "6",
            "--methods",
            "dvfo",
            "oracle",
            "edge_only_max",
            "--json",
            str(out),
            "--no-progress",
        ]
    )
    assert rc == 0
    doc = json.loads(out.read_text())
    assert set(doc["methods"]) == {"dvfo", "oracle", "edge_only_max"}
    assert doc["scenario"]["link"] == "trace wifi-fades"


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"dvfo {argv[0]}: error:")
    for n in needles:
        assert n in err


def test_a_policy_for_another_device_is_refused(
    tiny_policy: Path, profile_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _one_line_error(
        capsys,
        [
            "eval",
            "--device",
            "jetson-xavier-nx",
            "--model",
            "resnet18",
            "--split-profile",
            str(profile_file),
            "--bandwidth-mbps",
            "2",
            "--policy",
            str(tiny_policy),
            "--methods",
            "dvfo",
            "--json",
            str(tmp_path / "x.json"),
        ],
        "jetson-nano",
        "jetson-xavier-nx",
    )


def test_bad_bags_and_arguments_are_one_line_errors(
    profile_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = [
        "train",
        "--device",
        "jetson-nano",
        "--model",
        "resnet18",
        "--split-profile",
        str(profile_file),
        "--steps",
        "10",
        "--out",
        str(tmp_path / "p.npz"),
        "--no-progress",
    ]
    no_tel = write_bag(
        tmp_path / "no_tel", [("/dvfo/action", 1, message_class("dvfo_msgs/msg/DvfsAction")())]
    )
    _one_line_error(capsys, [*base, "--bag", str(no_tel)], "no /dvfo/telemetry topic")
    corrupt = tmp_path / "corrupt.db3"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\x13" * 300)
    _one_line_error(capsys, [*base, "--bag", str(corrupt)], "corrupt.db3")
    _one_line_error(capsys, [*base, "--bag", str(tmp_path / "absent")], "no such bag")
    _one_line_error(capsys, [*base, "--eta", "1.5"], "eta")
    _one_line_error(capsys, [*base[:-3], "--steps", "0", "--out", str(tmp_path / "p.npz")], "--steps")
    _one_line_error(
        capsys,
        [
            "eval",
            "--device",
            "jetson-nano",
            "--model",
            "resnet18",
            "--split-profile",
            str(profile_file),
            "--bandwidth-mbps",
            "-1",
            "--json",
            str(tmp_path / "e.json"),
        ],
        "bandwidth",
    )
    _one_line_error(capsys, [*base, "--resume"], "--resume")


def test_train_replays_a_recorded_bag(profile_file: Path, tmp_path: Path, world) -> None:
    from dvfo_core.device.network import NetworkModel, load_trace
    from dvfo_core.evaluation.evaluate import run_method
    from dvfo_core.evaluation.oracle import Oracle
    from dvfo_core.learning.policy import Policy
    from dvfo_core.learning.replay import telemetry_fields

    Telemetry = message_class("dvfo_msgs/msg/Telemetry")  # noqa: N806 - a message class
    # a robot running DVFO's routes (here with the oracle's choices) on an LTE-like link
    run = run_method(world, Oracle(world.table(2, 2, 2)), NetworkModel(load_trace("lte-like")), 0.5, 30)
    records = []
    for k, out in enumerate(run.outcomes):
        msg = Telemetry(**telemetry_fields(out, world.device, world.twin.table, k))
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(int(out.t_s * 1e9), 10**9)
        records.append(("/dvfo/telemetry", int(out.t_s * 1e9), msg))
    bag = write_bag(tmp_path / "robot_run", records, storage="sqlite3")
    out = tmp_path / "replayed.npz"
    rc = main(
        [
            "train",
            "--device",
            "jetson-nano",
            "--model",
            "resnet18",
            "--split-profile",
            str(profile_file),
            "--bag",
            str(bag),
            "--links",
            "none",
            "--steps",
            "200",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert rc == 0
    replay = Policy.load(out).meta.training["replay"]
    assert replay["frames"] == 30 and replay["dropped"] == 0
    assert replay["latency_scale"] == pytest.approx(1.0, rel=1e-4)
    assert Policy.load(out).meta.training["links"]["traces"] == ["robot_run"]
