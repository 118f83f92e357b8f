"""The lifecycle interface of a managed DDS node: what ``ros2 lifecycle get|set|list`` call.

Services ``<node>/change_state``, ``get_state``, ``get_available_states``,
``get_available_transitions`` and ``get_transition_graph`` (``lifecycle_msgs/srv/...``), and the
topic ``/<node>/transition_event`` (``lifecycle_msgs/msg/TransitionEvent``), as ``rcl_lifecycle``
offers them. :class:`LifecycleClient` is the calling side (``dvfo lifecycle``).
"""

from __future__ import annotations

from typing import Any

from dvfo_core.errors import ConfigError
from dvfo_core.runtime.dds import DdsNode
from dvfo_core.runtime.lifecycle import (
    LifecycleMachine,
    Outcome,
    Transition,
    TransitionRecord,
    available_transitions,
    message_constants,
    state_id,
    transitions,
)
from dvfo_core.runtime.msgs import message_class
from dvfo_core.runtime.services import ServiceClient, ServiceServer, node_fqn

SERVICES = {
    "change_state": "lifecycle_msgs/srv/ChangeState",
    "get_state": "lifecycle_msgs/srv/GetState",
    "get_available_states": "lifecycle_msgs/srv/GetAvailableStates",
    "get_available_transitions": "lifecycle_msgs/srv/GetAvailableTransitions",
    "get_transition_graph": "lifecycle_msgs/srv/GetAvailableTransitions",
}


def _state_msg(label: str) -> Any:
    return message_class("lifecycle_msgs/msg/State")(id=state_id(label), label=label)


def _description(t: Transition) -> Any:
    return message_class("lifecycle_msgs/msg/TransitionDescription")(
        transition=message_class("lifecycle_msgs/msg/Transition")(id=t.id, label=t.label),
        start_state=_state_msg(t.start),
        goal_state=_state_msg(t.via),
    )


def all_state_labels() -> list[str]:
    """Primary and transition states, in ``lifecycle_msgs/State`` id order (``unknown`` left out)."""
    consts = message_constants("lifecycle_msgs/msg/State")
    labels = [name.split("_STATE_", 1)[1].lower() for name, _ in sorted(consts.items(), key=lambda kv: kv[1])]
    return [label for label in labels if label != "unknown"]


class LifecycleServer:
    """Serves a :class:`LifecycleMachine` on a DDS node and publishes its transition events."""

    def __init__(self, node: DdsNode, machine: LifecycleMachine) -> None:
        self.node = node
        self.machine = machine
        self.events = node.publisher(
            "lifecycle_msgs/msg/TransitionEvent", f"/{node_fqn(node.name, node.namespace)}/transition_event"
        )
        machine.on_transition = self.publish_event
        handlers = {
            "change_state": self._change_state,
            "get_state": lambda _req: {"current_state": _state_msg(self.machine.state)},
            "get_available_states": lambda _req: {
                "available_states": [_state_msg(s) for s in all_state_labels()]
            },
            "get_available_transitions": lambda _req: {
                "available_transitions": [_description(t) for t in available_transitions(self.machine.state)]
            },
            "get_transition_graph": lambda _req: {
                "available_transitions": [_description(t) for t in transitions()]
            },
        }
        self.servers = [ServiceServer(node, name, SERVICES[name], handlers[name]) for name in SERVICES]

    def _change_state(self, request: Any) -> dict[str, Any]:
        try:
            outcome = self.machine.trigger(str(request.transition.label), int(request.transition.id))
        except ConfigError as exc:
            self.node.logger.warning(f"lifecycle: {exc}")
            return {"success": False}
        return {"success": outcome is Outcome.SUCCESS}

    def publish_event(self, record: TransitionRecord) -> None:
        """Publish one completed transition on ``transition_event``."""
        event = message_class("lifecycle_msgs/msg/TransitionEvent")(
            timestamp=self.node.now_ns(),
            transition=message_class("lifecycle_msgs/msg/Transition")(
                id=record.transition.id, label=record.transition.label
            ),
            start_state=_state_msg(record.start),
            goal_state=_state_msg(record.goal),
        )
        self.events.publish(event)


class LifecycleClient:
    """Reads and changes another node's lifecycle state (what ``ros2 lifecycle`` does)."""

    def __init__(self, node: str, namespace: str = "", timeout_s: float = 10.0) -> None:
        self.clients = {
            name: ServiceClient(node, name, srv, namespace, timeout_s) for name, srv in SERVICES.items()
        }

    def get(self) -> str:
        """The node's current state label."""
        return str(self.clients["get_state"].call().current_state.label)

    def available(self) -> list[str]:
        """Labels of the transitions available now."""
        reply = self.clients["get_available_transitions"].call()
        return [str(d.transition.label) for d in reply.available_transitions]

    def set(self, label: str) -> bool:
        """Trigger transition ``label``; True when the node reports success."""
        transition = message_class("lifecycle_msgs/msg/Transition")(id=0, label=label)
        return bool(self.clients["change_state"].call(transition=transition).success)
