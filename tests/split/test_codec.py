"""Codec: int8/int4/fp16 + zstd/lz4 round trips, FeatureMap field mapping, and rejections by reason."""

from __future__ import annotations

import dataclasses
import tracemalloc

import lz4.frame
import numpy as np
import pytest
import torch
import zstandard

from dvfo_core.errors import PayloadError
from dvfo_core.paths import msg_dir
from dvfo_core.split import codec
from dvfo_core.split.codec import RejectReason, decode, encode


def _features(seed: int = 0, shape: tuple[int, ...] = (32, 7, 7)) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.relu(torch.randn(shape, generator=g))  # post-ReLU: non-negative, sparse


@pytest.mark.parametrize("encoding", codec.ENCODINGS)
def test_round_trip_within_quantisation_error(encoding: str) -> None:
    f = _features()
    idx = [1, 4, 9, 30]
    enc = encode(f, idx, encoding)
    dec = decode(enc, expected_shape=(32, 7, 7))
    assert dec.indices.tolist() == idx
    assert dec.values.shape == (4, 7, 7)
    quant = encoding.split("+")[0]
    if quant in ("int8", "int4"):
        step = torch.tensor(enc.scale)[:, None, None]
        assert bool(((dec.values - f[idx]).abs() <= step / 2 + 1e-6).all())  # half a step at most
    elif quant == "fp16":
        torch.testing.assert_close(dec.values, f[idx].half().float())
    else:
        assert torch.equal(dec.values, f[idx])
    full = dec.full()
    assert torch.equal(full[[0, 2, 3]], torch.zeros(3, 7, 7))


def test_compressors_really_compress_sparse_maps() -> None:
    f = _features()
    f[f < 1.0] = 0  # most values zero, as after ReLU
    idx = list(range(32))
    raw = encode(f, idx, "int8+none")
    for comp, at_most in (("zstd", 0.5), ("lz4", 0.75)):
        enc = encode(f, idx, f"int8+{comp}")
        assert enc.raw_nbytes == raw.raw_nbytes == 32 * 49
        assert enc.nbytes < at_most * raw.nbytes, comp
    assert encode(f, idx, "int4+zstd").raw_nbytes == 32 * 49 // 2
    assert encode(f, [0, 1, 2], "int4+zstd").raw_nbytes == (3 * 49 + 1) // 2  # odd count: padded nibble


def test_msg_fields_match_the_featuremap_definition_and_survive_numpy() -> None:
    declared = set()
    for line in (msg_dir() / "FeatureMap.msg").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            declared.add(line.split()[1])
    enc = encode(_features(), [3, 5], "int8+zstd")
    fields = enc.to_msg_fields()
    assert set(fields) <= declared
    assert {"shape", "channel_indices", "encoding", "scale", "zero_point", "raw_nbytes", "data"} == set(
        fields
    )
    # as the DDS adapter hands them back: numpy arrays for sequences
    as_numpy = {
        "shape": np.asarray(fields["shape"], dtype=np.uint32),
        "channel_indices": np.asarray(fields["channel_indices"], dtype=np.uint16),
        "encoding": fields["encoding"],
        "scale": np.asarray(fields["scale"], dtype=np.float32),
        "zero_point": np.asarray(fields["zero_point"], dtype=np.float32),
        "raw_nbytes": np.uint32(fields["raw_nbytes"]),
        "data": np.frombuffer(fields["data"], dtype=np.uint8),
    }
    assert codec.EncodedFeatures.from_msg_fields(as_numpy) == enc
    assert codec.EncodedFeatures.from_msg_fields(fields) == enc


def _rejects(enc: codec.EncodedFeatures, reason: RejectReason, expected_shape=None) -> None:
    with pytest.raises(PayloadError) as info:
        decode(enc, expected_shape=expected_shape)
    assert isinstance(info.value, codec.PayloadRejectedError)
    assert info.value.reason is reason, str(info.value)
    assert reason.value in str(info.value)


@pytest.fixture
def good() -> codec.EncodedFeatures:
    return encode(_features(), [0, 2, 7], "int8+zstd")


def test_rejects_unknown_encoding(good: codec.EncodedFeatures) -> None:
    _rejects(dataclasses.replace(good, encoding="int3+gzip"), RejectReason.ENCODING)


def test_rejects_wrong_shape(good: codec.EncodedFeatures) -> None:
    _rejects(good, RejectReason.SHAPE, expected_shape=(64, 7, 7))
    _rejects(dataclasses.replace(good, shape=(32,)), RejectReason.SHAPE)
    _rejects(dataclasses.replace(good, shape=(32, 0, 7)), RejectReason.SHAPE)


def test_rejects_wrong_dtype() -> None:
    fields = encode(_features(), [0, 1], "fp32+none").to_msg_fields()
    fields["data"] = np.zeros(10, dtype=np.float32)
    with pytest.raises(codec.PayloadRejectedError) as info:
        codec.EncodedFeatures.from_msg_fields(fields)
    assert info.value.reason is RejectReason.DTYPE
    fields = encode(_features(), [0, 1], "fp32+none").to_msg_fields()
    fields["channel_indices"] = [0.5, 1.5]
    with pytest.raises(codec.PayloadRejectedError, match="channel_indices") as info:
        codec.EncodedFeatures.from_msg_fields(fields)
    assert info.value.reason is RejectReason.DTYPE


