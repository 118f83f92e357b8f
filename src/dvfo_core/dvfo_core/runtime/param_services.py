"""ROS 2 parameter services on the DDS adapter: what ``ros2 param get/set`` call, on the same wire.

Each DDS node answers ``rcl_interfaces/srv/GetParameters`` and ``SetParameters`` on
``rq/<node>/get_parametersRequest`` / ``rr/<node>/get_parametersReply`` (and ``set_...``), with
the request header ``rmw_cyclonedds_cpp`` uses (the client's GUID, 8 bytes, and a sequence number)
echoed in the reply. Values are validated by the node's declared :class:`ParamSpec`, exactly as
under rclpy. :class:`ParameterClient` is the other side (``dvfo param``).
"""

from __future__ import annotations

import os
import time
from typing import Any

from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader, InvalidSample

from dvfo_core.errors import ConfigError, DvfoError
from dvfo_core.runtime.dds import DdsNode, DdsSubscription, dds_topic, participant, to_dds_qos
from dvfo_core.runtime.msgs import message_class
from dvfo_core.runtime.qos import PRESETS

SERVICES = {
    "get_parameters": "rcl_interfaces/srv/GetParameters",
    "set_parameters": "rcl_interfaces/srv/SetParameters",
}
NOT_SET, BOOL, INTEGER, DOUBLE, STRING = 0, 1, 2, 3, 4
BOOL_ARRAY, INTEGER_ARRAY, DOUBLE_ARRAY, STRING_ARRAY = 6, 7, 8, 9
_QOS = to_dds_qos(PRESETS["reliable"])  # rmw_qos_profile_services_default: reliable, keep last 10


def _fqn(node: str, namespace: str = "") -> str:
    ns = namespace.strip("/")
    return f"{ns}/{node}" if ns else node.strip("/")


def service_topics(node: str, service: str, namespace: str = "") -> tuple[str, str]:
    """DDS request and reply topic names of ``service`` on ``node`` (rmw convention)."""
    base = f"{_fqn(node, namespace)}/{service}"
    return f"rq/{base}Request", f"rr/{base}Reply"


def to_parameter_value(value: Any) -> Any:
    """A Python value as ``rcl_interfaces/ParameterValue``."""
    pv = message_class("rcl_interfaces/msg/ParameterValue")()
    if isinstance(value, bool):
        pv.type, pv.bool_value = BOOL, value
    elif isinstance(value, int):
        pv.type, pv.integer_value = INTEGER, value
    elif isinstance(value, float):
        pv.type, pv.double_value = DOUBLE, value
    elif isinstance(value, str):
        pv.type, pv.string_value = STRING, value
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        pv.type, pv.string_array_value = STRING_ARRAY, list(value)
    elif isinstance(value, (list, tuple)) and all(isinstance(v, bool) for v in value):
        pv.type, pv.bool_array_value = BOOL_ARRAY, list(value)
    elif isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value):
        pv.type, pv.integer_array_value = INTEGER_ARRAY, list(value)
    elif isinstance(value, (list, tuple)):
        pv.type, pv.double_array_value = DOUBLE_ARRAY, [float(v) for v in value]
    else:
        raise ConfigError(f"cannot express {value!r} as a ROS 2 parameter value")
    return pv


def from_parameter_value(pv: Any) -> Any:
    """``rcl_interfaces/ParameterValue`` as a Python value (None when not set)."""
    kind = int(pv.type)
    fields = {
        BOOL: "bool_value",
        INTEGER: "integer_value",
        DOUBLE: "double_value",
        STRING: "string_value",
        BOOL_ARRAY: "bool_array_value",
        INTEGER_ARRAY: "integer_array_value",
        DOUBLE_ARRAY: "double_array_value",
        STRING_ARRAY: "string_array_value",
    }
    if kind not in fields:
        return None
    value = getattr(pv, fields[kind])
    return [v.item() if hasattr(v, "item") else v for v in value] if kind >= BOOL_ARRAY else value


