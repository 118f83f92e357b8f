"""The Cyclone DDS adapter: DVFO nodes without ROS 2, speaking the ROS 2 wire conventions.

Topic ``/a/b`` is DDS topic ``rt/a/b``; type ``pkg/msg/Name`` is ``pkg::msg::dds_::Name_``; samples
are plain XCDR1 final structs; endpoints advertise no XTypes type information (as
``rmw_cyclonedds_cpp``), so a real ROS 2 node on the same domain talks to these nodes.
The domain comes from ``ROS_DOMAIN_ID``; discovery from ROS 2's variables (``runtime/discovery.py``);
``CYCLONEDDS_URI`` wins over both.

Nodes created with ``intra_process=True`` (several nodes in one process: ``dvfo launch
--container``) receive what is published in their own process as the message object itself, with
no serialisation and no DDS hop (rclcpp's intra-process communication); their readers ignore
same-process writers. Any publisher serialises and writes only when a DDS subscription is matched
(or its durability is ``transient_local``, which keeps samples for late joiners). Published
messages must not be changed afterwards (every node builds a new one per publish).
Intra-process delivery is volatile: a ``transient_local`` topic is not replayed to a subscription
created later in the same process.
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cyclonedds._clayer import ddspy_write
from cyclonedds.core import (
    DDSException,
    GuardCondition,
    InstanceState,
    Policy,
    Qos,
    ReadCondition,
    SampleState,
    ViewState,
    WaitSet,
)
from cyclonedds.domain import DomainParticipant
from cyclonedds.idl._support import Buffer
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader, InvalidSample
from cyclonedds.topic import Topic
from cyclonedds.util import duration

from dvfo_core.errors import ConfigError
from dvfo_core.runtime.dds_typeinfo import strip_type_information, type_information_restored
from dvfo_core.runtime.discovery import cyclone_uri
from dvfo_core.runtime.lifecycle import ACTIVE, LifecycleMachine, Outcome
from dvfo_core.runtime.matching import SettledCount
from dvfo_core.runtime.msgs import dds_topic_name, from_cdr, message_class, normalize_type_name, to_cdr
from dvfo_core.runtime.params import ParameterStore, ParamSpec, ParamValue, load_parameter_file
from dvfo_core.runtime.port import Node
from dvfo_core.runtime.qos import QosProfile, parse_qos

#: How long a node being destroyed waits, in all, for its readers to acknowledge its last messages.
FLUSH_ON_DESTROY_S = 1.0

_lock = threading.Lock()
_participants: dict[int, DomainParticipant] = {}


def domain_id() -> int:
    """The DDS domain: ``ROS_DOMAIN_ID`` (default 0), as ROS 2 does."""
    raw = os.environ.get("ROS_DOMAIN_ID", "0").strip() or "0"
    if not raw.isdigit() or int(raw) > 232:
        raise ConfigError(f"ROS_DOMAIN_ID={raw!r} is not a domain id (0..232)")
    return int(raw)


def ensure_cyclone_config() -> str:
    """Point Cyclone at the configuration ROS 2's discovery variables call for (the shipped
    loopback file by default, :func:`~dvfo_core.runtime.discovery.cyclone_uri`) unless
    ``CYCLONEDDS_URI`` is set."""
    uri = os.environ.get("CYCLONEDDS_URI")
    if not uri:
        uri = cyclone_uri()
        os.environ["CYCLONEDDS_URI"] = uri
    return uri


def participant(domain: int | None = None) -> DomainParticipant:
    """The process's participant on ``domain`` (one per process and domain, as rmw does)."""
    domain = domain_id() if domain is None else domain
    with _lock:
        if domain not in _participants:
            ensure_cyclone_config()
            _participants[domain] = DomainParticipant(domain)
        return _participants[domain]


