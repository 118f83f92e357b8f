"""The narrow port that DVFO nodes are written against.

A node's logic takes a :class:`Node` and uses only what is here: publishers, subscriptions,
timers, declared parameters with change callbacks, a logger, a clock and the managed-node
lifecycle (:mod:`dvfo_core.runtime.lifecycle`). Two adapters implement
it: :mod:`dvfo_core.runtime.dds` (Cyclone DDS, ROS 2 wire conventions, no ROS needed) and
:mod:`dvfo_core.runtime.ros` (rclpy on a robot). Message types are named by their ROS 2 type
string (``dvfo_msgs/msg/FeatureMap``) and their classes come from :meth:`Node.msg`.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Protocol

from dvfo_core.runtime.lifecycle import ACTIVE
from dvfo_core.runtime.params import ParamSpec, ParamValue
from dvfo_core.runtime.qos import QosProfile


class Publisher(Protocol):
    """Publishes messages of one type on one topic."""

    def publish(self, msg: Any) -> None:
        """Send ``msg``."""


class Node(ABC):
    """A ROS 2-like node: the only middleware surface node logic may touch."""

    #: ``"dds"`` or ``"rclpy"``
    runtime: str = ""

    @property
    @abstractmethod
    def name(self) -> str:
        """The node's name (without namespace)."""

    @property
    @abstractmethod
    def logger(self) -> logging.Logger | Any:
        """A logger with ``debug/info/warning/error`` (rclpy's or :mod:`logging`'s)."""

    @abstractmethod
    def msg(self, type_name: str) -> type:
        """The message class of ROS 2 type ``type_name`` for this runtime."""

    @abstractmethod
    def publisher(self, type_name: str, topic: str, qos: str | QosProfile = "default") -> Publisher:
        """A publisher of ``type_name`` on ``topic`` (relative names resolve in the namespace)."""

    @abstractmethod
    def subscribe(
        self,
        type_name: str,
        topic: str,
        callback: Callable[[Any], None],
        qos: str | QosProfile = "default",
    ) -> Any:
        """Call ``callback(msg)`` for each message on ``topic`` (while the node is active)."""

    @abstractmethod
    def subscriber_count(self, publisher: Any) -> int:
        """How many subscriptions will receive what ``publisher`` publishes now: matched ones, a
        match with a reader of another DDS vendor only once it has settled
        (:mod:`dvfo_core.runtime.matching`)."""

    @abstractmethod
    def publisher_count(self, subscription: Any) -> int:
        """How many publishers ``subscription`` will receive from now (matched, and settled as in
        :meth:`subscriber_count`)."""

    @abstractmethod
    def timer(self, period_s: float, callback: Callable[[], None], managed: bool = True) -> Any:
        """Call ``callback()`` every ``period_s`` seconds while the node spins (and, when
        ``managed``, is active; ``/diagnostics`` report in every state)."""

    @abstractmethod
    def declare(self, spec: ParamSpec) -> ParamValue:
        """Declare a parameter; returns its value (from the parameter file or the default)."""

    def declare_all(self, specs: list[ParamSpec]) -> dict[str, ParamValue]:
        """Declare several parameters; returns ``{name: value}``."""
        return {spec.name: self.declare(spec) for spec in specs}

    @abstractmethod
    def undeclared_parameters(self) -> list[str]:
        """Parameters given to this node (file or command line) that it never declared: ignored,
        and most likely a typo or a line under the wrong node."""

    @abstractmethod
    def param(self, name: str) -> ParamValue:
        """The current value of a declared parameter."""

    @abstractmethod
    def set_param(self, name: str, value: ParamValue) -> None:
        """Set a declared parameter (validated; raises :class:`ParameterError` when rejected)."""

    @abstractmethod
    def on_param_change(self, callback: Callable[[str, ParamValue], None]) -> None:
        """Call ``callback(name, value)`` after each accepted parameter change."""

    @property
    def lifecycle_state(self) -> str:
        """``unconfigured``, ``inactive``, ``active`` or ``finalized``; a node that is not managed
        (a monitor, a recorder) is always ``active``."""
        return ACTIVE

    def gated(self, callback: Callable[..., None]) -> Callable[..., None]:
        """``callback`` wrapped to run only while the node is active (what subscriptions get)."""

        def run(*args: Any) -> None:
            if self.lifecycle_state == ACTIVE:
                callback(*args)

        return run

    @abstractmethod
    def manage(self, logic: Any) -> None:
        """Make this a managed (lifecycle) node whose transitions call ``logic``'s ``on_configure``,
        ``on_activate``... (see :class:`~dvfo_core.runtime.lifecycle.ManagedLogic`). It is then
        ``unconfigured`` until :meth:`change_state` or ``ros2 lifecycle set`` moves it."""

    @abstractmethod
    def change_state(self, label: str) -> bool:
        """Trigger transition ``label`` (``configure``, ``activate``, ``deactivate``, ``cleanup``,
        ``shutdown``) from the current state; True when it succeeded."""

    @abstractmethod
    def now_ns(self) -> int:
        """The node clock, nanoseconds since the epoch (ROS time)."""

    def stamp(self, ns: int | None = None) -> Any:
        """A ``builtin_interfaces/Time`` for ``ns`` (default: now)."""
        ns = self.now_ns() if ns is None else ns
        return self.msg("builtin_interfaces/msg/Time")(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)

    @abstractmethod
    def to_cdr(self, msg: Any) -> bytes:
        """``msg`` as the CDR bytes a ROS 2 subscriber receives (encapsulation header included):
        what carries a message over another link (:mod:`dvfo_core.link`)."""

    @abstractmethod
    def from_cdr(self, type_name: str, data: bytes) -> Any:
        """The message of ROS 2 type ``type_name`` in CDR bytes ``data`` (raises on malformed bytes)."""

    @abstractmethod
    def destroy(self) -> None:
        """Release the node's entities."""


def stamp_to_ns(stamp: Any) -> int:
    """Nanoseconds of a ``builtin_interfaces/Time``."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)