class ParameterServer:
    """Answers ``get_parameters`` and ``set_parameters`` for one DDS node."""

    def __init__(self, node: DdsNode) -> None:
        self.node = node
        self.writers: dict[str, DataWriter] = {}
        for service, srv in SERVICES.items():
            req_name, rep_name = service_topics(node.name, service, node.namespace)
            req_topic, _ = dds_topic(node.dp, f"{srv}_Request", req_name)
            rep_topic, _ = dds_topic(node.dp, f"{srv}_Response", rep_name)
            reader = DataReader(node.dp, req_topic, qos=_QOS)
            self.writers[service] = DataWriter(node.dp, rep_topic, qos=_QOS)
            cond = ReadCondition(reader, SampleState.Any | ViewState.Any | InstanceState.Any)
            handler = self._get if service == "get_parameters" else self._set
            node.subscriptions.append(DdsSubscription(req_name, reader, cond, handler))

    def _reply(self, service: str, request: Any, **fields: Any) -> None:
        reply = message_class(f"{SERVICES[service]}_Response")(
            client_guid=request.client_guid, sequence_number=request.sequence_number, **fields
        )
        self.writers[service].write(reply)

    def _get(self, request: Any) -> None:
        values = []
        for name in request.names:
            try:
                values.append(to_parameter_value(self.node.param(str(name))))
            except DvfoError:
                values.append(message_class("rcl_interfaces/msg/ParameterValue")())  # NOT_SET
        self._reply("get_parameters", request, values=values)

    def _set(self, request: Any) -> None:
        result_cls = message_class("rcl_interfaces/msg/SetParametersResult")
        results = []
        for p in request.parameters:
            try:
                self.node.set_param(str(p.name), from_parameter_value(p.value))
                results.append(result_cls(successful=True, reason=""))
            except DvfoError as exc:
                results.append(result_cls(successful=False, reason=str(exc)))
        self._reply("set_parameters", request, results=results)


class ParameterClient:
    """Calls another node's parameter services (what ``ros2 param`` does)."""

    def __init__(self, node: str, namespace: str = "", timeout_s: float = 10.0) -> None:
        self.node_name = node
        self.timeout_s = timeout_s
        self.dp = participant()
        self.guid = int.from_bytes(os.urandom(8), "little")
        self.seq = 0
        self.ends: dict[str, tuple[DataWriter, DataReader]] = {}
        for service, srv in SERVICES.items():
            req_name, rep_name = service_topics(node, service, namespace)
            req_topic, _ = dds_topic(self.dp, f"{srv}_Request", req_name)
            rep_topic, _ = dds_topic(self.dp, f"{srv}_Response", rep_name)
            self.ends[service] = (
                DataWriter(self.dp, req_topic, qos=_QOS),
                DataReader(self.dp, rep_topic, qos=_QOS),
            )

    def _call(self, service: str, **fields: Any) -> Any:
        writer, reader = self.ends[service]
        end = time.monotonic() + self.timeout_s
        while not writer.get_matched_subscriptions() or not reader.get_matched_publications():
            if time.monotonic() > end:
                raise ConfigError(f"node {self.node_name!r} is not running (no parameter service found)")
            time.sleep(0.05)
        self.seq += 1
        request = message_class(f"{SERVICES[service]}_Request")(
            client_guid=self.guid, sequence_number=self.seq, **fields
        )
        writer.write(request)
        while time.monotonic() < end:
            for reply in reader.take(N=16):
                if isinstance(reply, InvalidSample):
                    continue
                if reply.client_guid == self.guid and reply.sequence_number == self.seq:
                    return reply
            time.sleep(0.01)
        raise ConfigError(f"node {self.node_name!r} did not answer {service} in {self.timeout_s:g} s")

    def get(self, name: str) -> Any:
        """The value of ``name`` (None when the node has no such parameter)."""
        return from_parameter_value(self._call("get_parameters", names=[name]).values[0])

    def set(self, name: str, value: Any) -> tuple[bool, str]:
        """Set ``name``; returns ``(successful, reason)``."""
        param = message_class("rcl_interfaces/msg/Parameter")(name=name, value=to_parameter_value(value))
        result = self._call("set_parameters", parameters=[param]).results[0]
        return bool(result.successful), str(result.reason)