def test_rejects_channel_indices_out_of_range_or_repeated(good: codec.EncodedFeatures) -> None:
    _rejects(dataclasses.replace(good, channel_indices=(0, 2, 32)), RejectReason.CHANNEL_INDICES)
    _rejects(dataclasses.replace(good, channel_indices=(0, 2, 2)), RejectReason.CHANNEL_INDICES)
    _rejects(dataclasses.replace(good, channel_indices=()), RejectReason.CHANNEL_INDICES)


def test_rejects_bad_quantisation_parameters(good: codec.EncodedFeatures) -> None:
    _rejects(dataclasses.replace(good, scale=good.scale[:2]), RejectReason.QUANT_PARAMS)
    _rejects(dataclasses.replace(good, scale=(0.1, float("nan"), 0.1)), RejectReason.QUANT_PARAMS)
    _rejects(dataclasses.replace(good, scale=(0.1, -1.0, 0.1)), RejectReason.QUANT_PARAMS)


def test_rejects_raw_size_that_does_not_match(good: codec.EncodedFeatures) -> None:
    _rejects(dataclasses.replace(good, raw_nbytes=good.raw_nbytes + 1), RejectReason.SIZE)


def test_rejects_truncated_and_corrupt_payloads(good: codec.EncodedFeatures) -> None:
    _rejects(dataclasses.replace(good, data=good.data[: len(good.data) // 2]), RejectReason.CORRUPT)
    flipped = bytearray(good.data)
    flipped[len(flipped) // 2] ^= 0xFF
    _rejects(dataclasses.replace(good, data=bytes(flipped)), RejectReason.CORRUPT)
    lz = encode(_features(), [0, 2, 7], "int8+lz4")
    _rejects(dataclasses.replace(lz, data=lz.data[:-9]), RejectReason.CORRUPT)
    plain = encode(_features(), [0, 2, 7], "int8+none")
    _rejects(dataclasses.replace(plain, data=plain.data[:-1]), RejectReason.TRUNCATED)
    _rejects(dataclasses.replace(plain, data=plain.data + b"\0"), RejectReason.SIZE)


def test_rejects_non_finite_float_payload() -> None:
    f = _features()
    f[0, 0, 0] = float("inf")
    _rejects(encode(f, [0], "fp16+zstd"), RejectReason.CORRUPT)


def test_fake_quantise_matches_the_codec() -> None:
    f = _features(seed=3, shape=(2, 8, 5, 5))
    fake = codec.fake_quantise(f, 8)
    for b in range(2):
        dec = decode(encode(f[b], list(range(8)), "int8+none"))
        torch.testing.assert_close(fake[b], dec.values, rtol=0, atol=1e-5)


def _bomb(comp: str, raw_nbytes: int, inflated: int) -> bytes:
    """A frame of ``inflated`` zero bytes made in 1 MiB steps (never held whole), size declared."""
    chunk = bytes(1 << 20)
    if comp == "zstd":
        z = zstandard.ZstdCompressor(write_checksum=True).compressobj(size=inflated)
        return b"".join(z.compress(chunk) for _ in range(inflated >> 20)) + z.flush()
    lz = lz4.frame.LZ4FrameCompressor(content_checksum=True)
    header = lz.begin(source_size=inflated)
    return header + b"".join(lz.compress(chunk) for _ in range(inflated >> 20)) + lz.flush()


@pytest.mark.parametrize("comp", ["zstd", "lz4"])
def test_a_decompression_bomb_is_refused_without_inflating_it(comp: str) -> None:
    good = encode(_features(), [0, 2, 7], f"int8+{comp}")
    bomb = dataclasses.replace(good, data=_bomb(comp, good.raw_nbytes, 256 << 20))
    assert len(bomb.data) < 2 << 20, "a small message"
    tracemalloc.start()
    try:
        _rejects(bomb, RejectReason.SIZE)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"{peak / 2**20:.0f} MiB allocated to refuse a 256 MiB bomb"


def test_a_zstd_frame_must_declare_the_size_raw_nbytes_says(good: codec.EncodedFeatures) -> None:
    raw = zstandard.ZstdDecompressor().decompress(good.data)
    short = zstandard.ZstdCompressor().compress(raw[:-1])
    _rejects(dataclasses.replace(good, data=short), RejectReason.TRUNCATED)
    streamed = zstandard.ZstdCompressor(write_checksum=True).compressobj()  # no content size
    _rejects(dataclasses.replace(good, data=streamed.compress(raw) + streamed.flush()), RejectReason.CORRUPT)


def test_quantisation_parameters_must_decode_within_the_fp16_range(good: codec.EncodedFeatures) -> None:
    _rejects(dataclasses.replace(good, scale=(0.1, 1e10, 0.1)), RejectReason.QUANT_PARAMS)
    _rejects(dataclasses.replace(good, zero_point=(0.0, -1e30, 0.0)), RejectReason.QUANT_PARAMS)
    widest = (codec.MAX_ABS / 255, *good.scale[1:])
    at_limit = dataclasses.replace(good, scale=widest, zero_point=(0.0, *good.zero_point[1:]))
    assert decode(at_limit).values.abs().max() <= codec.MAX_ABS


def test_float_payloads_must_hold_values_within_the_fp16_range() -> None:
    f = _features()
    f[0, 0, 0] = 2 * codec.MAX_ABS
    _rejects(encode(f, [0], "fp32+lz4"), RejectReason.CORRUPT)
    f[0, 0, 0] = codec.MAX_ABS
    assert decode(encode(f, [0], "fp32+lz4")).values.max() == codec.MAX_ABS
