"""Hostile FeatureMaps from a seeded generator, each with the reason the tail must give to refuse it.

Every case starts from a well-formed frame (a real image's head output, any of the codec's
encodings) and breaks one thing, so exactly one check of the tail fails and the reason is known by
construction: wrong shapes (rank, channels, spatial size, zero, negative = huge on the wire, empty),
channel lists (empty, out of range, repeated, one short), unknown encodings, quantisation
parameters (NaN, inf, zero, negative, too large, miscounted, present on a float encoding), declared
sizes (off by a little, zero, 2**32 - 1), encodings whose element size is not the data's,
compressed bytes truncated, emptied, replaced by garbage, bit-flipped or inflating far beyond their
declared size, float payloads holding NaN, inf or huge values, unknown models and splits (a path
traversal among them), robot ids of another robot or of no robot, messages over the size cap; and,
on Zenoh only (DDS delivers only well-typed messages), bytes that are no FeatureMap at all: random,
truncated CDR, sequence lengths pointing past the end, invalid UTF-8 in a string.
"""

from __future__ import annotations

import copy
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import lz4.frame
import numpy as np
import zstandard

from dvfo_core.runtime.msgs import message_class, to_cdr
from dvfo_core.split.codec import MAX_ABS, RejectReason, encode, parse_encoding
from dvfo_core.split.names import ENCODINGS
from dvfo_core.split.runner import SplitRunner

FEATURE_MAP = "dvfo_msgs/msg/FeatureMap"
LINKS = ("dds", "zenoh")
ROBOT = "alpha"  #: the robot the well-formed frames come from
#: Refusals the tail cannot answer: it never read a frame to answer (the robot's time-out covers it).
UNANSWERED = (RejectReason.TOO_LARGE, RejectReason.MALFORMED)

Fields = dict[str, Any]


@dataclass(frozen=True)
class Case:
    """One message for the tail: FeatureMap ``fields``, or ``raw`` bytes sent as they are."""

    kind: str  #: what was broken, e.g. ``shape.channels``
    reason: RejectReason | None  #: why the tail refuses it; None for a well-formed frame
    fields: Fields | None = None
    raw: bytes | None = None

    @property
    def answered(self) -> bool:
        """Whether the tail answers it (ok or not): it could read a frame to answer."""
        return self.reason not in UNANSWERED

    def payload(self) -> bytes:
        """The bytes a robot puts on Zenoh."""
        return self.raw if self.raw is not None else to_cdr(message(self.fields or {}))


def message(fields: Fields) -> Any:
    """A ``dvfo_msgs/FeatureMap`` of ``fields``."""
    return message_class(FEATURE_MAP)(**fields)


def templates(runner: SplitRunner, images: list[np.ndarray], robot_id: str) -> list[Fields]:
    """Well-formed frames of ``robot_id``: every image at xi = 0.5 in every encoding."""
    out = []
    for image in images:
        head = runner.head(runner.preprocess(image))
        _, secondary = runner.partition(head, 0.5)
        for encoding in ENCODINGS:
            enc = encode(head.features, secondary, encoding)
            fields = {"robot_id": robot_id, "model": runner.model, "split": runner.split}
            fields |= {"xi": 0.5, "deadline_ms": 100.0, **enc.to_msg_fields()}
            out.append(fields)
    return out


# Each mutator breaks one thing of a copy of a well-formed frame ``f`` and returns the reason.
Mutator = Callable[[np.random.Generator, Fields], RejectReason]
U32 = 2**32 - 1


def _quant(f: Fields) -> str:
    return parse_encoding(f["encoding"])[0]


def _comp(f: Fields) -> str:
    return parse_encoding(f["encoding"])[1]


def _compress(raw: bytes, comp: str) -> bytes:
    if comp == "zstd":
        return zstandard.ZstdCompressor(write_checksum=True).compress(raw)
    if comp == "lz4":
        return lz4.frame.compress(raw, content_checksum=True, store_size=True)
    return raw


def shape_rank(rng: np.random.Generator, f: Fields) -> RejectReason:
    f["shape"] = f["shape"][:1] if rng.random() < 0.5 else [*f["shape"], int(rng.integers(1, 5))]
    return RejectReason.SHAPE


def shape_dim(rng: np.random.Generator, f: Fields) -> RejectReason:
    """One dimension another size: off by a little, zero, negative (2**32 - 1 on the wire), huge."""
    i = int(rng.integers(len(f["shape"])))
    old = f["shape"][i]
    new = int(
        rng.choice([old + int(rng.integers(1, 9)), max(0, old - int(rng.integers(1, 9))), 0, U32, 2**31])
    )
    f["shape"][i] = new if new != old else old + 1
    return RejectReason.SHAPE


