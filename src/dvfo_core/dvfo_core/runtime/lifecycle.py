"""The ROS 2 managed-node state machine, free of middleware.

States and transitions are those of design.ros2.org/articles/node_lifecycle.html (what
``rcl_lifecycle`` implements), with the ids of ``lifecycle_msgs/State`` and ``Transition`` read from
their message definitions. Node logic takes part by having any of the methods of
:class:`ManagedLogic`; a method that returns normally succeeds, one that raises
:class:`~dvfo_core.errors.DvfoError` fails (the node stays where it was, as ``FAILURE`` in
rclcpp/rclpy), any other exception is an error (``ERROR``: error processing, then ``unconfigured``
when :meth:`ManagedLogic.on_error` succeeds, ``finalized`` otherwise).

The DDS adapter runs this machine itself (:class:`LifecycleMachine`); under rclpy,
``rclpy.lifecycle.LifecycleNode`` runs rcl's and calls the same logic through :func:`run_callback`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any, Protocol

from dvfo_core.errors import ConfigError, DvfoError

UNCONFIGURED, INACTIVE, ACTIVE, FINALIZED = "unconfigured", "inactive", "active", "finalized"


class Outcome(Enum):
    """What a transition callback returned (``TransitionCallbackReturn``)."""

    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"


class ManagedLogic(Protocol):
    """Node logic with lifecycle callbacks; each one is optional."""

    def on_configure(self) -> None:
        """Load models, open devices: everything the node needs before it can run."""

    def on_activate(self) -> None:
        """Start working (callbacks of managed subscriptions and timers run from now on)."""

    def on_deactivate(self) -> None:
        """Stop working and give back what was taken (clocks, pending frames)."""

    def on_cleanup(self) -> None:
        """Release what :meth:`on_configure` loaded."""

    def on_shutdown(self) -> None:
        """Final release, from any primary state."""

    def on_error(self) -> None:
        """Recover after a callback raised an unexpected exception."""


@dataclass(frozen=True)
class Transition:
    """One transition of the default state machine."""

    label: str  #: ``configure``, ``cleanup``, ``activate``, ``deactivate``, ``shutdown``
    id: int  #: ``lifecycle_msgs/Transition`` id
    start: str  #: primary state it leaves
    via: str  #: transition state while the callback runs (``configuring``, ...)
    on_success: str
    on_failure: str

    @property
    def callback(self) -> str:
        """Name of the :class:`ManagedLogic` method it runs."""
        return f"on_{self.label}"


@cache
def message_constants(type_name: str) -> dict[str, int]:
    """Constants of a standard ROS 2 message (``lifecycle_msgs/msg/State`` ...) from its definition."""
    from rosbags.typesys import Stores, get_typestore  # ~0.1 s: not at import (`dvfo --help`)

    consts, _fields = get_typestore(Stores.ROS2_HUMBLE).fielddefs[type_name]
    return {name: int(value) for name, _kind, value in consts}


def state_id(label: str) -> int:
    """``lifecycle_msgs/State`` id of a primary or transition state label."""
    consts = message_constants("lifecycle_msgs/msg/State")
    for prefix in ("PRIMARY_STATE_", "TRANSITION_STATE_"):
        if prefix + label.upper() in consts:
            return consts[prefix + label.upper()]
    raise ConfigError(f"unknown lifecycle state {label!r}")


#: Labels of :func:`transitions` without reading message definitions (for ``dvfo lifecycle``'s
#: parser: ``dvfo --help`` must stay fast); a test keeps the two equal.
TRANSITION_LABELS = ("activate", "cleanup", "configure", "deactivate", "shutdown")


@cache
def transitions() -> tuple[Transition, ...]:
    """The externally triggerable transitions, as ``rcl_lifecycle``'s default state machine has them."""
    ids = message_constants("lifecycle_msgs/msg/Transition")
    return (
        Transition(
            "configure", ids["TRANSITION_CONFIGURE"], UNCONFIGURED, "configuring", INACTIVE, UNCONFIGURED
        ),
        Transition("cleanup", ids["TRANSITION_CLEANUP"], INACTIVE, "cleaningup", UNCONFIGURED, INACTIVE),
        Transition("activate", ids["TRANSITION_ACTIVATE"], INACTIVE, "activating", ACTIVE, INACTIVE),
        Transition("deactivate", ids["TRANSITION_DEACTIVATE"], ACTIVE, "deactivating", INACTIVE, ACTIVE),
        Transition(
            "shutdown",
            ids["TRANSITION_UNCONFIGURED_SHUTDOWN"],
            UNCONFIGURED,
            "shuttingdown",
            FINALIZED,
            FINALIZED,
        ),
        Transition(
            "shutdown", ids["TRANSITION_INACTIVE_SHUTDOWN"], INACTIVE, "shuttingdown", FINALIZED, FINALIZED
        ),
        Transition(
            "shutdown", ids["TRANSITION_ACTIVE_SHUTDOWN"], ACTIVE, "shuttingdown", FINALIZED, FINALIZED
        ),
    )


