"""The command line fails the way a user can act on: one clear line, a non-zero exit, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from dvfo_core.paths import config_dir

DVFO = str(Path(sys.executable).parent / "dvfo")


def _dvfo(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([DVFO, *argv], capture_output=True, text=True, timeout=timeout, check=False)


def test_launch_with_a_broken_parameter_file_prints_one_error_and_starts_nothing(
    tmp_path: Path, dds_domain: int
) -> None:
    broken = tmp_path / "edge.yaml"
    broken.write_text("camera:\n  ros__parameters:\n    rate_hz: [5\n")
    out = _dvfo("launch", "edge", "--params", str(broken), "--duration", "5", timeout=30)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"dvfo launch: error: parameter file {broken}: line 4 is not valid YAML"
    ]
    assert out.stdout == ""  # no node was started: none printed anything


def test_launch_with_a_parameter_of_the_wrong_type_names_it_without_tracebacks(
    tmp_path: Path, dds_domain: int
) -> None:
    doc = yaml.safe_load((config_dir() / "edge.yaml").read_text())
    doc["camera"]["ros__parameters"]["rate_hz"] = "fast"
    params = tmp_path / "edge.yaml"
    params.write_text(yaml.safe_dump(doc))
    out = _dvfo("launch", "edge", "--params", str(params), "--duration", "60")
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and "KeyboardInterrupt" not in out.stderr, out.stderr
    assert "[camera] camera: error: parameter camera.rate_hz: expected float, got str 'fast'" in out.stderr
    assert out.stderr.strip().splitlines()[-1] == "dvfo launch: node camera exited with 2"


def test_record_with_nothing_publishing_warns_and_fails_without_leaving_a_bag(
    tmp_path: Path, dds_domain: int
) -> None:
    bag = tmp_path / "empty_run"
    out = _dvfo("record", "--out", str(bag), "--duration", "1.5", timeout=60)
    assert out.returncode == 1
    assert "warning: nothing was published on /dvfo/telemetry" in out.stderr
    assert f"ROS_DOMAIN_ID ({dds_domain})" in out.stderr
    assert not bag.exists()