def to_dds_qos(profile: QosProfile) -> Qos:
    """A Cyclone ``Qos`` for a profile, with the XCDR1 data representation rmw uses."""
    policies: list[Any] = [
        Policy.Reliability.Reliable(max_blocking_time=duration(milliseconds=100))
        if profile.reliability == "reliable"
        else Policy.Reliability.BestEffort,
        Policy.History.KeepLast(profile.depth),
        Policy.Durability.TransientLocal
        if profile.durability == "transient_local"
        else Policy.Durability.Volatile,
        Policy.DataRepresentation(use_cdrv0_representation=True),
    ]
    return Qos(*policies)


_topics: dict[tuple[int, str, str], Topic] = {}


@dataclass
class IntraProcessBus:
    """The intra-process subscriptions of one participant, by DDS topic name, and the guard
    condition that wakes the executor when something was queued for them."""

    guard: GuardCondition
    queues: dict[str, list[deque]] = field(default_factory=dict)


_buses: dict[int, IntraProcessBus] = {}


def intra_process_bus(dp: DomainParticipant) -> IntraProcessBus:
    """The participant's :class:`IntraProcessBus` (one per process and domain)."""
    with _lock:
        if id(dp) not in _buses:
            _buses[id(dp)] = IntraProcessBus(GuardCondition(dp))
        return _buses[id(dp)]


def _topic(dp: DomainParticipant, type_name: str, ros_topic: str) -> tuple[Topic, type]:
    return dds_topic(dp, type_name, dds_topic_name(ros_topic))


def dds_topic(dp: DomainParticipant, type_name: str, dds_name: str) -> tuple[Topic, type]:
    """The Cyclone topic ``dds_name`` (e.g. ``rt/a/b``, ``rq/node/set_parametersRequest``) of a type."""
    cls = message_class(type_name)
    key = (id(dp), dds_name, cls.__idl_typename__)
    with _lock:
        if key not in _topics:
            with type_information_restored(cls):
                topic = Topic(dp, key[1], cls)
            strip_type_information(topic, cls)
            _topics[key] = topic
    return _topics[key], cls


def resolve_topic(topic: str, namespace: str) -> str:
    """Absolute topic name: relative names (no leading ``/``) live under the namespace."""
    if topic.startswith("/"):
        return topic
    ns = namespace.rstrip("/")
    return f"{ns}/{topic}" if ns else f"/{topic}"


class DdsPublisher:
    """Publishes one message type on one topic."""

    def __init__(self, dp: DomainParticipant, type_name: str, topic: str, profile: QosProfile) -> None:
        self.topic_name = topic
        self._topic, self.msg_class = _topic(dp, type_name, topic)
        self._writer = DataWriter(dp, self._topic, qos=to_dds_qos(profile))
        self._buffer = Buffer()  # grows to the largest message once, instead of doubling per write
        self._bus = intra_process_bus(dp)
        self._local = self._bus.queues.setdefault(dds_topic_name(topic), [])
        self._volatile = profile.durability == "volatile"  # nothing kept for late joiners

    def flush(self, timeout_s: float) -> bool:
        """Wait until every matched reliable reader acknowledged what was written (at most
        ``timeout_s``); False when some did not in time."""
        return self._writer.wait_for_acks(int(max(timeout_s, 0.0) * 1e9))

    def publish(self, msg: Any) -> None:
        """Hand ``msg`` (an instance of :attr:`msg_class`) to intra-process subscriptions, and send
        it as plain XCDR1 to the others."""
        if not isinstance(msg, self.msg_class):
            raise TypeError(f"{self.topic_name} carries {self.msg_class.__name__}, not {type(msg).__name__}")
        if self._local:
            for queue in self._local:
                queue.append(msg)
            self._bus.guard.set(True)
        if self._volatile and not self._writer.get_matched_subscriptions():
            return  # nobody (else) listens and nothing is kept: no serialisation at all
        ser = msg.serialize(buffer=self._buffer, use_version_2=False)
        if len(ser) % 4:
            ser += b"\0" * (4 - len(ser) % 4)  # Cyclone expects samples padded to 4 bytes
        ret = ddspy_write(self._writer._ref, ser)
        if ret < 0:
            raise DDSException(ret, f"writing on {self.topic_name}")

    def matched_count(self) -> int:
        """Number of matched subscriptions (intra-process ones included)."""
        return len(self._writer.get_matched_subscriptions()) + len(self._local)


