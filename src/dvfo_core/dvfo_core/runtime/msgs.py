"""Message types built at run time from ``.msg`` definitions (no hand-written schema anywhere).

Two views of the same definitions:

* :func:`typestore` — a ``rosbags`` typestore with the ROS 2 standard messages that rosbags
  ships plus the ``dvfo_msgs`` files from :func:`dvfo_core.paths.msg_dir`; used for rosbag2 I/O
  and as the reference CDR serialiser.
* :func:`message_class` — Cyclone DDS ``IdlStruct`` classes named the ROS 2 way
  (``pkg::msg::dds_::Name_``), final (not appendable) structs serialised as plain XCDR1, every
  field with a ROS-like default so ``Msg()`` works as it does under rclpy. Numeric sequences are
  (de)serialised in one copy through numpy (a 1 MB ``uint8[]`` in well under a millisecond) with
  wire bytes identical to Cyclone's own per-element path; they come back as numpy arrays.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from cyclonedds.idl import IdlStruct
from cyclonedds.idl import types as t
from cyclonedds.idl._machinery import PlainCdrV2SequenceOfPrimitiveMachine
from cyclonedds.idl._main import IdlMeta
from cyclonedds.idl._support import Endianness
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.base import Nodetype
from rosbags.typesys.store import Typestore

from dvfo_core.errors import MessageDefinitionError
from dvfo_core.paths import msg_dir

#: The ROS 2 distribution whose standard definitions we speak (Humble is the Jetson LTS target).
ROS_DISTRO_STORE = Stores.ROS2_HUMBLE
#: ``ros_discovery_info`` (how ROS 2 tools find nodes) has two layouts under one type name: Humble's
#: ``Gid`` has 24 bytes, Jazzy and later (Kilted's) 16. ``ROS_DISTRO``, which every ROS 2 setup
#: script sets, picks the robot's (:func:`graph_store`); without it, Jazzy's and later.
GRAPH_STORES = {"humble": Stores.ROS2_HUMBLE}
GRAPH_STORE = Stores.ROS2_KILTED
GRAPH_TYPES = (
    "rmw_dds_common/msg/Gid",
    "rmw_dds_common/msg/NodeEntitiesInfo",
    "rmw_dds_common/msg/ParticipantEntitiesInfo",
)
DVFO_PACKAGE = "dvfo_msgs"

_NUMERIC = {
    "bool": (t.uint8, np.dtype("?")),
    "byte": (t.byte, np.dtype("u1")),
    "char": (t.uint8, np.dtype("u1")),
    "int8": (t.int8, np.dtype("i1")),
    "uint8": (t.uint8, np.dtype("u1")),
    "int16": (t.int16, np.dtype("<i2")),
    "uint16": (t.uint16, np.dtype("<u2")),
    "int32": (t.int32, np.dtype("<i4")),
    "uint32": (t.uint32, np.dtype("<u4")),
    "int64": (t.int64, np.dtype("<i8")),
    "uint64": (t.uint64, np.dtype("<u8")),
    "float32": (t.float32, np.dtype("<f4")),
    "float64": (t.float64, np.dtype("<f8")),
}


def normalize_type_name(name: str) -> str:
    """``pkg/Name`` or ``pkg/msg/Name`` -> ``pkg/msg/Name``; ``pkg/srv/Name_Request`` is kept."""
    parts = name.strip().split("/")
    if len(parts) == 2:
        return f"{parts[0]}/msg/{parts[1]}"
    if len(parts) == 3 and parts[1] in ("msg", "srv"):
        return name.strip()
    raise MessageDefinitionError(f"bad message type name {name!r}: expected pkg/msg/Name or pkg/Name")


def dds_type_name(name: str) -> str:
    """ROS 2 type ``pkg/msg/Name`` -> DDS type ``pkg::msg::dds_::Name_`` (rmw convention)."""
    pkg, kind, leaf = normalize_type_name(name).split("/")
    return f"{pkg}::{kind}::dds_::{leaf}_"


def dds_topic_name(topic: str) -> str:
    """ROS 2 topic ``/a/b`` -> DDS topic ``rt/a/b`` (rmw convention)."""
    if not topic.startswith("/"):
        topic = "/" + topic
    if not re.fullmatch(r"(/[A-Za-z_][A-Za-z0-9_]*)+", topic):
        raise MessageDefinitionError(f"invalid ROS 2 topic name {topic!r}")
    return "rt" + topic


def _parse_msg_file(path: Path, package: str) -> dict[str, Any]:
    name = f"{package}/msg/{path.stem}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MessageDefinitionError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return get_types_from_msg(text, name)
    except Exception:  # rosbags raises its own TypesysError with a whole-file parser trace
        line_no, line = _first_bad_line(text, name)
        raise MessageDefinitionError(f"{path}:{line_no}: malformed message definition: {line!r}") from None


def _first_bad_line(text: str, name: str) -> tuple[int, str]:
    """The first line whose addition makes the definition unparsable (1-based)."""
    lines = text.splitlines()
    for i in range(1, len(lines) + 1):
        try:
            get_types_from_msg("\n".join(lines[:i]), name)
        except Exception:
            return i, lines[i - 1].strip()
    return len(lines), lines[-1].strip() if lines else ""


def _check_references(store: Typestore, defs: dict[str, Any], origin: dict[str, Path]) -> None:
    known = set(store.fielddefs) | set(defs)
    for name, (_consts, fields) in defs.items():
        for fname, desc in fields:
            for ref in _referenced_names(desc):
                if ref not in known:
                    raise MessageDefinitionError(
                        f"{origin.get(name, name)}: field {fname!r} has unknown type {ref!r}"
                    )


def _referenced_names(desc: tuple) -> list[str]:
    node, rest = desc
    if node == Nodetype.NAME:
        return [rest]
    if node in (Nodetype.ARRAY, Nodetype.SEQUENCE):
        return _referenced_names(rest[0])
    return []


def load_definitions(directory: Path, package: str = DVFO_PACKAGE) -> dict[str, Any]:
    """Parse every ``*.msg`` in ``directory`` as ``package`` messages (rosbags field definitions)."""
    files = sorted(directory.glob("*.msg"))
    if not files:
        raise MessageDefinitionError(f"{directory}: no .msg files")
    defs: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    for path in files:
        parsed = _parse_msg_file(path, package)
        defs.update(parsed)
        origin.update({k: path for k in parsed})
    _check_references(get_typestore(ROS_DISTRO_STORE), defs, origin)
    return defs


#: rmw_cyclonedds prefixes every request and reply with the client's GUID (last 8 bytes) and a
#: sequence number; the service wrapper types carry them as their first two fields.
SERVICE_HEADER = [
    ("client_guid", (Nodetype.BASE, ("uint64", 0))),
    ("sequence_number", (Nodetype.BASE, ("int64", 0))),
]
_SRV_DIR = Path(__file__).resolve().parent / "srv"


#: rosidl gives a struct without fields this one member (C and IDL forbid empty structs).
EMPTY_STRUCT_MEMBER = ("structure_needs_at_least_one_member", (Nodetype.BASE, ("uint8", 0)))


def service_definitions() -> dict[str, Any]:
    """``pkg/srv/Name_Request`` / ``_Response`` wrapper definitions of the ``.srv`` files we serve
    (``srv/<pkg>/<Name>.srv``)."""
    defs: dict[str, Any] = {}
    for path in sorted(_SRV_DIR.glob("*/*.srv")):
        package = path.parent.name
        request, _, response = path.read_text(encoding="utf-8").partition("\n---\n")
        for half, text in (("Request", request), ("Response", response)):
            name = f"{package}/srv/{path.stem}_{half}"
            (consts, fields), = get_types_from_msg(text, f"{package}/{path.stem}_{half}").values()
            defs[name] = (consts, SERVICE_HEADER + (fields or [EMPTY_STRUCT_MEMBER]))
    return defs


def graph_store(environ: Mapping[str, str] = os.environ) -> Stores:
    """The rosbags store whose layout of the ROS graph's own types (``GRAPH_TYPES``) the robot's
    ROS 2 speaks: ``ROS_DISTRO=humble`` -> Humble's, anything else -> Jazzy's and later."""
    return GRAPH_STORES.get(environ.get("ROS_DISTRO", "").strip().lower(), GRAPH_STORE)


@cache
def typestore() -> Typestore:
    """The rosbags typestore: ROS 2 standard messages plus ``dvfo_msgs`` from their ``.msg`` files
    (and the wrapper types of the parameter and lifecycle services the DDS adapter answers)."""
    store = get_typestore(ROS_DISTRO_STORE)
    graph = get_typestore(graph_store()).fielddefs
    for key in GRAPH_TYPES:  # the ROS graph's own types in the robot's distribution's layout
        store.fielddefs[key] = graph[key]
    store.register(load_definitions(msg_dir()))
    store.register(service_definitions())
    return store


def _resolve(name: str) -> tuple[list, list]:
    store = typestore()
    key = normalize_type_name(name)
    if key not in store.fielddefs:
        raise MessageDefinitionError(
            f"unknown message type {name!r} (not a dvfo_msgs .msg file nor a standard ROS 2 message)"
        )
    return store.fielddefs[key]


class NumericSequenceMachine(PlainCdrV2SequenceOfPrimitiveMachine):
    """Serialise a primitive sequence in one copy (numpy) instead of element by element.

    Same wire bytes as the parent class: a uint32 length, alignment to the element size, then the
    elements in the buffer's byte order. Accepts bytes, bytearray, memoryview, array.array,
    numpy arrays and lists; returns a numpy array.
    """

    def __init__(self, idl_type: Any, dtype: np.dtype) -> None:
        super().__init__(idl_type)
        self.dtype = dtype

    def serialize(self, buffer, value, serialize_kind=None, key_enabled=None) -> None:
        if isinstance(value, (bytes, bytearray, memoryview)) and self.dtype.itemsize == 1:
            raw = bytes(value)
            count = len(raw)
        else:
            arr = np.asarray(value)
            if arr.ndim != 1:
                arr = arr.reshape(-1)
            big = buffer.endianness == Endianness.Big
            raw = arr.astype(self.dtype.newbyteorder(">" if big else "<"), copy=False).tobytes()
            count = arr.shape[0]
        if self.max_length is not None and count > self.max_length:
            raise ValueError(f"sequence of {count} exceeds its bound {self.max_length}")
        buffer.align(4)
        buffer.write("I", 4, count)
        if count:
            buffer.align(self.alignment)
            buffer.write_bytes(raw)

    def deserialize(self, buffer, deserialize_kind=None, key_enabled=None) -> np.ndarray:
        buffer.align(4)
        count = buffer.read("I", 4)
        if not count:
            return np.zeros(0, self.dtype)
        buffer.align(self.alignment)
        big = buffer.endianness == Endianness.Big
        dtype = self.dtype.newbyteorder(">" if big else "<")
        start = buffer.tell()
        # one copy straight out of the receive buffer (read_bytes would copy twice)
        values = np.frombuffer(buffer._bytes, dtype=dtype, count=count, offset=start).astype(self.dtype)
        buffer.seek(start + count * self.size)
        return values


def as_array(value: Any, dtype: np.dtype) -> np.ndarray:
    """A 1-D numpy view/copy of a numeric sequence field (bytes, array.array, list or ndarray).

    Message fields hold numpy arrays on the DDS path, ``array.array`` under rclpy and bytes when a
    user assigns them: code that reads a numeric field goes through this one function.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return np.frombuffer(value, dtype=dtype)
    return np.asarray(value, dtype=dtype).reshape(-1)