def shape_empty(rng: np.random.Generator, f: Fields) -> RejectReason:
    f["shape"] = []
    return RejectReason.SHAPE


def channels_empty(rng: np.random.Generator, f: Fields) -> RejectReason:
    f["channel_indices"] = []
    return RejectReason.CHANNEL_INDICES


def channels_out_of_range(rng: np.random.Generator, f: Fields) -> RejectReason:
    i = int(rng.integers(len(f["channel_indices"])))
    f["channel_indices"][i] = int(rng.integers(f["shape"][0], 2**16))
    return RejectReason.CHANNEL_INDICES


def channels_repeated(rng: np.random.Generator, f: Fields) -> RejectReason:
    i, j = rng.choice(len(f["channel_indices"]), 2, replace=False)
    f["channel_indices"][int(i)] = f["channel_indices"][int(j)]
    return RejectReason.CHANNEL_INDICES


def channels_one_short(rng: np.random.Generator, f: Fields) -> RejectReason:
    """One channel fewer than the payload carries: the scales (int) or the size (float) disagree."""
    f["channel_indices"] = f["channel_indices"][:-1]
    return RejectReason.QUANT_PARAMS if _quant(f) in ("int8", "int4") else RejectReason.SIZE


BAD_ENCODINGS = ["", "int8", "+zstd", "int8+", "int16+zstd", "INT8+ZSTD", "int8+zstd+x", "fp64+none"]


def encoding_unknown(rng: np.random.Generator, f: Fields) -> RejectReason:
    if rng.random() < 0.5:
        encoding = str(rng.choice(BAD_ENCODINGS))
    else:
        encoding = "".join(chr(int(c)) for c in rng.integers(32, 127, int(rng.integers(1, 40))))
    f["encoding"] = encoding if encoding not in ENCODINGS else "int3+gzip"
    return RejectReason.ENCODING


def quant_params(rng: np.random.Generator, f: Fields) -> RejectReason:
    """A scale or zero point NaN, inf, zero, negative or huge, or one too many or too few; or any
    on a float encoding (which carries none)."""
    k = len(f["channel_indices"])
    if _quant(f) in ("fp16", "fp32"):
        f["scale"], f["zero_point"] = [1.0] * k, [0.0] * k
        return RejectReason.QUANT_PARAMS
    name = "scale" if rng.random() < 0.6 else "zero_point"
    values = list(f[name])
    how = int(rng.integers(6))
    if how == 0:
        values[int(rng.integers(k))] = float(rng.choice([np.nan, np.inf, -np.inf]))
    elif how == 1:
        values = values[:-1] if rng.random() < 0.5 else [*values, 1.0]
    elif name == "scale" and how == 2:
        values[int(rng.integers(k))] = float(rng.choice([0.0, -1.0, -1e-3]))
    elif name == "scale":  # decodes to values no head output has
        values[int(rng.integers(k))] = float(rng.choice([1e30, 1e10]))
    else:
        values[int(rng.integers(k))] = float(rng.choice([1e30, -1e30]))
    f[name] = values
    return RejectReason.QUANT_PARAMS


def raw_size(rng: np.random.Generator, f: Fields) -> RejectReason:
    """raw_nbytes off by a little, zero, doubled or 2**32 - 1."""
    old = f["raw_nbytes"]
    new = int(
        rng.choice([old + int(rng.integers(1, 99)), max(0, old - int(rng.integers(1, 99))), 0, 2 * old, U32])
    )
    f["raw_nbytes"] = new if new != old else old + 1
    return RejectReason.SIZE


def element_size(rng: np.random.Generator, f: Fields) -> RejectReason:
    """An encoding whose element size is not the data's, raw_nbytes consistent with the claim:
    fp16 data declared fp32 decodes short (truncated), fp32 declared fp16 long (size)."""
    quant, comp = _quant(f), _comp(f)
    f["scale"], f["zero_point"] = [], []
    if quant in ("int8", "int4", "fp16"):  # narrower data declared fp32
        f["encoding"], f["raw_nbytes"] = f"fp32+{comp}", 4 * len(f["channel_indices"]) * _spatial(f)
        return RejectReason.TRUNCATED
    f["encoding"], f["raw_nbytes"] = f"fp16+{comp}", f["raw_nbytes"] // 2
    return RejectReason.SIZE


