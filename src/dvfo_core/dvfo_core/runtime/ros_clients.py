"""``dvfo param`` / ``dvfo lifecycle`` clients on rclpy, for nodes running on rclpy.

Service calls do not cross DDS vendors (docs/runtime.md, "ROS 2 tools and DDS-adapter nodes"):
the DDS adapter's clients reach DDS-adapter nodes (and rmw_cyclonedds_cpp nodes), these reach rclpy
nodes on the same RMW. Same interface as :class:`~dvfo_core.runtime.param_services.ParameterClient`
and :class:`~dvfo_core.runtime.lifecycle_services.LifecycleClient`. Import only where rclpy imports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import rclpy
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetAvailableTransitions, GetState
from rcl_interfaces.msg import ParameterType
from rcl_interfaces.srv import (
    DescribeParameters,
    GetParameters,
    GetParameterTypes,
    ListParameters,
    SetParameters,
)
from rclpy.parameter import Parameter, parameter_value_to_python

from dvfo_core.errors import ConfigError
from dvfo_core.runtime.params import Descriptor
from dvfo_core.runtime.ros import init_rclpy, shutdown_rclpy


class _RosServiceCaller:
    """One short-lived rclpy node that calls the services of ``/namespace/node``."""

    def __init__(self, node: str, namespace: str, timeout_s: float) -> None:
        init_rclpy()
        self.fqn = f"{namespace.rstrip('/')}/{node}"
        self.timeout_s = timeout_s
        self.node = rclpy.create_node("dvfo_cli", namespace="/")

    def call(self, srv_type: type, service: str, request: Any) -> Any:
        client = self.node.create_client(srv_type, f"{self.fqn}/{service}")
        try:
            if not client.wait_for_service(timeout_sec=self.timeout_s):
                raise ConfigError(f"node {self.fqn!r} is not running (no {service} service)")
            future = client.call_async(request)
            rclpy.spin_until_future_complete(self.node, future, timeout_sec=self.timeout_s)
            if not future.done():
                raise ConfigError(f"node {self.fqn!r} did not answer {service} in {self.timeout_s:g} s")
            return future.result()
        finally:
            self.node.destroy_client(client)

    def close(self) -> None:
        """Destroy the node and shut rclpy down."""
        self.node.destroy_node()
        shutdown_rclpy()


class RosParameterClient(_RosServiceCaller):
    """Calls an rclpy node's parameter services (what ``ros2 param`` does)."""

    def get(self, name: str) -> Any:
        """The value of ``name`` (None when the node has no such parameter)."""
        reply = self.call(GetParameters, "get_parameters", GetParameters.Request(names=[name]))
        if not reply.values or reply.values[0].type == ParameterType.PARAMETER_NOT_SET:
            return None
        value = parameter_value_to_python(reply.values[0])
        return list(value) if isinstance(value, (list, tuple)) or hasattr(value, "tolist") else value

    def set(self, name: str, value: Any) -> tuple[bool, str]:
        """Set ``name``; returns ``(successful, reason)``."""
        request = SetParameters.Request(parameters=[Parameter(name, value=value).to_parameter_msg()])
        result = self.call(SetParameters, "set_parameters", request).results[0]
        return bool(result.successful), str(result.reason)

    def list_names(self, prefixes: Sequence[str] = (), depth: int = 0) -> tuple[list[str], list[str]]:
        """``(names, prefixes)`` of the node's parameters (depth 0: every level)."""
        request = ListParameters.Request(prefixes=list(prefixes), depth=depth)
        result = self.call(ListParameters, "list_parameters", request).result
        return list(result.names), list(result.prefixes)

    def describe(self, names: Sequence[str]) -> list[Descriptor]:
        """The descriptors of ``names`` ([] when one of them is not declared)."""
        request = DescribeParameters.Request(names=list(names))
        return [
            Descriptor.of(d)
            for d in self.call(DescribeParameters, "describe_parameters", request).descriptors
        ]

    def types(self, names: Sequence[str]) -> list[int]:
        """The ``rcl_interfaces/ParameterType`` codes of ``names`` ([] when one is not declared)."""
        request = GetParameterTypes.Request(names=list(names))
        return [int(t) for t in self.call(GetParameterTypes, "get_parameter_types", request).types]


class RosLifecycleClient(_RosServiceCaller):
    """Reads and changes an rclpy lifecycle node's state (what ``ros2 lifecycle`` does)."""

    def get(self) -> str:
        """The node's current state label."""
        return str(self.call(GetState, "get_state", GetState.Request()).current_state.label)

    def _transitions(self) -> list[Any]:
        request = GetAvailableTransitions.Request()
        reply = self.call(GetAvailableTransitions, "get_available_transitions", request)
        return [d.transition for d in reply.available_transitions]

    def available(self) -> list[str]:
        """Labels of the transitions available now."""
        return list(dict.fromkeys(str(t.label) for t in self._transitions()))

    def set(self, label: str) -> bool:
        """Trigger transition ``label``; True when the node reports success."""
        ids = [t.id for t in self._transitions() if t.label == label]
        if not ids:
            return False
        request = ChangeState.Request(transition=Transition(id=ids[0], label=label))
        return bool(self.call(ChangeState, "change_state", request).success)
