"""``/diagnostics`` for every node: periodic ``diagnostic_msgs/DiagnosticArray`` from status checks.

They are published in every lifecycle state; the checks run only while the node is active (they
read what ``on_configure`` built), otherwise each reports WARN with the state it is in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dvfo_core.runtime.lifecycle import ACTIVE
from dvfo_core.runtime.port import Node

OK, WARN, ERROR, STALE = "OK", "WARN", "ERROR", "STALE"


@dataclass
class Status:
    """One check's result: a level name, a message and key/value details."""

    level: str = OK
    message: str = "ok"
    values: dict[str, Any] = field(default_factory=dict)


class Diagnostics:
    """Publishes the node's status checks on ``/diagnostics`` every ``period_s`` seconds."""

    def __init__(self, node: Node, hardware_id: str = "", period_s: float = 1.0) -> None:
        self.node = node
        self.hardware_id = hardware_id
        self._checks: list[tuple[str, Callable[[], Status]]] = []
        self._pub = node.publisher("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", "default")
        self._array = node.msg("diagnostic_msgs/msg/DiagnosticArray")
        self._status = node.msg("diagnostic_msgs/msg/DiagnosticStatus")
        self._kv = node.msg("diagnostic_msgs/msg/KeyValue")
        node.timer(period_s, self.publish, managed=False)

    def add(self, name: str, check: Callable[[], Status]) -> None:
        """Add a check; ``name`` shows as ``<node>: <name>`` in ``rqt_robot_monitor``."""
        self._checks.append((name, check))

    def publish(self) -> None:
        """Run the checks and publish one ``DiagnosticArray`` now."""
        statuses = []
        state = self.node.lifecycle_state
        for name, check in self._checks:
            if state != ACTIVE:
                result = Status(WARN, f"{state}: not processing", {})
            else:
                try:
                    result = check()
                except Exception as exc:  # a failing check is itself a diagnostic
                    result = Status(ERROR, f"check failed: {exc}")
            result.values.setdefault("lifecycle_state", state)
            statuses.append(self._status_msg(name, result))
        self._publish(statuses)

    def report(self, name: str, status: Status) -> None:
        """Publish one event now, outside the periodic checks: a ``DiagnosticArray`` holding
        only ``status`` under ``<node>: <name>`` (e.g. the first frame of a bad encoding)."""
        self._publish([self._status_msg(name, status)])

    def _status_msg(self, name: str, result: Status) -> Any:
        st = self._status()
        st.level = getattr(self._status, result.level)
        st.name = f"{self.node.name}: {name}"
        st.message = result.message
        st.hardware_id = self.hardware_id
        st.values = [self._kv(key=str(k), value=str(v)) for k, v in result.values.items()]
        return st

    def _publish(self, statuses: list[Any]) -> None:
        msg = self._array()
        msg.header.stamp = self.node.stamp()
        msg.status = statuses
        self._pub.publish(msg)