def _spatial(f: Fields) -> int:
    return int(np.prod(f["shape"][1:]))


def data_cut(rng: np.random.Generator, f: Fields) -> RejectReason:
    """The compressed bytes truncated or emptied: truncated (none) or not a whole frame (compressed)."""
    data = bytes(f["data"])
    f["data"] = data[: int(rng.integers(0, len(data)))]
    return RejectReason.TRUNCATED if _comp(f) == "none" else RejectReason.CORRUPT


def data_garbage(rng: np.random.Generator, f: Fields) -> RejectReason:
    """Compressed bytes replaced by random ones, or one byte flipped after the frame header (zstd:
    anywhere, lz4: in its content checksum); for ``none`` (every byte is a valid code) bytes appended."""
    data = bytearray(f["data"])
    comp = _comp(f)
    if comp == "none":
        f["data"] = bytes(data) + rng.bytes(int(rng.integers(1, 64)))
        return RejectReason.SIZE
    if rng.random() < 0.5:
        f["data"] = rng.bytes(len(data))
    else:
        start = zstandard.frame_header_size(bytes(data)) if comp == "zstd" else len(data) - 4
        data[int(rng.integers(start, len(data)))] ^= int(rng.integers(1, 256))
        f["data"] = bytes(data)
    return RejectReason.CORRUPT


def data_bomb(rng: np.random.Generator, f: Fields) -> RejectReason:
    """A small compressed frame that inflates to a thousand times raw_nbytes (or ``none``: data
    longer than declared)."""
    comp = _comp(f)
    if comp == "none":
        f["data"] = bytes(f["data"]) * 2
    else:
        f["data"] = _compress(bytes(f["raw_nbytes"] * 1000), comp)
    return RejectReason.SIZE


def float_values(rng: np.random.Generator, f: Fields) -> RejectReason:
    """A float payload (of the right size) holding NaN, inf or a value beyond the codec's range."""
    comp = _comp(f)
    quant = "fp16" if rng.random() < 0.3 else "fp32"
    values = rng.normal(size=(len(f["channel_indices"]), *f["shape"][1:])).astype(np.float32)
    values.flat[int(rng.integers(values.size))] = rng.choice([np.nan, np.inf, -np.inf, 4 * MAX_ABS])
    full = np.zeros(f["shape"], np.float32)
    full[f["channel_indices"]] = values
    with np.errstate(over="ignore"):  # 4 * MAX_ABS is inf in fp16, as meant
        f |= encode(full, f["channel_indices"], f"{quant}+{comp}").to_msg_fields()
    return RejectReason.CORRUPT


BAD_MODELS = ["", "resnet1800", "vit_z_99", "../../../etc/passwd", "resnet18/../x", "r" * 300, "mobilenet_v2"]


def model_unknown(rng: np.random.Generator, f: Fields) -> RejectReason:
    """A model this tail cannot serve (mobilenet_v2 is shipped, but not at this split)."""
    f["model"] = str(rng.choice(BAD_MODELS))
    return RejectReason.MODEL_MISMATCH


def split_wrong(rng: np.random.Generator, f: Fields) -> RejectReason:
    f["split"] = str(rng.choice(["", "layer3", "layer5", "features.7", "layer2 ", "LAYER2"]))
    return RejectReason.MODEL_MISMATCH


BAD_ROBOT_IDS = ["", "-lead", "a/b", "robot 1", "x" * 65, "робот", "alpha\n", "dvfo/**"]


def robot_other(link: str) -> Mutator:
    """On Zenoh a robot id other than the one the certificate proves (another robot's, or no
    robot id); on DDS, where the claim is all there is, one that is no robot id."""

    def mutate(rng: np.random.Generator, f: Fields) -> RejectReason:
        if link == "zenoh" and rng.random() < 0.4:
            f["robot_id"] = str(rng.choice(["beta", "gamma", f["robot_id"] + "2", f["robot_id"].upper()]))
        else:
            f["robot_id"] = str(rng.choice(BAD_ROBOT_IDS))
        return RejectReason.ROBOT_MISMATCH if link == "zenoh" else RejectReason.ROBOT_ID

    return mutate


def too_large(cap: int) -> Mutator:
    """Data beyond the tail's size cap (read by no one)."""

    def mutate(rng: np.random.Generator, f: Fields) -> RejectReason:
        f["data"] = rng.bytes(cap + int(rng.integers(1, 4096)))
        return RejectReason.TOO_LARGE

    return mutate


