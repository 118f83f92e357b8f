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
    ct.c_uint32.from_address(base + info_sz_off).value = 0
    ct.c_uint32.from_address(base + map_sz_off).value = 0
