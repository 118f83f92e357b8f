"""Images as ROS 2 users send them, read through a real cv_bridge and through the project's own
conversion: both paths give the same array.

cv_bridge has no wheel; Debian's ``python3-cv-bridge`` (vision_opencv 1.16, the ROS 1 build, whose
Python API ``CvBridge.imgmsg_to_cv2`` / ``compressed_imgmsg_to_cv2`` is the one ROS 2's cv_bridge
keeps) is installed for the system Python by ``make setup-system``. The comparison runs there
(tests/core/cv_bridge_check.py), with :mod:`dvfo_core.images` from this checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
SYSTEM_PYTHON = "/usr/bin/python3"
#: sensor_msgs/image_encodings names cv_bridge converts; FourCC aliases it is not asked about
BRIDGED_RAW = ("bgr8", "rgb8", "mono8", "rgba8", "bgra8", "yuv422")


@pytest.fixture(scope="module")
def cases() -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(HERE.parents[1] / "src" / "dvfo_core")}
    check = [SYSTEM_PYTHON, str(HERE / "cv_bridge_check.py")]
    run = subprocess.run(check, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"no real cv_bridge to compare with (make setup-system): {run.stderr[-1500:]}"
    return json.loads(run.stdout)


@pytest.mark.parametrize("encoding", BRIDGED_RAW)
def test_cv_bridge_reads_each_raw_encoding_as_the_own_conversion_does(
    cases: dict[str, Any], encoding: str
) -> None:
    case = cases[f"raw:{encoding}"]
    assert case["bridged"], f"cv_bridge did not answer {encoding}: {case}"
    assert case["max_diff"] == 0 and case["shape"] == [48, 64, 3], case


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_cv_bridge_decodes_compressed_images_as_the_own_decoder_does(cases: dict[str, Any], fmt: str) -> None:
    case = cases[f"compressed:{fmt}"]
    assert case["bridged"] and case["shape"] == [48, 64, 3], case
    tolerance = 2 if fmt == "jpeg" else 0  # JPEG decoders may round differently; PNG is exact
    assert case["max_diff"] <= tolerance, case


def test_what_cv_bridge_is_not_asked_or_refuses_is_converted_here(cases: dict[str, Any]) -> None:
    uyvy = cases["raw:uyvy"]  # a V4L2 FourCC, not a sensor_msgs encoding
    assert not uyvy["bridged"] and uyvy["max_diff"] == 0
    yuy2 = cases["raw:yuv422_yuy2"]  # Debian's cv_bridge 1.16 refuses it (ROS 2's knows it)
    assert yuy2["max_diff"] == 0, yuy2


def test_bad_images_are_one_clear_error_on_both_paths_before_cv_bridge_sees_them(
    cases: dict[str, Any],
) -> None:
    bad = (("raw:short-step", "shorter than a row"), ("raw:32FC1", "unsupported image encoding"))
    for name, expected in bad:
        case = cases[name]
        assert not case["bridged"], f"{name} reached cv_bridge"
        assert all(e.startswith("ImageError") and expected in e for e in case["errors"]), case
