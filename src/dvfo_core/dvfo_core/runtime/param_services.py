"""ROS 2 parameter services on the DDS adapter: what ``ros2 param`` calls, on the same wire.

Each DDS node answers ``rcl_interfaces/srv/GetParameters``, ``SetParameters``, ``ListParameters``,
``DescribeParameters`` and ``GetParameterTypes`` as ``<node>/get_parameters`` and so on
(:mod:`dvfo_core.runtime.services`), with rclpy's semantics: a request naming any parameter the
node has not declared is answered with an empty list (get, describe, types); set answers each
parameter on its own. Values are validated by the node's declared :class:`ParamSpec`, exactly as
under rclpy. :class:`ParameterClient` is the other side (``dvfo param``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dvfo_core.errors import ConfigError, DvfoError
from dvfo_core.runtime.dds import DdsNode
from dvfo_core.runtime.msgs import message_class
from dvfo_core.runtime.params import (
    BOOL,
    BOOL_ARRAY,
    DOUBLE,
    DOUBLE_ARRAY,
    INTEGER,
    INTEGER_ARRAY,
    STRING,
    STRING_ARRAY,
    Descriptor,
    ParameterError,
    list_parameter_names,
)
from dvfo_core.runtime.services import ServiceClient, ServiceServer

SERVICES = {
    "get_parameters": "rcl_interfaces/srv/GetParameters",
    "set_parameters": "rcl_interfaces/srv/SetParameters",
    "list_parameters": "rcl_interfaces/srv/ListParameters",
    "describe_parameters": "rcl_interfaces/srv/DescribeParameters",
    "get_parameter_types": "rcl_interfaces/srv/GetParameterTypes",
}


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
    """Answers the five parameter services of one DDS node."""

    def __init__(self, node: DdsNode) -> None:
        self.node = node
        handlers = {
            "get_parameters": self._get,
            "set_parameters": self._set,
            "list_parameters": self._list,
            "describe_parameters": self._describe,
            "get_parameter_types": self._types,
        }
        self.servers = [
            ServiceServer(node, name, SERVICES[name], handler) for name, handler in handlers.items()
        ]

    def _declared(self, names: Any) -> list[str] | None:
        """``names`` as strings, or None when one of them is not declared (rclpy then answers [])."""
        names = [str(n) for n in names]
        return names if all(n in self.node.parameters.specs for n in names) else None

    def _get(self, request: Any) -> dict[str, Any]:
        names = self._declared(request.names)
        return {"values": [to_parameter_value(self.node.param(n)) for n in names or []]}

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

    def _list(self, request: Any) -> dict[str, Any]:
        result = message_class("rcl_interfaces/msg/ListParametersResult")()
        try:
            prefixes = [str(p) for p in request.prefixes]
            result.names, result.prefixes = list_parameter_names(
                list(self.node.parameters.specs), prefixes, int(request.depth)
            )
        except ParameterError:
            pass  # rclpy answers an empty result too
        return {"result": result}

    def _describe(self, request: Any) -> dict[str, Any]:
        names = self._declared(request.names)
        return {"descriptors": [self._descriptor(n) for n in names or []]}

    def _descriptor(self, name: str) -> Any:
        spec = self.node.parameters.specs[name]
        return message_class("rcl_interfaces/msg/ParameterDescriptor")(
            name=name,
            type=self._type(name),
            description=spec.description,
            additional_constraints=spec.constraints,
            read_only=spec.read_only,
        )

    def _types(self, request: Any) -> dict[str, Any]:
        names = self._declared(request.names)
        return {"types": [self._type(n) for n in names or []]}

    def _type(self, name: str) -> int:
        """The ``ParameterType`` code of a declared parameter's current value."""
        return int(to_parameter_value(self.node.param(name)).type)


class ParameterClient:
    """Calls another node's parameter services (what ``ros2 param`` does)."""

    def __init__(self, node: str, namespace: str = "", timeout_s: float = 10.0) -> None:
        self.clients = {
            service: ServiceClient(node, service, srv, namespace, timeout_s)
            for service, srv in SERVICES.items()
        }

    def get(self, name: str) -> Any:
        """The value of ``name`` (None when the node has no such parameter)."""
        values = self.clients["get_parameters"].call(names=[name]).values
        return from_parameter_value(values[0]) if len(values) else None

    def set(self, name: str, value: Any) -> tuple[bool, str]:
        """Set ``name``; returns ``(successful, reason)``."""
        param = message_class("rcl_interfaces/msg/Parameter")(name=name, value=to_parameter_value(value))
        result = self.clients["set_parameters"].call(parameters=[param]).results[0]
        return bool(result.successful), str(result.reason)

    def list_names(self, prefixes: Sequence[str] = (), depth: int = 0) -> tuple[list[str], list[str]]:
        """``(names, prefixes)`` of the node's parameters (depth 0: every level)."""
        result = self.clients["list_parameters"].call(prefixes=list(prefixes), depth=depth).result
        return [str(n) for n in result.names], [str(p) for p in result.prefixes]

    def describe(self, names: Sequence[str]) -> list[Descriptor]:
        """The descriptors of ``names`` ([] when one of them is not declared)."""
        reply = self.clients["describe_parameters"].call(names=list(names))
        return [Descriptor.of(d) for d in reply.descriptors]

    def types(self, names: Sequence[str]) -> list[int]:
        """The ``rcl_interfaces/ParameterType`` codes of ``names`` ([] when one is not declared)."""
        return [int(t) for t in self.clients["get_parameter_types"].call(names=list(names)).types]