def _idl_type(desc: tuple) -> Any:
    node, rest = desc
    if node == Nodetype.BASE:
        base, bound = rest
        if base == "string":
            return t.bounded_str[bound] if bound else str
        if base == "wstring":
            raise MessageDefinitionError("wstring fields are not supported by the DDS adapter")
        if base == "bool":
            return bool
        return _NUMERIC[base][0]
    if node == Nodetype.NAME:
        return message_class(rest)
    if node == Nodetype.ARRAY:
        return t.array[_idl_type(rest[0]), rest[1]]
    if node == Nodetype.SEQUENCE:
        return t.sequence[_idl_type(rest[0]), rest[1]] if rest[1] else t.sequence[_idl_type(rest[0])]
    raise MessageDefinitionError(f"unsupported field kind {node!r}")


def _default_factory(desc: tuple) -> Any:
    node, rest = desc
    if node == Nodetype.BASE:
        base = rest[0]
        if base in ("string", "wstring"):
            return str
        if base == "bool":
            return bool
        return float if base.startswith("float") else int
    if node == Nodetype.NAME:
        return message_class(rest)
    sub_node, sub_rest = rest[0]
    if node == Nodetype.SEQUENCE:
        if sub_node == Nodetype.BASE and sub_rest[0] in _NUMERIC and sub_rest[0] != "bool":
            dtype = _NUMERIC[sub_rest[0]][1]
            return lambda: np.zeros(0, dtype)
        return list
    length = rest[1]
    if sub_node == Nodetype.BASE and sub_rest[0] in _NUMERIC:
        dtype = _NUMERIC[sub_rest[0]][1]
        return lambda: np.zeros(length, dtype)
    item = _default_factory(rest[0])
    return lambda: [item() for _ in range(length)]


