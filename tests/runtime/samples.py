"""Deterministic sample messages of every dvfo_msgs type and the sensor_msgs images, for wire tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from dvfo_core.runtime.msgs import message_class

TYPES = [
    "dvfo_msgs/msg/FeatureMap",
    "dvfo_msgs/msg/CloudResult",
    "dvfo_msgs/msg/InferenceResult",
    "dvfo_msgs/msg/DvfsAction",
    "dvfo_msgs/msg/Telemetry",
    "sensor_msgs/msg/Image",
    "sensor_msgs/msg/CompressedImage",
]

MEGABYTE = 1_000_000


def make_sample(type_name: str, seq: int = 1) -> Any:
    """A message of ``type_name`` with every field set to a value derived from ``seq``."""
    cls = message_class(type_name)
    msg = cls()
    msg.header.stamp.sec = 1_700_000_000 + seq
    msg.header.stamp.nanosec = 123_456_789
    msg.header.frame_id = f"camera_{seq}"
    rng = np.random.default_rng(seq)
    if type_name.endswith("FeatureMap"):
        msg.robot_id, msg.frame_seq, msg.model, msg.split = "robot-a", seq, "resnet18", "layer2"
        msg.xi, msg.deadline_ms = 0.25, 100.0
        msg.shape = np.array([128, 28, 28], np.uint32)
        msg.channel_indices = np.arange(32, dtype=np.uint16)
        msg.encoding = "int8+zstd"
        msg.scale = rng.random(32, dtype=np.float32)
        msg.zero_point = rng.random(32, dtype=np.float32)
        msg.raw_nbytes = MEGABYTE
        msg.data = rng.integers(0, 256, MEGABYTE, dtype=np.uint8)
    elif type_name.endswith("CloudResult"):
        msg.robot_id, msg.frame_seq, msg.model, msg.ok, msg.error = "robot-a", seq, "resnet18", True, ""
        msg.logits = rng.standard_normal(1000).astype(np.float32)
        msg.cloud_compute_ms, msg.queue_ms, msg.batch_size = 0.73, 0.1, 2
    elif type_name.endswith("InferenceResult"):
        msg.frame_seq, msg.model, msg.class_id, msg.confidence = seq, "mobilenet_v2", 7, 0.93
        msg.logits = rng.standard_normal(10).astype(np.float32)
        msg.xi, msg.cloud_used, msg.fallback, msg.payload_bytes = 0.5, True, False, 4096
        msg.head_ms, msg.edge_tail_ms, msg.transmit_ms = 10.5, 12.25, 30.0
        msg.cloud_ms, msg.wait_ms, msg.latency_ms, msg.energy_j = 1.5, 31.5, 55.0, 0.42
        msg.cpu_level, msg.gpu_level, msg.emc_level = 3, 11, 6
    elif type_name.endswith("DvfsAction"):
        msg.frame_seq, msg.method = seq, "dvfo"
        msg.cpu_level, msg.gpu_level, msg.emc_level = 2, 7, 5
        msg.cpu_khz, msg.gpu_hz, msg.emc_hz = 1_479_000, 921_600_000, 1_600_000_000
        msg.xi, msg.split, msg.eta, msg.decision_ms, msg.safe_fallback = 0.75, "layer2", 0.5, 0.2, False
    elif type_name.endswith("Telemetry"):
        msg.frame_seq, msg.device, msg.backend = seq, "jetson-nano", "twin"
        msg.cpu_khz, msg.gpu_hz, msg.emc_hz = 1_479_000, 921_600_000, 1_600_000_000
        msg.power_w, msg.rail_names = 7.5, ["POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"]
        msg.rail_power_w = np.array([7.5, 3.0, 1.5], np.float32)
        msg.temperature_c, msg.cpu_util, msg.gpu_util, msg.emc_util = 48.5, 0.4, 0.9, 0.6
        msg.bandwidth_mbps, msg.rtt_ms, msg.xi, msg.payload_bytes = 2.0, 20.0, 0.25, 4096
        msg.head_ms, msg.edge_tail_ms, msg.transmit_ms, msg.cloud_ms = 10.0, 5.0, 16.0, 1.0
        msg.latency_ms, msg.energy_j, msg.deadline_missed = 33.0, 0.25, False
    elif type_name.endswith("CompressedImage"):
        msg.format = "rgb8; jpeg compressed bgr8"
        msg.data = rng.integers(0, 256, 40_000, dtype=np.uint8)
    elif type_name.endswith("Image"):
        msg.height, msg.width, msg.encoding, msg.is_bigendian = 500, 500, "rgb8", 0
        msg.step = 1500
        msg.data = rng.integers(0, 256, 750_000, dtype=np.uint8)
    return msg


def assert_same(a: Any, b: Any, path: str = "") -> None:
    """Field-by-field equality of two messages (numpy-aware), naming the first differing field."""
    fields = getattr(type(a), "__dataclass_fields__", None)
    if fields is None:
        if isinstance(a, (np.ndarray, list, tuple)) or isinstance(b, (np.ndarray, list, tuple)):
            if len(a) and not isinstance(a[0], (int, float, np.generic, str)):
                assert len(a) == len(b), path
                for i, (x, y) in enumerate(zip(a, b, strict=True)):
                    assert_same(x, y, f"{path}[{i}]")
                return
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=path)
            return
        assert a == b or (isinstance(a, float) and np.float32(a) == np.float32(b)), f"{path}: {a!r} != {b!r}"
        return
    for name in fields:
        assert_same(getattr(a, name), getattr(b, name), f"{path}.{name}")