def raw_garbage(rng: np.random.Generator, cdr: bytes, data_len: int) -> bytes:
    """Random bytes: with no CDR header, or with one and a random body."""
    body = rng.bytes(int(rng.integers(16, 2000)))
    if rng.random() < 0.5:
        return body
    return b"\x00\x01\x00\x00" + body


def raw_truncated(rng: np.random.Generator, cdr: bytes, data_len: int) -> bytes:
    return cdr[: int(rng.integers(0, len(cdr)))]


def raw_length_past_end(rng: np.random.Generator, cdr: bytes, data_len: int) -> bytes:
    """The length field of the data sequence (the message's last field) pointing past the end."""
    at = next(
        at
        for pad in range(4)
        if struct.unpack_from("<I", cdr, at := len(cdr) - pad - data_len - 4)[0] == data_len
    )
    return cdr[:at] + struct.pack("<I", int(rng.integers(len(cdr) - at - 3, 2**32))) + cdr[at + 4 :]


def raw_bad_utf8(rng: np.random.Generator, cdr: bytes, data_len: int) -> bytes:
    """The robot id's bytes (found after the header) replaced by invalid UTF-8."""
    n = struct.unpack_from("<I", cdr, 4 + 8)[0]  # header: stamp (8 bytes), then frame_id
    at = 4 + 8 + 4 + n
    at += -at % 4  # the robot_id string, 4-aligned
    size = struct.unpack_from("<I", cdr, at)[0]
    bad = bytes([0xFF, 0xFE, 0xC3, 0x28])[: size - 1].ljust(size - 1, b"\xff")
    return cdr[: at + 4] + bad + cdr[at + 4 + size - 1 :]


RawMutator = Callable[[np.random.Generator, bytes, int], bytes]
RAW_MUTATORS: list[RawMutator] = [raw_garbage, raw_truncated, raw_length_past_end, raw_bad_utf8]


def field_mutators(link: str, cap: int) -> list[tuple[str, Mutator, float]]:
    """(kind, mutator, weight) of every field-level mutation."""
    return [
        ("shape.rank", shape_rank, 1.0),
        ("shape.dim", shape_dim, 2.0),
        ("shape.empty", shape_empty, 0.3),
        ("channels.empty", channels_empty, 0.3),
        ("channels.out_of_range", channels_out_of_range, 1.0),
        ("channels.repeated", channels_repeated, 1.0),
        ("channels.one_short", channels_one_short, 1.0),
        ("encoding.unknown", encoding_unknown, 1.0),
        ("quant_params", quant_params, 2.0),
        ("raw_nbytes", raw_size, 1.0),
        ("element_size", element_size, 1.0),
        ("data.cut", data_cut, 1.5),
        ("data.garbage", data_garbage, 2.0),
        ("data.bomb", data_bomb, 0.5),
        ("float_values", float_values, 1.0),
        ("model", model_unknown, 1.0),
        ("split", split_wrong, 0.5),
        ("robot_id", robot_other(link), 1.0),
        ("too_large", too_large(cap), 0.2),
    ]


def hostile_cases(
    seed: int, count: int, frames: list[Fields], link: str, cap: int, good_every: int = 0
) -> Iterator[Case]:
    """``count`` hostile cases for a tail on ``link`` (``dds``, ``zenoh``) with size cap ``cap``,
    made from the well-formed ``frames``; with ``good_every`` > 0 a well-formed frame (``reason``
    None) after every ``good_every`` hostile ones. Reproducible: the same seed gives the same cases."""
    if link not in LINKS:
        raise ValueError(f"link must be one of {LINKS}")
    rng = np.random.default_rng(seed)
    mutators = field_mutators(link, cap)
    weights = np.array([w for *_, w in mutators])
    raw_share = 0.1 if link == "zenoh" else 0.0
    for i in range(count):
        if good_every and i and i % good_every == 0:
            yield Case("well_formed", None, copy.deepcopy(frames[int(rng.integers(len(frames)))]))
        f = copy.deepcopy(frames[int(rng.integers(len(frames)))])
        if rng.random() < raw_share:
            raw = RAW_MUTATORS[int(rng.integers(len(RAW_MUTATORS)))]
            payload = raw(rng, to_cdr(message(f)), len(f["data"]))
            yield Case(f"raw.{raw.__name__.removeprefix('raw_')}", RejectReason.MALFORMED, raw=payload)
            continue
        kind, mutate, _ = mutators[int(rng.choice(len(mutators), p=weights / weights.sum()))]
        reason = mutate(rng, f)
        yield Case(kind, reason, f)
