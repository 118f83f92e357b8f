"""The rclpy adapter: the same node logic on a robot with ROS 2 (Humble or later).

Thin by design: every call maps onto one rclpy call. Import this module only when rclpy
imports (see :func:`dvfo_core.runtime.rclpy_available`); nothing else in the project imports
rclpy. Parameters come from ``--ros-args --params-file`` as ``ros2 launch`` passes them, and are
validated by the same :class:`~dvfo_core.runtime.params.ParamSpec` as on the DDS adapter.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import rclpy
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.node import Node as RclpyNode
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions

from dvfo_core.errors import ConfigError, MessageDefinitionError
from dvfo_core.runtime.discovery import apply_discovery_default, apply_fastdds_profile_default
from dvfo_core.runtime.lifecycle import (
    ACTIVE,
    FINALIZED,
    UNCONFIGURED,
    Outcome,
    find_transition,
    run_callback,
)
from dvfo_core.runtime.matching import MATCH_SETTLE_S, SettledCount
from dvfo_core.runtime.params import ParameterError, ParamSpec, ParamValue
from dvfo_core.runtime.port import Node
from dvfo_core.runtime.qos import QosProfile, parse_qos


def init_rclpy(args: Sequence[str] | None = None) -> None:
    """``rclpy.init`` once per process, WITHOUT rclpy's signal handlers.

    rclpy's handlers shut the context down on SIGINT/SIGTERM, after which no lifecycle transition
    can run ("Unable to start transition 7 from current state shuttingdown", "the given context is
    not valid"): the governor could not restore the clocks. Signals are the node's business instead
    (:func:`dvfo_core.runtime.node_main.spin_then_shut_down`): stop spinning, shut every node down
    through its lifecycle, then :func:`shutdown_rclpy`."""
    if rclpy.ok():
        return
    chosen = apply_discovery_default()  # before the profile default: that is not a user's choice
    apply_fastdds_profile_default()
    rclpy.init(args=list(args) if args is not None else None, signal_handler_options=SignalHandlerOptions.NO)
    if chosen:
        rclpy.logging.get_logger("dvfo").info(
            f"ROS_AUTOMATIC_DISCOVERY_RANGE={chosen} (as the DDS adapter's loopback default; "
            "set it to SUBNET, for the nodes of both runtimes, to reach other machines)"
        )


def shutdown_rclpy() -> None:
    """Shut rclpy's context down (no-op when it is not up)."""
    rclpy.try_shutdown()


def get_message(type_name: str) -> type:
    """The rosidl-generated class of ``pkg/msg/Name`` (or ``pkg/Name``), e.g. ``std_msgs.msg.Header``.

    What ``rosidl_runtime_py.utilities.get_message`` does, without that package (it has no wheel on
    PyPI and the generated ``<pkg>.msg`` modules are all that is needed)."""
    parts = type_name.split("/")
    if len(parts) == 2:
        parts = [parts[0], "msg", parts[1]]
    if len(parts) != 3 or parts[1] != "msg" or not all(parts):
        raise ConfigError(f"message type {type_name!r}: expected pkg/msg/Name")
    package, _, name = parts
    try:
        module = importlib.import_module(f"{package}.msg")
    except ImportError:
        raise ConfigError(f"message type {type_name}: no Python package {package} (is it built?)") from None
    cls = getattr(module, name, None)
    if not isinstance(cls, type):
        raise ConfigError(f"message type {type_name}: {package}.msg has no {name}")
    return cls


def to_rclpy_qos(profile: QosProfile) -> QoSProfile:
    """An rclpy ``QoSProfile`` for a profile."""
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=profile.depth,
        reliability=ReliabilityPolicy.RELIABLE
        if profile.reliability == "reliable"
        else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL
        if profile.durability == "transient_local"
        else DurabilityPolicy.VOLATILE,
    )


_RETURNS = {
    Outcome.SUCCESS: TransitionCallbackReturn.SUCCESS,
    Outcome.FAILURE: TransitionCallbackReturn.FAILURE,
    Outcome.ERROR: TransitionCallbackReturn.ERROR,
}


