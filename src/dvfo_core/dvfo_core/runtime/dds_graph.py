"""The DDS adapter's nodes in the ROS 2 graph: ``ros_discovery_info``.

ROS 2 finds nodes through one topic per domain, DDS topic ``ros_discovery_info`` (no ``rt/``
prefix) of type ``rmw_dds_common/msg/ParticipantEntitiesInfo``: each participant publishes its own
GUID and, per node, the node's namespace, name and the GUIDs of its readers and writers (reliable,
transient local, keep last 1, so late joiners get the latest). A node absent from it is "not found"
to ``ros2 node list``, ``ros2 param`` and ``ros2 lifecycle``, and rclpy's
``get_node_names_and_namespaces()`` does not list it. A GUID is 16 bytes: the 12-byte prefix of the
participant and the 4-byte entity id, what Cyclone's ``Entity.guid`` gives; Humble's ``Gid`` holds
24 bytes, the GUID then zeros, as Humble's RMWs fill it (the layout follows ``ROS_DISTRO``,
:func:`dvfo_core.runtime.msgs.graph_store`).

One :class:`GraphAnnouncer` per participant (process and domain) publishes the state of every
DDS-adapter node of the process; nodes call :meth:`GraphAnnouncer.update` whenever they create or
destroy an endpoint.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from cyclonedds._clayer import ddspy_write
from cyclonedds.core import DDSException, Policy, Qos
from cyclonedds.domain import DomainParticipant
from cyclonedds.pub import DataWriter

#: DDS topic of the ROS 2 graph (not under ``rt/``: it is not a ROS topic).
DISCOVERY_TOPIC = "ros_discovery_info"
PARTICIPANT_INFO = "rmw_dds_common/msg/ParticipantEntitiesInfo"

_lock = threading.Lock()
_announcers: dict[int, GraphAnnouncer] = {}


def gid(entity: Any) -> Any:
    """``rmw_dds_common/msg/Gid`` of a Cyclone entity: its 16-byte GUID, zero-padded to the
    layout's size (24 bytes in Humble's)."""
    from dvfo_core.runtime.msgs import message_class, typestore

    _consts, ((_name, (_array, (_char, size))),) = typestore().fielddefs["rmw_dds_common/msg/Gid"]
    guid = entity.guid.bytes
    return message_class("rmw_dds_common/msg/Gid")(data=list(guid) + [0] * (size - len(guid)))


class GraphAnnouncer:
    """Publishes ``ros_discovery_info`` for the DDS-adapter nodes of one participant."""

    def __init__(self, dp: DomainParticipant) -> None:
        from dvfo_core.runtime.dds import dds_topic

        self.dp = dp
        self._nodes: dict[int, tuple[str, str, list[Any], list[Any]]] = {}
        topic, self.cls = dds_topic(dp, PARTICIPANT_INFO, DISCOVERY_TOPIC)
        qos = Qos(
            Policy.Reliability.Reliable(max_blocking_time=0),
            Policy.Durability.TransientLocal,
            Policy.History.KeepLast(1),
            Policy.DataRepresentation(use_cdrv0_representation=True),
        )
        self.writer = DataWriter(dp, topic, qos=qos)

    def update(
        self,
        node_key: int,
        namespace: str,
        name: str,
        readers: Iterable[Any] = (),
        writers: Iterable[Any] = (),
    ) -> None:
        """Record a node's endpoints (Cyclone readers and writers) and publish the new state."""
        self._nodes[node_key] = (namespace or "/", name, list(readers), list(writers))
        self.publish()

    def remove(self, node_key: int) -> None:
        """Forget a destroyed node and publish the new state."""
        if self._nodes.pop(node_key, None) is not None:
            self.publish()

    def message(self) -> Any:
        """The ``ParticipantEntitiesInfo`` of this participant now."""
        from dvfo_core.runtime.msgs import message_class

        node_info = message_class("rmw_dds_common/msg/NodeEntitiesInfo")
        info = self.cls(gid=gid(self.dp))
        info.node_entities_info_seq = [
            node_info(
                node_namespace=ns,
                node_name=name,
                reader_gid_seq=[gid(r) for r in readers],
                writer_gid_seq=[gid(w) for w in writers],
            )
            for ns, name, readers, writers in self._nodes.values()
        ]
        return info

    def publish(self) -> None:
        """Write the current state (transient local: late joiners get it too)."""
        ser = self.message().serialize(use_version_2=False)  # plain XCDR1, as every adapter sample
        ser += b"\0" * (-len(ser) % 4)
        ret = ddspy_write(self.writer._ref, ser)
        if ret < 0:
            raise DDSException(ret, f"writing on {DISCOVERY_TOPIC}")


def announcer(dp: DomainParticipant) -> GraphAnnouncer:
    """The participant's :class:`GraphAnnouncer` (created on first use)."""
    with _lock:
        if id(dp) not in _announcers:
            _announcers[id(dp)] = GraphAnnouncer(dp)
        return _announcers[id(dp)]