@dataclass
class DdsSubscription:
    """A reader and the callback its samples go to."""

    topic_name: str
    reader: DataReader
    condition: ReadCondition
    callback: Callable[[Any], None]
    local: deque | None = None  #: messages published in this process (intra-process nodes)
    held: deque = field(default_factory=deque)  #: taken, left for the next spin while timers ran
    matches: SettledCount = field(default_factory=SettledCount)  #: for DdsNode.publisher_count


@dataclass(order=True)
class DdsTimer:
    """A periodic callback."""

    due: float
    period: float = field(compare=False)
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        """Stop calling the callback."""
        self.cancelled = True


class DdsNode(Node):
    """A node on the Cyclone DDS adapter."""

    runtime = "dds"

    def __init__(
        self,
        name: str,
        namespace: str = "",
        params_file: str | Path | None = None,
        overrides: dict[str, Any] | None = None,
        domain: int | None = None,
        parameter_services: bool = True,
        intra_process: bool = False,
    ) -> None:
        self._name = name
        self.namespace = namespace
        self.intra_process = intra_process
        self.dp = participant(domain)
        values: dict[str, Any] = {}
        if params_file:
            values.update(load_parameter_file(params_file, name, namespace))
        values.update(overrides or {})
        self._params = ParameterStore(name, values)
        self._logger = logging.getLogger(f"dvfo.{name}")
        self.subscriptions: list[DdsSubscription] = []
        self.timers: list[DdsTimer] = []
        self.publishers: list[DdsPublisher] = []
        self.lifecycle: LifecycleMachine | None = None
        self.service_writers: list[DataWriter] = []  #: reply writers of the services it answers
        if parameter_services:
            from dvfo_core.runtime.param_services import ParameterServer

            self.parameter_server = ParameterServer(self)  # `ros2 param get/set` and `dvfo param`
        self.announce()

    @property
    def name(self) -> str:
        return self._name

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    def msg(self, type_name: str) -> type:
        return message_class(normalize_type_name(type_name))

    def publisher(self, type_name: str, topic: str, qos: str | QosProfile = "default") -> DdsPublisher:
        pub = DdsPublisher(self.dp, type_name, resolve_topic(topic, self.namespace), parse_qos(qos))
        self.publishers.append(pub)
        self.announce()
        return pub

    def subscribe(
        self,
        type_name: str,
        topic: str,
        callback: Callable[[Any], None],
        qos: str | QosProfile = "default",
    ) -> DdsSubscription:
        full = resolve_topic(topic, self.namespace)
        dds_topic, _cls = _topic(self.dp, type_name, full)
        profile = parse_qos(qos)
        dds_qos = to_dds_qos(profile)
        local = None
        if self.intra_process:  # same-process samples come through the bus, not DDS
            dds_qos = Qos(*dds_qos, Policy.IgnoreLocal.Process)
            local = deque(maxlen=profile.depth)
            intra_process_bus(self.dp).queues.setdefault(dds_topic_name(full), []).append(local)
        reader = DataReader(self.dp, dds_topic, qos=dds_qos)
        cond = ReadCondition(reader, SampleState.Any | ViewState.Any | InstanceState.Any)
        sub = DdsSubscription(full, reader, cond, self.gated(callback), local)
        self.subscriptions.append(sub)
        self.announce()
        return sub

    def announce(self) -> None:
        """Publish this node and its endpoints on ``ros_discovery_info`` (the ROS 2 graph), so that
        ROS 2 tools and rclpy's graph queries find it (:mod:`dvfo_core.runtime.dds_graph`)."""
        from dvfo_core.runtime.dds_graph import announcer

        announcer(self.dp).update(
            id(self),
            self.namespace,
            self._name,
            [sub.reader for sub in self.subscriptions],
            [pub._writer for pub in self.publishers] + self.service_writers,
        )

    def subscriber_count(self, publisher: DdsPublisher) -> int:
        # a Cyclone writer keeps what a matched reader has not acknowledged: nothing is lost while
        # the reader (of any vendor) has not matched back, so a match counts at once
        return publisher.matched_count()

    def publisher_count(self, subscription: DdsSubscription) -> int:
        # a Cyclone reader drops what a non-Cyclone writer sends until it has had its first
        # heartbeat (dvfo_core.runtime.matching): a match counts once it has held for
        # MATCH_SETTLE_S. Publishers of the same process (intra-process delivery) do not count.
        raw = len(subscription.reader.get_matched_publications())
        return subscription.matches.update(raw, time.monotonic())

    def timer(self, period_s: float, callback: Callable[[], None], managed: bool = True) -> DdsTimer:
        if period_s <= 0:
            raise ConfigError(f"timer period must be positive, got {period_s}")
        tm = DdsTimer(time.monotonic() + period_s, period_s, self.gated(callback) if managed else callback)
        self.timers.append(tm)
        return tm

    def declare(self, spec: ParamSpec) -> ParamValue:
        return self._params.declare(spec)

    def undeclared_parameters(self) -> list[str]:
        return self._params.undeclared_overrides()

    def param(self, name: str) -> ParamValue:
        return self._params.get(name)

    def set_param(self, name: str, value: ParamValue) -> None:
        self._params.set(name, value)
        self._logger.info("parameter %s set to %r", name, value)

    def on_param_change(self, callback: Callable[[str, ParamValue], None]) -> None:
        self._params.on_change(callback)

    @property
    def parameters(self) -> ParameterStore:
        """The node's parameter store (declared specs and values)."""
        return self._params

    @property
    def lifecycle_state(self) -> str:
        return self.lifecycle.state if self.lifecycle is not None else ACTIVE

    def manage(self, logic: Any) -> None:
        from dvfo_core.runtime.lifecycle_services import LifecycleServer

        self.lifecycle = LifecycleMachine(logic, self._logger)
        self.lifecycle_server = LifecycleServer(self, self.lifecycle)  # `ros2 lifecycle` / `dvfo lifecycle`
        self.announce()

    def change_state(self, label: str) -> bool:
        if self.lifecycle is None:
            raise ConfigError(f"node {self._name} is not a managed node")
        return self.lifecycle.trigger(label) is Outcome.SUCCESS

    def now_ns(self) -> int:
        return time.time_ns()

    def to_cdr(self, msg: Any) -> bytes:
        return to_cdr(msg)

    def from_cdr(self, type_name: str, data: bytes) -> Any:
        return from_cdr(type_name, data)

    def destroy(self) -> None:
        for tm in self.timers:
            tm.cancel()
        # the last answers (a head finishing its waiting frames on deactivate) reach their readers
        # before the writers go: deleting a writer drops what is not acknowledged yet
        deadline = time.monotonic() + FLUSH_ON_DESTROY_S
        for pub in self.publishers:
            pub.flush(deadline - time.monotonic())
        bus = intra_process_bus(self.dp)
        for sub in self.subscriptions:
            if sub.local is not None:
                with _lock:
                    queues = bus.queues.setdefault(dds_topic_name(sub.topic_name), [])
                    queues[:] = [q for q in queues if q is not sub.local]
        self.subscriptions.clear()
        self.publishers.clear()
        self.service_writers.clear()
        from dvfo_core.runtime.dds_graph import announcer

        announcer(self.dp).remove(id(self))