def available_transitions(state: str) -> list[Transition]:
    """Transitions that can start from primary state ``state``."""
    return [t for t in transitions() if t.start == state]


def find_transition(state: str, label: str = "", transition_id: int = 0) -> Transition:
    """The transition from ``state`` named by ``label`` (preferred, as rclpy does) or by id."""
    for t in available_transitions(state):
        if (label and t.label == label) or (not label and t.id == transition_id):
            return t
    names = ", ".join(t.label for t in available_transitions(state)) or "none"
    what = repr(label) if label else f"id {transition_id}"
    raise ConfigError(f"transition {what} is not available from {state!r} (available: {names})")


def run_callback(logic: Any, name: str, logger: Any) -> Outcome:
    """Call ``logic.<name>()`` if it has it; map its return or exception to an :class:`Outcome`."""
    method: Callable[[], None] | None = getattr(logic, name, None)
    if method is None:
        return Outcome.SUCCESS
    try:
        method()
    except DvfoError as exc:
        logger.error(f"{name} failed: {exc}")
        return Outcome.FAILURE
    except Exception as exc:  # an unexpected error: error processing decides where the node goes
        logger.error(f"{name} raised {type(exc).__name__}: {exc}")
        return Outcome.ERROR
    return Outcome.SUCCESS


@dataclass(frozen=True)
class TransitionRecord:
    """One completed transition (what ``~/transition_event`` carries)."""

    transition: Transition
    start: str
    goal: str
    outcome: Outcome


class LifecycleMachine:
    """Drives a :class:`ManagedLogic` through the lifecycle; starts ``unconfigured``.

    ``on_transition`` is called with each :class:`TransitionRecord` (the DDS adapter publishes them).
    """

    def __init__(
        self,
        logic: Any,
        logger: Any = None,
        on_transition: Callable[[TransitionRecord], None] | None = None,
    ) -> None:
        self.logic = logic
        self.logger = logger or logging.getLogger("dvfo.lifecycle")
        self.on_transition = on_transition
        self.state = UNCONFIGURED

    def trigger(self, label: str = "", transition_id: int = 0) -> Outcome:
        """Run one transition (raises :class:`ConfigError` when it is not available now)."""
        t = find_transition(self.state, label, transition_id)
        start = self.state
        outcome = run_callback(self.logic, t.callback, self.logger)
        if outcome is Outcome.SUCCESS:
            self.state = t.on_success
        elif outcome is Outcome.FAILURE:
            self.state = t.on_failure
        else:
            recovered = run_callback(self.logic, "on_error", self.logger) is Outcome.SUCCESS
            self.state = UNCONFIGURED if recovered else FINALIZED
        self.logger.info(f"lifecycle: {t.label} ({outcome.value}): {start} -> {self.state}")
        if self.on_transition is not None:
            self.on_transition(TransitionRecord(t, start, self.state, outcome))
        return outcome

    def shutdown(self) -> None:
        """Shut down from whatever primary state the node is in (no-op once finalized)."""
        if self.state != FINALIZED:
            self.trigger("shutdown")