def _swap_sequence_machines(cls: type, fields: list) -> None:
    idl = cls.__idl__
    idl.populate()
    for fname, (node, rest) in fields:
        if node != Nodetype.SEQUENCE:
            continue
        sub_node, sub_rest = rest[0]
        if sub_node != Nodetype.BASE or sub_rest[0] not in _NUMERIC or sub_rest[0] == "bool":
            continue
        for machine in (idl.v1_machine, idl.v2_machine):
            old = machine.members_machines[fname]
            if isinstance(old, PlainCdrV2SequenceOfPrimitiveMachine):
                fast = NumericSequenceMachine(_NUMERIC[sub_rest[0]][0], _NUMERIC[sub_rest[0]][1])
                fast.max_length = old.max_length
                machine.members_machines[fname] = fast


@cache
def message_class(name: str) -> type:
    """The DDS message class for ROS 2 type ``name`` (``pkg/msg/Name``), built from its definition."""
    key = normalize_type_name(name)
    consts, fields = _resolve(key)
    pkg, _, leaf = key.split("/")
    namespace = IdlMeta.__prepare__(leaf, (IdlStruct,), typename=dds_type_name(key))
    for fname, desc in fields:
        namespace["__annotations__"][fname] = _idl_type(desc)
        namespace[fname] = dataclasses.field(default_factory=_default_factory(desc))
    namespace["__module__"] = f"{pkg}.msg"
    namespace["__qualname__"] = leaf
    cls = dataclasses.dataclass(IdlMeta(leaf, (IdlStruct,), namespace))
    for cname, _ctype, cvalue in consts:
        setattr(cls, cname, cvalue)
    cls.__ros_type__ = key
    _swap_sequence_machines(cls, fields)
    return cls


