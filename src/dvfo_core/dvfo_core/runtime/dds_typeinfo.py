"""Make a Cyclone DDS topic advertise no XTypes type information, as ``rmw_cyclonedds_cpp`` does.

cyclonedds-python 11.0.1 needs the TypeInformation of a type while it creates the topic (it
derives the CDR stream descriptor from it) and then advertises it in every endpoint's discovery
data. A ROS 2 peer of another vendor that does not answer Cyclone's type look-up never matches
such an endpoint. After the topic exists we therefore zero the sizes of the serialised
TypeInformation/TypeMapping held by the Python sertype (``ddspy_sertype_t``); the sertype's
``type_info``/``type_id`` operations then return nothing, and writers and readers created
afterwards carry no type information.

This touches a private C structure: the layout is located by finding the sertype's Python type
pointer and verified against the bytes Python gave the C layer before anything is written; any
mismatch raises instead of guessing. ``cyclonedds`` is pinned to the version this was checked on,
and a test asserts that the discovery data of our writers has no type identifier.
"""

from __future__ import annotations

import ctypes as ct
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from cyclonedds.internal import load_cyclonedds
from cyclonedds.topic import Topic

from dvfo_core.errors import DvfoError

_SCAN_BYTES = 1024
_PTR = struct.calcsize("P")


class TypeInfoStripError(DvfoError):
    """The sertype layout is not the one this adapter was written for."""


@cache
def _get_entity_sertype() -> ct._CFuncPtr:
    fn = load_cyclonedds().dds_get_entity_sertype
    fn.restype = ct.c_int32
    fn.argtypes = [ct.c_int32, ct.POINTER(ct.c_void_p)]
    return fn


@dataclass
class _Stripped:
    """Where a stripped sertype keeps its TypeInformation sizes (pointers are left untouched)."""

    info_sz_at: int
    map_sz_at: int
    info_sz: int
    map_sz: int

    def set_sizes(self, restored: bool) -> None:
        ct.c_uint32.from_address(self.info_sz_at).value = self.info_sz if restored else 0
        ct.c_uint32.from_address(self.map_sz_at).value = self.map_sz if restored else 0


_stripped: dict[type, _Stripped] = {}


@contextmanager
def type_information_restored(datatype: type) -> Iterator[None]:
    """Give a stripped type its TypeInformation back while another topic of it is created.

    Cyclone shares one sertype per type and domain; creating a second topic of the type derives
    its CDR stream descriptor from that sertype's TypeInformation, which must be there meanwhile.
    """
    entry = _stripped.get(datatype)
    if entry is not None:
        entry.set_sizes(restored=True)
    try:
        yield
    finally:
        if entry is not None:
            entry.set_sizes(restored=False)


def strip_type_information(topic: Topic, datatype: type) -> None:
    """Remove the TypeInformation advertised for ``topic`` (idempotent)."""
    sertype = ct.c_void_p()
    ret = _get_entity_sertype()(topic._ref, ct.byref(sertype))
    if ret < 0 or not sertype.value:
        raise TypeInfoStripError(f"dds_get_entity_sertype failed ({ret}) for {datatype.__name__}")
    base = sertype.value
    raw = ct.string_at(base, _SCAN_BYTES)
    pytype_ptr = struct.pack("P", id(datatype))
    at = raw.find(pytype_ptr)
    while at != -1 and at % _PTR:
        at = raw.find(pytype_ptr, at + 1)
    if at == -1:
        raise TypeInfoStripError(f"sertype of {datatype.__name__}: Python type pointer not found")
    # ddspy_sertype_t: PyObject *my_py_type; bool keyless, v1_big, v2_big;
    #                  unsigned char *typeinfo_ser_data; uint32_t typeinfo_ser_sz;
    #                  unsigned char *typemap_ser_data;  uint32_t typemap_ser_sz; ...
    info_ptr_off = at + 2 * _PTR
    info_sz_off = info_ptr_off + _PTR
    map_ptr_off = info_sz_off + _PTR
    map_sz_off = map_ptr_off + _PTR
    (info_sz,) = struct.unpack_from("I", raw, info_sz_off)
    (map_sz,) = struct.unpack_from("I", raw, map_sz_off)
    if info_sz == 0 and map_sz == 0:
        return  # already stripped (the domain shares one sertype per type)
    info_bytes, map_bytes = datatype.__idl__._xt_bytedata
    (info_ptr,) = struct.unpack_from("P", raw, info_ptr_off)
    (map_ptr,) = struct.unpack_from("P", raw, map_ptr_off)
    if (
        info_bytes is None
        or info_sz != len(info_bytes)
        or map_sz != len(map_bytes)
        or ct.string_at(info_ptr, info_sz) != info_bytes
        or ct.string_at(map_ptr, map_sz) != map_bytes
    ):
        raise TypeInfoStripError(
            f"sertype of {datatype.__name__}: layout differs from cyclonedds 11.0.1; not modified"
        )
    entry = _Stripped(base + info_sz_off, base + map_sz_off, info_sz, map_sz)
    entry.set_sizes(restored=False)
    _stripped[datatype] = entry
