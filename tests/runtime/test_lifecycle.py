"""The managed-node state machine: ROS 2's states, transitions, failures and error processing."""

from __future__ import annotations

import pytest

from dvfo_core.errors import ConfigError
from dvfo_core.runtime.lifecycle import (
    LifecycleMachine,
    Outcome,
    TransitionRecord,
    available_transitions,
    state_id,
    transitions,
)


class Logic:
    """Records every callback; ``fail`` / ``crash`` name callbacks that fail or raise."""

    def __init__(self, fail: str = "", crash: str = "", error_recovers: bool = True) -> None:
        self.calls: list[str] = []
        self.fail, self.crash, self.error_recovers = fail, crash, error_recovers

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name == self.fail:
            raise ConfigError(f"{name}: no such model")
        if name == self.crash:
            raise RuntimeError(f"{name}: out of memory")

    def on_configure(self) -> None:
        self._call("on_configure")

    def on_activate(self) -> None:
        self._call("on_activate")

    def on_deactivate(self) -> None:
        self._call("on_deactivate")

    def on_cleanup(self) -> None:
        self._call("on_cleanup")

    def on_shutdown(self) -> None:
        self._call("on_shutdown")

    def on_error(self) -> None:
        self.calls.append("on_error")
        if not self.error_recovers:
            raise RuntimeError("cannot recover")


def test_ids_and_labels_are_those_of_lifecycle_msgs() -> None:
    assert [state_id(s) for s in ("unconfigured", "inactive", "active", "finalized")] == [1, 2, 3, 4]
    assert state_id("configuring") == 10 and state_id("errorprocessing") == 15
    by_label = {(t.label, t.start): t.id for t in transitions()}
    assert by_label == {
        ("configure", "unconfigured"): 1,
        ("cleanup", "inactive"): 2,
        ("activate", "inactive"): 3,
        ("deactivate", "active"): 4,
        ("shutdown", "unconfigured"): 5,
        ("shutdown", "inactive"): 6,
        ("shutdown", "active"): 7,
    }
    assert [t.label for t in available_transitions("inactive")] == ["cleanup", "activate", "shutdown"]
    assert available_transitions("finalized") == []


def test_full_cycle_calls_each_callback_once_in_order() -> None:
    logic = Logic()
    records: list[TransitionRecord] = []
    machine = LifecycleMachine(logic, on_transition=records.append)
    assert machine.state == "unconfigured"
    states = []
    for label in ("configure", "activate", "deactivate", "cleanup", "configure", "activate", "shutdown"):
        assert machine.trigger(label) is Outcome.SUCCESS
        states.append(machine.state)
    assert states == ["inactive", "active", "inactive", "unconfigured", "inactive", "active", "finalized"]
    assert logic.calls == [
        "on_configure",
        "on_activate",
        "on_deactivate",
        "on_cleanup",
        "on_configure",
        "on_activate",
        "on_shutdown",
    ]
    assert [(r.start, r.goal, r.transition.id) for r in records[-2:]] == [
        ("inactive", "active", 3),
        ("active", "finalized", 7),
    ]


def test_transition_by_id_when_no_label() -> None:
    machine = LifecycleMachine(Logic())
    assert machine.trigger(transition_id=1) is Outcome.SUCCESS and machine.state == "inactive"


def test_unavailable_transition_is_refused_and_changes_nothing() -> None:
    logic = Logic()
    machine = LifecycleMachine(logic)
    with pytest.raises(
        ConfigError,
        match=r"'activate' is not available from 'unconfigured' \(available: configure, shutdown\)",
    ):
        machine.trigger("activate")
    assert machine.state == "unconfigured" and logic.calls == []


def test_a_failing_callback_leaves_the_node_where_it_was() -> None:
    machine = LifecycleMachine(Logic(fail="on_configure"))
    assert machine.trigger("configure") is Outcome.FAILURE and machine.state == "unconfigured"
    machine = LifecycleMachine(Logic(fail="on_activate"))
    machine.trigger("configure")
    assert machine.trigger("activate") is Outcome.FAILURE and machine.state == "inactive"
    machine = LifecycleMachine(Logic(fail="on_deactivate"))
    machine.trigger("configure"), machine.trigger("activate")
    assert machine.trigger("deactivate") is Outcome.FAILURE and machine.state == "active"


def test_an_unexpected_exception_goes_through_error_processing() -> None:
    logic = Logic(crash="on_activate")
    machine = LifecycleMachine(logic)
    machine.trigger("configure")
    assert machine.trigger("activate") is Outcome.ERROR
    assert machine.state == "unconfigured" and logic.calls[-2:] == ["on_activate", "on_error"]
    logic = Logic(crash="on_configure", error_recovers=False)
    machine = LifecycleMachine(logic)
    assert machine.trigger("configure") is Outcome.ERROR and machine.state == "finalized"


def test_logic_without_callbacks_just_moves() -> None:
    machine = LifecycleMachine(object())
    for label in ("configure", "activate", "deactivate", "shutdown"):
        assert machine.trigger(label) is Outcome.SUCCESS
    assert machine.state == "finalized"
    machine.shutdown()  # idempotent once finalized