def to_cdr(msg: Any) -> bytes:
    """The CDR bytes of a message of :func:`message_class` (plain XCDR1 with its 4-byte
    encapsulation header): what the DDS adapter writes and rclpy's ``serialize_message`` gives."""
    return msg.serialize(use_version_2=False)


def from_cdr(name: str, data: bytes) -> Any:
    """The message of type ``name`` in CDR bytes ``data`` (the inverse of :func:`to_cdr`).

    Malformed bytes raise :class:`~dvfo_core.errors.MessageDefinitionError`; so do bytes without
    the encapsulation header of plain CDR (``00 00`` big endian, ``00 01`` little endian), empty
    ones included (the deserialiser would read those as a message of default values)."""
    if bytes(data[:2]) not in (b"\x00\x00", b"\x00\x01") or len(data) < 4:
        raise MessageDefinitionError(f"malformed {name} bytes: no CDR encapsulation header")
    try:
        return message_class(normalize_type_name(name)).deserialize(data)
    except Exception as exc:  # cyclonedds raises struct.error, IndexError, ValueError, ...
        raise MessageDefinitionError(f"malformed {name} bytes: {type(exc).__name__}: {exc}") from None


def to_rosbags(msg: Any) -> Any:
    """Convert a DDS message instance into the rosbags dataclass of the same type (for bags)."""
    store = typestore()
    key = type(msg).__ros_type__
    _consts, fields = store.fielddefs[key]
    rb_cls = store.types[key]
    values = {}
    for fname, (node, rest) in fields:
        value = getattr(msg, fname)
        if node == Nodetype.NAME:
            value = to_rosbags(value)
        elif node in (Nodetype.SEQUENCE, Nodetype.ARRAY):
            sub_node, sub_rest = rest[0]
            if sub_node == Nodetype.NAME:
                value = [to_rosbags(v) for v in value]
            elif sub_rest[0] in _NUMERIC:
                value = as_array(value, _NUMERIC[sub_rest[0]][1].newbyteorder("="))
        values[fname] = value
    return rb_cls(**values)


def from_rosbags(obj: Any, name: str) -> Any:
    """Convert a rosbags dataclass instance of type ``name`` into the DDS message class."""
    key = normalize_type_name(name)
    _consts, fields = _resolve(key)
    values = {}
    for fname, (node, rest) in fields:
        value = getattr(obj, fname)
        if node == Nodetype.NAME:
            value = from_rosbags(value, rest)
        elif node in (Nodetype.SEQUENCE, Nodetype.ARRAY) and rest[0][0] == Nodetype.NAME:
            value = [from_rosbags(v, rest[0][1]) for v in value]
        values[fname] = value
    return message_class(key)(**values)