class Executor:
    """Single-threaded executor for DDS nodes: waits on readers and timers with finite waits.

    Waits never exceed ``max_wait_s`` so that SIGINT (KeyboardInterrupt) is seen promptly. A timer
    that falls due while a reader has a backlog runs before the rest of it (as rclpy interleaves
    them): a node slower than its input still runs its timers (the head's cloud time-outs).
    """

    def __init__(self, nodes: Iterable[DdsNode] = (), max_wait_s: float = 0.1) -> None:
        self.nodes: list[DdsNode] = []
        self.max_wait_s = max_wait_s
        self._waitsets: dict[int, WaitSet] = {}
        self._attached: set[int] = set()
        self._stop = threading.Event()
        for node in nodes:
            self.add(node)

    def add(self, node: DdsNode) -> None:
        """Spin ``node`` too."""
        self.nodes.append(node)

    def stop(self) -> None:
        """Make :meth:`spin` return (thread-safe)."""
        self._stop.set()

    def _waitset(self, node: DdsNode) -> WaitSet:
        ws = self._waitsets.get(id(node.dp))
        if ws is None:
            ws = self._waitsets[id(node.dp)] = WaitSet(node.dp)
            ws.attach(intra_process_bus(node.dp).guard)
        for sub in node.subscriptions:
            if id(sub.condition) not in self._attached:
                ws.attach(sub.condition)
                self._attached.add(id(sub.condition))
        return ws

    def _due_timers(self, now: float) -> list[DdsTimer]:
        due = []
        for node in self.nodes:
            for tm in node.timers:
                if not tm.cancelled and tm.due <= now:
                    due.append(tm)
        heapq.heapify(due)
        return due

    def _next_due(self) -> float:
        dues = [tm.due for n in self.nodes for tm in n.timers if not tm.cancelled]
        return min(dues) if dues else float("inf")

    def spin_once(self, timeout_s: float | None = None) -> int:
        """Wait up to ``timeout_s`` (capped by :attr:`max_wait_s` and the next timer), then dispatch.

        Returns the number of callbacks run.
        """
        wait = self.max_wait_s if timeout_s is None else min(timeout_s, self.max_wait_s)
        wait = max(0.0, min(wait, self._next_due() - time.monotonic()))
        waitsets = {id(n.dp): self._waitset(n) for n in self.nodes}
        if wait > 0 and not self._local_pending():
            for ws in waitsets.values():  # one participant per process in practice
                ws.wait(duration(seconds=wait))
                break
        for dp_id in waitsets:
            _buses[dp_id].guard.set(False)
        ran = 0
        for node in list(self.nodes):
            for sub in list(node.subscriptions):
                # at least one message per subscription and spin, then only while no timer is due;
                # this process's own messages first, then the reader's
                taken = 0
                while True:
                    source = sub.local if sub.local else sub.held
                    if not source and sub.condition.triggered:
                        # (InvalidSample: dispose/unregister notices)
                        source.extend(x for x in sub.reader.take(N=64) if not isinstance(x, InvalidSample))
                    if not source or (taken and self._timer_due()):
                        break
                    sub.callback(source.popleft())
                    taken += 1
                ran += taken
        now = time.monotonic()
        for tm in self._due_timers(now):
            tm.due = max(tm.due + tm.period, now)  # never a burst of catch-up calls
            tm.callback()
            ran += 1
        return ran

    def _local_pending(self) -> bool:
        return any(sub.local or sub.held for node in self.nodes for sub in node.subscriptions)

    def _timer_due(self) -> bool:
        return self._next_due() <= time.monotonic()

    def spin(self, duration_s: float | None = None, until: Callable[[], bool] | None = None) -> None:
        """Spin until :meth:`stop`, ``until()`` is true, or ``duration_s`` passes."""
        end = None if duration_s is None else time.monotonic() + duration_s
        self._stop.clear()
        while not self._stop.is_set():
            if until is not None and until():
                return
            remaining = None if end is None else end - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            self.spin_once(remaining)
