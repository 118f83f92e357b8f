"""ROS 2 parameter services on the DDS adapter: what ``ros2 param get/set`` call, on the same wire.

Each DDS node answers ``rcl_interfaces/srv/GetParameters`` and ``SetParameters`` as
``<node>/get_parameters`` and ``<node>/set_parameters`` (:mod:`dvfo_core.runtime.services`).
Values are validated by the node's declared :class:`ParamSpec`, exactly as
under rclpy. :class:`ParameterClient` is the other side (``dvfo param``).
"""

from __future__ import annotations

from typing import Any

from dvfo_core.errors import ConfigError, DvfoError
from dvfo_core.runtime.dds import DdsNode
from dvfo_core.runtime.msgs import message_class
from dvfo_core.runtime.services import ServiceClient, ServiceServer

SERVICES = {
    "get_parameters": "rcl_interfaces/srv/GetParameters",
    "set_parameters": "rcl_interfaces/srv/SetParameters",
}
NOT_SET, BOOL, INTEGER, DOUBLE, STRING = 0, 1, 2, 3, 4
BOOL_ARRAY, INTEGER_ARRAY, DOUBLE_ARRAY, STRING_ARRAY = 6, 7, 8, 9


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
        self.servers = [
            ServiceServer(node, "get_parameters", SERVICES["get_parameters"], self._get),
            ServiceServer(node, "set_parameters", SERVICES["set_parameters"], self._set),
        ]

    def _get(self, request: Any) -> dict[str, Any]:
        values = []
        for name in request.names:
            try:
                values.append(to_parameter_value(self.node.param(str(name))))
            except DvfoError:
                values.append(message_class("rcl_interfaces/msg/ParameterValue")())  # NOT_SET
        return {"values": values}

    def _set(self, request: Any) -> dict[str, Any]:
        result_cls = message_class("rcl_interfaces/msg/SetParametersResult")
        results = []
        for p in request.parameters:
            try:
                self.node.set_param(str(p.name), from_parameter_value(p.value))
                results.append(result_cls(successful=True, reason=""))
            except DvfoError as exc:
                results.append(result_cls(successful=False, reason=str(exc)))
        return {"results": results}


class ParameterClient:
    """Calls another node's parameter services (what ``ros2 param`` does)."""

    def __init__(self, node: str, namespace: str = "", timeout_s: float = 10.0) -> None:
        self.clients = {
            service: ServiceClient(node, service, srv, namespace, timeout_s)
            for service, srv in SERVICES.items()
        }

    def get(self, name: str) -> Any:
        """The value of ``name`` (None when the node has no such parameter)."""
        return from_parameter_value(self.clients["get_parameters"].call(names=[name]).values[0])

    def set(self, name: str, value: Any) -> tuple[bool, str]:
        """Set ``name``; returns ``(successful, reason)``."""
        param = message_class("rcl_interfaces/msg/Parameter")(name=name, value=to_parameter_value(value))
        result = self.clients["set_parameters"].call(parameters=[param]).results[0]
        return bool(result.successful), str(result.reason)
