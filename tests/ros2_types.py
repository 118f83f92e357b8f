"""ROS 2 message types declared by hand in plain cyclonedds, named the ROS 2 way.

What a real ROS 2 node (rmw_cyclonedds_cpp) puts on the wire, written independently of the
project's run-time type builder, so tests can check the adapter against it. No
``from __future__ import annotations`` here: cyclonedds resolves these annotations itself.
"""

from dataclasses import dataclass

from cyclonedds.idl import IdlStruct
from cyclonedds.idl import types as t


@dataclass
class RosTime(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    sec: t.int32
    nanosec: t.uint32


@dataclass
class RosHeader(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    stamp: RosTime
    frame_id: str


@dataclass
class RosImage(IdlStruct, typename="sensor_msgs::msg::dds_::Image_"):
    header: RosHeader
    height: t.uint32
    width: t.uint32
    encoding: str
    is_bigendian: t.uint8
    step: t.uint32
    data: t.sequence[t.uint8]


@dataclass
class RosKeyValue(IdlStruct, typename="diagnostic_msgs::msg::dds_::KeyValue_"):
    key: str
    value: str


@dataclass
class RosDiagnosticStatus(IdlStruct, typename="diagnostic_msgs::msg::dds_::DiagnosticStatus_"):
    level: t.byte
    name: str
    message: str
    hardware_id: str
    values: t.sequence[RosKeyValue]


@dataclass
class RosDiagnosticArray(IdlStruct, typename="diagnostic_msgs::msg::dds_::DiagnosticArray_"):
    header: RosHeader
    status: t.sequence[RosDiagnosticStatus]
