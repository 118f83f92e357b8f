"""`dvfo devices` and `dvfo profile` as a user runs them."""

from __future__ import annotations

import json

import pytest

from dvfo_core.cli import main


def test_devices_here_says_not_a_jetson_and_what_it_looked_for(capsys):
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    for board in ("jetson-nano", "jetson-tx2", "jetson-xavier-nx", "jetson-orin-nano", "jetson-agx-orin"):
        assert board in out
    assert "not a Jetson" in out
    assert "/sys/class/devfreq" in out and "ina3221" in out and "nvpmodel" in out


def test_devices_on_a_jetson_tree_reports_what_it_found(capsys, fixtures_dir):
    assert main(["devices", "--root", str(fixtures_dir / "jetson-nano"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["machine"]["is_jetson"] and doc["machine"]["board"] == "jetson-nano"
    assert any("POM_5V_IN" in line for line in doc["machine"]["found"])
    assert {p["name"] for p in doc["profiles"]} >= {"jetson-nano", "jetson-agx-orin"}


def test_profile_writes_per_layer_costs_at_max_and_asked_levels(tmp_path, capsys):
    out_json = tmp_path / "r18.json"
    rc = main(["profile", "--device", "jetson-nano", "--model", "resnet18", "--levels", "8,6,4",
               "--json", str(out_json), "--quiet"])
    assert rc == 0
    doc = json.loads(out_json.read_text())
    assert doc["device"] == "jetson-nano" and len(doc["layers"]) == 60
    conv1 = doc["layers"][0]
    assert conv1["name"] == "conv1" and conv1["flops"] > 2e8
    assert conv1["latency_s_levels"] > conv1["latency_s_max"]  # lower clocks: slower
    t = doc["totals"]
    assert t["levels"]["latency_s"] > t["max"]["latency_s"]
    assert sum(lay["energy_j_max"] for lay in doc["layers"]) < t["max"]["energy_j"]  # + framework overhead
    splits = doc["split_points"]
    assert [s["split"] for s in splits][-1] == "layer4"
    lat = [s["head_latency_s_max"] for s in splits]
    assert lat == sorted(lat) and lat[-1] <= t["max"]["latency_s"]
    assert "split points" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--device", "jetson-foo", "--model", "resnet18"], "unknown board 'jetson-foo'"),
        (["--device", "jetson-nano", "--model", "resnet99"], "unknown torchvision model 'resnet99'"),
        (["--device", "jetson-nano", "--model", "resnet18", "--levels", "99,0,0"], "cpu level 99"),
        (["--device", "jetson-nano", "--model", "resnet18", "--levels", "1,2"], "three integers"),
        (["--device", "jetson-nano", "--mode", "TURBO", "--model", "resnet18"], "unknown power mode"),
    ],
)
def test_profile_bad_input_is_one_clear_line(argv, message, capsys):
    assert main(["profile", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
