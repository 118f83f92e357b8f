"""ROS 2 services over the DDS adapter, on the wire ``rmw_cyclonedds_cpp`` uses.

Service ``<node>/<name>`` of type ``pkg/srv/Name`` is a request topic ``rq/<node>/<name>Request``
and a reply topic ``rr/<node>/<name>Reply``; every request starts with the client's GUID (8 bytes)
and a sequence number, which the reply echoes. The wrapper types come from the ``.srv`` files
under ``runtime/srv/<package>/`` (:func:`dvfo_core.runtime.msgs.service_definitions`).
:class:`ServiceServer` answers on a :class:`~dvfo_core.runtime.dds.DdsNode` (its executor runs
the handler); :class:`ServiceClient` calls, blocking, from anywhere (the ``dvfo`` CLI).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader, InvalidSample

from dvfo_core.errors import ConfigError
from dvfo_core.runtime.dds import DdsNode, DdsSubscription, dds_topic, participant, to_dds_qos
from dvfo_core.runtime.msgs import message_class
from dvfo_core.runtime.qos import PRESETS

_QOS = to_dds_qos(PRESETS["reliable"])  # rmw_qos_profile_services_default: reliable, keep last 10


def node_fqn(node: str, namespace: str = "") -> str:
    """``ns/node`` without a leading slash (how rmw spells a node in service topic names)."""
    ns = namespace.strip("/")
    return f"{ns}/{node.strip('/')}" if ns else node.strip("/")


def split_node_path(path: str) -> tuple[str, str]:
    """``/robot1/governor`` -> ``("robot1", "governor")``; ``governor`` -> ``("", "governor")``."""
    namespace, _, node = path.strip().strip("/").rpartition("/")
    if not node:
        raise ConfigError(f"{path!r} is not a node name")
    return namespace, node


def service_topics(node: str, service: str, namespace: str = "") -> tuple[str, str]:
    """DDS request and reply topic names of ``service`` on ``node`` (rmw convention)."""
    base = f"{node_fqn(node, namespace)}/{service}"
    return f"rq/{base}Request", f"rr/{base}Reply"


class ServiceServer:
    """Answers one service of a DDS node: ``handler(request)`` returns the response's fields."""

    def __init__(
        self, node: DdsNode, service: str, srv_type: str, handler: Callable[[Any], dict[str, Any]]
    ) -> None:
        self.srv_type = srv_type
        self.handler = handler
        req_name, rep_name = service_topics(node.name, service, node.namespace)
        req_topic, _ = dds_topic(node.dp, f"{srv_type}_Request", req_name)
        rep_topic, _ = dds_topic(node.dp, f"{srv_type}_Response", rep_name)
        reader = DataReader(node.dp, req_topic, qos=_QOS)
        self.writer = DataWriter(node.dp, rep_topic, qos=_QOS)
        self.response_cls = message_class(f"{srv_type}_Response")
        cond = ReadCondition(reader, SampleState.Any | ViewState.Any | InstanceState.Any)
        node.subscriptions.append(DdsSubscription(req_name, reader, cond, self._answer))
        node.service_writers.append(self.writer)

    def _answer(self, request: Any) -> None:
        fields = self.handler(request)
        self.writer.write(
            self.response_cls(
                client_guid=request.client_guid, sequence_number=request.sequence_number, **fields
            )
        )


class ServiceClient:
    """Calls one service of another node and waits for the answer (what ``ros2 service call`` does)."""

    def __init__(
        self, node: str, service: str, srv_type: str, namespace: str = "", timeout_s: float = 10.0
    ) -> None:
        self.node_name = node_fqn(node, namespace)
        self.service = service
        self.timeout_s = timeout_s
        self.request_cls = message_class(f"{srv_type}_Request")
        dp = participant()
        req_name, rep_name = service_topics(node, service, namespace)
        req_topic, _ = dds_topic(dp, f"{srv_type}_Request", req_name)
        rep_topic, _ = dds_topic(dp, f"{srv_type}_Response", rep_name)
        self.writer = DataWriter(dp, req_topic, qos=_QOS)
        self.reader = DataReader(dp, rep_topic, qos=_QOS)
        self.guid = int.from_bytes(os.urandom(8), "little")
        self.seq = 0

    def call(self, **fields: Any) -> Any:
        """Send a request with ``fields``; the response (raises :class:`ConfigError` on time-out)."""
        end = time.monotonic() + self.timeout_s
        while not self.writer.get_matched_subscriptions() or not self.reader.get_matched_publications():
            if time.monotonic() > end:
                raise ConfigError(f"node {self.node_name!r} is not running (no {self.service} service)")
            time.sleep(0.05)
        self.seq += 1
        self.writer.write(self.request_cls(client_guid=self.guid, sequence_number=self.seq, **fields))
        while time.monotonic() < end:
            for reply in self.reader.take(N=16):
                if isinstance(reply, InvalidSample):
                    continue
                if reply.client_guid == self.guid and reply.sequence_number == self.seq:
                    return reply
            time.sleep(0.01)
        raise ConfigError(f"node {self.node_name!r} did not answer {self.service} in {self.timeout_s:g} s")