class ManagedRclpyNode(LifecycleNode):
    """An ``rclpy.lifecycle.LifecycleNode`` (rcl runs the state machine and its services) whose
    transition callbacks run the node logic's and keep :attr:`dvfo_state` for callback gating."""

    def __init__(self, name: str, namespace: str | None, cli_args: list[str] | None = None) -> None:
        super().__init__(name, namespace=namespace, cli_args=cli_args)
        self.dvfo_logic: Any = None  # dvfo_ prefix: no clash with rclpy's own attributes
        self.dvfo_state = UNCONFIGURED

    def _run(self, label: str, callback: str, previous: LifecycleState) -> TransitionCallbackReturn:
        outcome = run_callback(self.dvfo_logic, callback, self.get_logger())
        if outcome is not Outcome.ERROR:  # on ERROR rcl calls on_error next, which sets the state
            t = find_transition(previous.label, label)
            self.dvfo_state = t.on_success if outcome is Outcome.SUCCESS else t.on_failure
        # the same line as the DDS adapter's LifecycleMachine logs
        self.get_logger().info(f"lifecycle: {label} ({outcome.value}): {previous.label} -> {self.dvfo_state}")
        return _RETURNS[outcome]

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._run("configure", "on_configure", state)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._run("activate", "on_activate", state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._run("deactivate", "on_deactivate", state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._run("cleanup", "on_cleanup", state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._run("shutdown", "on_shutdown", state)

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        outcome = run_callback(self.dvfo_logic, "on_error", self.get_logger())
        self.dvfo_state = UNCONFIGURED if outcome is Outcome.SUCCESS else FINALIZED
        return _RETURNS[outcome]


class RosNode(Node):
    """A node on rclpy; ``managed=True`` makes it a lifecycle node (see :meth:`manage`)."""

    runtime = "rclpy"
    _alive: ClassVar[set[int]] = set()  # ids of the RosNodes of this process not destroyed yet

    def __init__(
        self, name: str, namespace: str = "", args: Sequence[str] | None = None, managed: bool = False
    ) -> None:
        init_rclpy(args)
        node_class = ManagedRclpyNode if managed else RclpyNode
        # the arguments also go to the node itself: rclpy.init reads them only in the first node of
        # a process, and a second node (a test, a container) has its own parameters
        self._node = node_class(name, namespace=namespace or None, cli_args=list(args) if args else None)
        self._specs: dict[str, ParamSpec] = {}
        self._values: dict[str, ParamValue] = {}
        self._callbacks: list[Callable[[str, ParamValue], None]] = []
        self._matches: dict[int, SettledCount] = {}  # by id of the publisher / subscription
        self._node.add_on_set_parameters_callback(self._on_set)
        RosNode._alive.add(id(self))

    @property
    def name(self) -> str:
        return self._node.get_name()

    @property
    def logger(self) -> Any:
        return self._node.get_logger()

    @property
    def rclpy_node(self) -> RclpyNode:
        """The wrapped ``rclpy.node.Node`` (a ``LifecycleNode`` when managed)."""
        return self._node

    def msg(self, type_name: str) -> type:
        return get_message(type_name)

    def publisher(self, type_name: str, topic: str, qos: str | QosProfile = "default") -> Any:
        return self._node.create_publisher(get_message(type_name), topic, to_rclpy_qos(parse_qos(qos)))

    def subscribe(
        self,
        type_name: str,
        topic: str,
        callback: Callable[[Any], None],
        qos: str | QosProfile = "default",
    ) -> Any:
        return self._node.create_subscription(
            get_message(type_name), topic, self.gated(callback), to_rclpy_qos(parse_qos(qos))
        )

    def subscriber_count(self, publisher: Any) -> int:
        return self._settled(publisher, publisher.get_subscription_count())

    def publisher_count(self, subscription: Any) -> int:
        return self._settled(subscription, subscription.get_publisher_count())

    def _settled(self, endpoint: Any, raw: int) -> int:
        """``raw`` matches of ``endpoint`` counted once they have held for MATCH_SETTLE_S: on Fast
        DDS a match with a Cyclone endpoint is one-sided for a while (a Cyclone reader drops what
        is written meanwhile; a Cyclone writer does not send to a reader it has not matched yet),
        :mod:`dvfo_core.runtime.matching`. On rmw_cyclonedds_cpp matches count at once."""
        if id(endpoint) not in self._matches:
            cyclone = rclpy.get_rmw_implementation_identifier() == "rmw_cyclonedds_cpp"
            self._matches[id(endpoint)] = SettledCount(0.0 if cyclone else MATCH_SETTLE_S)
        return self._matches[id(endpoint)].update(raw, time.monotonic())

    def timer(self, period_s: float, callback: Callable[[], None], managed: bool = True) -> Any:
        return self._node.create_timer(period_s, self.gated(callback) if managed else callback)

    def declare(self, spec: ParamSpec) -> ParamValue:
        descriptor = ParameterDescriptor(
            description=spec.description, additional_constraints=spec.constraints, read_only=spec.read_only
        )
        param = self._node.declare_parameter(spec.name, spec.default, descriptor)
        value = spec.validate(param.value, self.name)
        self._specs[spec.name] = spec
        self._values[spec.name] = value
        return value

    def undeclared_parameters(self) -> list[str]:
        # rclpy keeps the overrides rcl parsed for this node (file and -p) beside its parameters
        return sorted(set(self._node._parameter_overrides) - set(self._node._parameters))

    def param(self, name: str) -> ParamValue:
        if name not in self._values:
            raise ParameterError(f"parameter {self.name}.{name} is not declared")
        return self._values[name]

    def set_param(self, name: str, value: ParamValue) -> None:
        result = self._node.set_parameters([Parameter(name, value=value)])[0]
        if not result.successful:
            raise ParameterError(result.reason)

    def on_param_change(self, callback: Callable[[str, ParamValue], None]) -> None:
        self._callbacks.append(callback)

    def _on_set(self, params: list[Parameter]) -> SetParametersResult:
        accepted: dict[str, ParamValue] = {}
        try:
            for p in params:
                spec = self._specs.get(p.name)
                if spec is None:  # declared outside the port (e.g. use_sim_time): rclpy's own rules
                    continue
                accepted[p.name] = spec.validate(p.value, self.name)
            for name, value in accepted.items():
                self._values[name] = value
                for callback in self._callbacks:
                    callback(name, value)
        except Exception as exc:  # a rejected value is an answer to the caller, not a crash
            return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    @property
    def lifecycle_state(self) -> str:
        return self._node.dvfo_state if isinstance(self._node, ManagedRclpyNode) else ACTIVE

    def manage(self, logic: Any) -> None:
        if not isinstance(self._node, ManagedRclpyNode):
            raise ConfigError(f"node {self.name} was not created as a managed node")
        self._node.dvfo_logic = logic

    def change_state(self, label: str) -> bool:
        if not isinstance(self._node, ManagedRclpyNode):
            raise ConfigError(f"node {self.name} is not a managed node")
        triggers = {
            "configure": self._node.trigger_configure,
            "activate": self._node.trigger_activate,
            "deactivate": self._node.trigger_deactivate,
            "cleanup": self._node.trigger_cleanup,
            "shutdown": self._node.trigger_shutdown,
        }
        if label not in triggers:
            raise ConfigError(f"unknown lifecycle transition {label!r} ({', '.join(triggers)})")
        return triggers[label]() == TransitionCallbackReturn.SUCCESS

    def now_ns(self) -> int:
        return self._node.get_clock().now().nanoseconds

    def to_cdr(self, msg: Any) -> bytes:
        from rclpy.serialization import serialize_message

        return serialize_message(msg)

    def from_cdr(self, type_name: str, data: bytes) -> Any:
        from rclpy.serialization import deserialize_message

        try:
            return deserialize_message(data, get_message(type_name))
        except Exception as exc:  # rclpy raises RuntimeError or its own _rclpy errors
            raise MessageDefinitionError(f"malformed {type_name} bytes: {exc}") from None

    def destroy(self) -> None:
        """Destroy the rclpy node; the last one alive in the process shuts rclpy down."""
        self._node.destroy_node()
        RosNode._alive.discard(id(self))
        if not RosNode._alive:
            shutdown_rclpy()


def spin(
    nodes: Sequence[RosNode], duration_s: float | None = None, until: Callable[[], bool] | None = None
) -> None:
    """Spin ``nodes`` on one executor until shutdown, ``until()`` (checked between callbacks) or
    ``duration_s``."""
    executor = SingleThreadedExecutor()
    for node in nodes:
        executor.add_node(node.rclpy_node)
    clock_end = None if duration_s is None else time.monotonic() + duration_s
    try:
        while rclpy.ok() and not (until is not None and until()):
            executor.spin_once(timeout_sec=0.1)
            if clock_end is not None and time.monotonic() >= clock_end:
                break
    except ExternalShutdownException:
        pass  # someone shut rclpy down: the caller still shuts the nodes down
    finally:
        executor.shutdown()
