"""Message classes come from the .msg files and serialise exactly as rosbags (ROS 2 CDR) does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from samples import TYPES, assert_same, make_sample

from dvfo_core.errors import MessageDefinitionError
from dvfo_core.paths import msg_dir
from dvfo_core.runtime.msgs import (
    dds_topic_name,
    dds_type_name,
    from_cdr,
    from_rosbags,
    load_definitions,
    message_class,
    to_cdr,
    to_rosbags,
    typestore,
)


def test_every_msg_file_defines_a_message_with_a_header() -> None:
    files = sorted(msg_dir().glob("*.msg"))
    expected = {"FeatureMap", "CloudResult", "InferenceResult", "DvfsAction", "Telemetry"}
    assert {f.stem for f in files} >= expected
    for f in files:
        cls = message_class(f"dvfo_msgs/msg/{f.stem}")
        assert cls.__idl_typename__ == f"dvfo_msgs::msg::dds_::{f.stem}_"
        msg = cls()  # every field has a ROS-like default
        assert msg.header.stamp.sec == 0 and msg.header.frame_id == ""


def test_ros2_naming_conventions() -> None:
    assert dds_type_name("sensor_msgs/Image") == "sensor_msgs::msg::dds_::Image_"
    assert dds_topic_name("/camera/image_raw") == "rt/camera/image_raw"
    with pytest.raises(MessageDefinitionError):
        dds_topic_name("/bad topic")


@pytest.mark.parametrize("type_name", TYPES)
def test_wire_bytes_equal_rosbags_cdr(type_name: str) -> None:
    msg = make_sample(type_name)
    wire = msg.serialize()
    reference = bytes(typestore().serialize_cdr(to_rosbags(msg), type_name))
    assert wire[:4] == b"\x00\x01\x00\x00"  # CDR little endian, XCDR1 plain (final) struct
    assert wire[: len(reference)] == reference
    assert len(wire) - len(reference) <= 3  # Cyclone may append padding only
    back = type(msg).deserialize(wire)
    assert_same(back, msg)
    assert_same(from_rosbags(typestore().deserialize_cdr(reference, type_name), type_name), msg)


def test_numeric_sequences_accept_bytes_lists_and_arrays() -> None:
    fm = message_class("dvfo_msgs/msg/FeatureMap")
    for data in (b"\x01\x02\x03", [1, 2, 3], np.array([1, 2, 3], np.uint8), bytearray(b"\x01\x02\x03")):
        back = fm.deserialize(fm(data=data).serialize())
        assert back.data.tolist() == [1, 2, 3]


def test_bytes_without_a_cdr_header_are_malformed_not_a_default_message() -> None:
    good = to_cdr(message_class("dvfo_msgs/msg/FeatureMap")(robot_id="alpha", data=b"\x01"))
    assert from_cdr("dvfo_msgs/msg/FeatureMap", good).robot_id == "alpha"
    for bad in (b"", b"\x00", b"\x00\x01", b"\xff\xff" + good[2:], b"\x00\x07" + good[2:]):
        with pytest.raises(MessageDefinitionError, match="malformed"):
            from_cdr("dvfo_msgs/msg/FeatureMap", bad)


def test_malformed_msg_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "Broken.msg").write_text("std_msgs/Header header\nfloat32[ x\n")
    expected = r"Broken\.msg:2: malformed message definition: 'float32\[ x'"
    with pytest.raises(MessageDefinitionError, match=expected):
        load_definitions(tmp_path)


def test_unknown_field_type_names_the_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "Odd.msg").write_text("std_msgs/Header header\nnope_msgs/Thing thing\n")
    expected = r"Odd\.msg: field 'thing' has unknown type 'nope_msgs/msg/Thing'"
    with pytest.raises(MessageDefinitionError, match=expected):
        load_definitions(tmp_path)


def test_unknown_type_name_is_a_clear_error() -> None:
    with pytest.raises(MessageDefinitionError, match="unknown message type 'dvfo_msgs/msg/Nope'"):
        message_class("dvfo_msgs/msg/Nope")


def test_cli_reports_a_malformed_msg_file_in_one_line(tmp_path: Path) -> None:
    for f in msg_dir().glob("*.msg"):
        shutil.copy(f, tmp_path)
    (tmp_path / "Telemetry.msg").write_text((tmp_path / "Telemetry.msg").read_text() + "float32[ broken\n")
    env = {**os.environ, "DVFO_MSG_DIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "dvfo_core.cli", "interfaces", "list"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Telemetry.msg:" in lines[0] and "float32[ broken" in lines[0]
