"""Faults on the robot's link, inside a network namespace the test makes (tests/link/fault_lab.py):
a rate limit, 10 % packet loss (nft, installed by ``make setup-system``), added delay, the link cut,
the router restarted. Through each the robot answers every
frame (finishing locally what the cloud cannot), none twice; offloading resumes once the fault is
healed; and the telemetry's link estimate, measured from the robot's own transfers, shows the fault.

One run of the lab carries every fault in turn (one start-up of router, workers and nodes); the
tests read its record. A worker killed mid-run: tests/link/test_zenoh_graph.py (and the lab's
``worker`` fault, bench/faults.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fault_lab import frames_check, summarise

pytestmark = pytest.mark.slow
LAB = Path(__file__).with_name("fault_lab.py")
#: harsher than the issue's 0.5 Mbps and 200 ms (bench/faults.py runs those): the signal must stand
#: out of the timing noise of a loaded 2-core machine, where a frame's own scheduling varies by 100s of
#: ms. Not below 0.2 Mbps: the lab's 4 and 8 KB frames at 2 Hz are 96 kbit/s, and at 0.1 Mbps they queue
#: behind each other, the queue reads as RTT and hides the size dependence (estimates of 0.3-1.25 Mbps
#: measured at a 0.1 Mbps cap; 0.28-0.34 at 0.2)
FAULTS = "cap:0.2,loss:10,delay:500,cut:5,router"


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("faults") / "run.json"
    done = subprocess.run(
        [sys.executable, str(LAB), "--faults", FAULTS, "--hold", "6", "--workers", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=540,
    )
    assert out.exists(), f"the lab wrote no record (exit {done.returncode}): {done.stderr[-3000:]}"
    rec = json.loads(out.read_text())
    assert rec["error"] is None, f"{rec['error']}; logs: {rec['logs']}"
    return rec


@pytest.fixture(scope="module")
def rows(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["fault"]: row for row in summarise(record)}


def test_every_frame_has_exactly_one_result_through_all_faults(record: dict[str, Any]) -> None:
    check = frames_check(record)
    assert check["duplicates"] == 0, "a frame was answered twice"
    assert check["missing_seqs"] == [], "a frame the head took has no result"
    assert check["camera_frames"] > 50 and check["camera_frames_unanswered"] == 0, check


def test_offloading_resumes_after_each_fault_is_healed(rows: dict[str, dict[str, Any]]) -> None:
    for fault in FAULTS.split(","):
        assert rows[fault]["resume_s"] is not None, f"{fault}: no frame offloaded after healing: {rows}"


def test_a_cut_link_or_a_dead_router_is_survived_by_finishing_frames_locally(
    rows: dict[str, dict[str, Any]],
) -> None:
    for fault in ("cut:5", "router"):
        assert rows[fault]["fallbacks"] > 0 and rows[fault]["frames"] > 0, rows[fault]


def test_under_ten_percent_loss_tcp_retransmits_and_offloading_goes_on(
    rows: dict[str, dict[str, Any]],
) -> None:
    loss = rows["loss:10"]
    assert loss["frames"] > 0 and loss["offloaded"] >= loss["frames"] / 2, loss


def test_the_link_estimate_shows_a_rate_limit_and_its_end(rows: dict[str, dict[str, Any]]) -> None:
    cap = rows["cap:0.2"]
    assert cap["link_mbps"] < 1.0, f"0.2 Mbps cap, estimated {cap['link_mbps']} Mbps"
    assert cap["settled_mbps"] > 1.0, f"cap lifted, estimated {cap['settled_mbps']} Mbps"


def test_the_link_estimate_shows_added_delay_and_its_end(rows: dict[str, dict[str, Any]]) -> None:
    delay = rows["delay:500"]
    assert delay["link_rtt_ms"] > 250, f"500 ms added, estimated RTT {delay['link_rtt_ms']} ms"
    assert delay["settled_rtt_ms"] < 250, f"delay removed, estimated RTT {delay['settled_rtt_ms']} ms"


def test_the_link_estimate_shows_a_cut_link_as_a_slow_one(rows: dict[str, dict[str, Any]]) -> None:
    cut = rows["cut:5"]
    predicted_s = cut["link_rtt_ms"] / 1e3 + 8192 * 8 / (cut["link_mbps"] * 1e6)  # an 8 KB frame
    assert predicted_s > 0.3, f"link cut, yet an 8 KB frame predicted in {predicted_s:.3f} s: {cut}"
