"""head -> codec -> FeatureMap -> Cyclone DDS -> decode -> tail equals in-process inference."""

from __future__ import annotations

import pytest
import torch

from dvfo_core.runtime.dds import DdsNode, Executor
from dvfo_core.split.codec import PayloadRejectedError, RejectReason
from dvfo_core.split.data import load_dataset
from dvfo_core.split.runner import SplitRunner
from dvfo_core.split.slicing import slice_input_channels

TOPIC = "/dvfo/feature_map"
TYPE = "dvfo_msgs/msg/FeatureMap"


def _send(fields_list: list[dict]) -> list:
    """Publish FeatureMaps on the DDS adapter and return what the subscription receives."""
    node = DdsNode("split_roundtrip_test")  # a writer and a reader: every sample is (de)serialised
    received: list = []
    node.subscribe(TYPE, TOPIC, received.append)
    pub = node.publisher(TYPE, TOPIC)
    ex = Executor([node])
    ex.spin(5.0, until=lambda: pub.matched_count() > 0)
    for fields in fields_list:
        msg = pub.msg_class()
        for name, value in fields.items():
            setattr(msg, name, value)
        pub.publish(msg)
    ex.spin(10.0, until=lambda: len(received) >= len(fields_list))
    node.destroy()
    assert len(received) == len(fields_list)
    return received


def test_feature_map_over_dds_gives_in_process_logits(dds_domain: int) -> None:
    runner = SplitRunner.from_checkpoint(model="resnet18", encoding="int8+zstd")
    data = load_dataset("mnist", runner.net.config.image_size)
    frames = []
    expected = []
    for i, xi in enumerate((0.25, 0.5, 1.0)):
        out = runner.head(data.test[i][0])
        primary, secondary = runner.partition(out, xi)
        enc = runner.encode_secondary(out, secondary)
        header = {"robot_id": "r1", "frame_seq": i, "model": runner.model, "split": runner.split, "xi": xi}
        frames.append({**header, **enc.to_msg_fields()})
        in_process = runner.cloud_tail(runner.decode(enc))
        with torch.no_grad():  # the unquantised secondary channels through the same sliced tail
            sliced = slice_input_channels(runner.net.tail, secondary, runner.net.channels)
            exact = sliced(out.features[secondary][None])[0]
        expected.append((in_process, exact, runner.edge_tail(out, primary)))
    for msg, (in_process, exact, edge), fields in zip(_send(frames), expected, frames, strict=True):
        decoded = runner.decode(msg, model=msg.model, split=msg.split)
        logits = runner.cloud_tail(decoded)
        assert torch.equal(logits, in_process)  # same bytes, same numbers
        assert (logits - exact).abs().max() < 0.05 * exact.abs().max()  # int8 quantisation error only
        assert len(msg.data) == len(fields["data"])
        fused = runner.fuse(edge, logits, float(msg.xi))
        assert fused.used_cloud


def test_corrupt_feature_map_over_dds_is_rejected_with_a_reason(dds_domain: int) -> None:
    runner = SplitRunner.from_checkpoint(model="resnet18")
    out = runner.head(torch.zeros(3, runner.net.config.image_size, runner.net.config.image_size))
    _, secondary = runner.partition(out, 0.5)
    fields = runner.encode_secondary(out, secondary).to_msg_fields()
    truncated = {**fields, "model": "resnet18", "split": "layer2", "data": fields["data"][:-6]}
    wrong_model = {**fields, "model": "vgg16", "split": "layer2"}
    bad_index = {
        **fields,
        "model": "resnet18",
        "split": "layer2",
        "channel_indices": [*fields["channel_indices"][:-1], 4000],
    }
    reasons = []
    for msg in _send([truncated, wrong_model, bad_index]):
        with pytest.raises(PayloadRejectedError) as info:
            runner.decode(msg, model=msg.model, split=msg.split)
        reasons.append(info.value.reason)
    assert reasons == [RejectReason.CORRUPT, RejectReason.MODEL_MISMATCH, RejectReason.CHANNEL_INDICES]
