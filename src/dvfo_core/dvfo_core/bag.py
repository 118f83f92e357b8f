"""rosbag2 reading and writing (MCAP and sqlite3) through ``rosbags`` and the project's typestore.

A bag is a rosbag2 directory (``metadata.yaml`` + storage files) or a bare ``.mcap`` / ``.db3`` file,
as ``ros2 bag record`` writes them. Messages are (de)serialised with
:func:`dvfo_core.runtime.msgs.typestore`, so ``dvfo_msgs`` types come from their ``.msg`` files.
Every failure — missing path, unknown storage, corrupt file, missing topic, undecodable message —
is a :class:`BagError` naming the bag.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from rosbags.rosbag2 import Reader, ReaderError, StoragePlugin, Writer, WriterError
from rosbags.typesys.store import Typestore

from dvfo_core.errors import DvfoError
from dvfo_core.runtime import msgs

TELEMETRY_TOPIC = "/dvfo/telemetry"
ACTION_TOPIC = "/dvfo/action"
RESULT_TOPIC = "/dvfo/result"
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}


class BagError(DvfoError):
    """A bag is missing, unreadable, corrupt or lacks what was asked for."""


@cache
def _store() -> Typestore:
    return msgs.typestore()


def _open(path: Path) -> Reader:
    if not path.exists():
        raise BagError(f"{path}: no such bag")
    try:
        reader = Reader(path)
        reader.open()
    except (ReaderError, FileNotFoundError, sqlite3.DatabaseError, OSError, ValueError, KeyError) as exc:
        raise BagError(f"{path}: not a readable rosbag2 bag ({_reason(exc)})") from None
    return reader


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def bag_topics(path: str | Path) -> dict[str, str]:
    """``{topic: message type}`` of every connection in the bag."""
    path = Path(path)
    reader = _open(path)
    try:
        return {c.topic: c.msgtype for c in reader.connections}
    finally:
        reader.close()


def read_topic(path: str | Path, topic: str) -> Iterator[tuple[int, Any]]:
    """Yield ``(log_time_ns, message)`` for every message on ``topic`` (rosbags dataclasses).

    Raises :class:`BagError` when the topic is absent, a message cannot be decoded, or the storage
    is corrupt part-way.
    """
    path = Path(path)
    reader = _open(path)
    try:
        conns = [c for c in reader.connections if c.topic == topic]
        if not conns:
            have = ", ".join(sorted({c.topic for c in reader.connections})) or "none"
            raise BagError(f"{path}: no {topic} topic (topics: {have})")
        store = _store()
        for msgtype in {c.msgtype for c in conns}:
            if msgtype not in store.types:
                raise BagError(f"{path}: {topic} has unknown message type {msgtype}")
        try:
            for conn, t_ns, raw in reader.messages(connections=conns):
                try:
                    yield t_ns, store.deserialize_cdr(raw, conn.msgtype)
                except Exception as exc:  # rosbags SerdeError and struct errors from corrupt bytes
                    raise BagError(
                        f"{path}: cannot decode a {conn.msgtype} message at t={t_ns} ns ({_reason(exc)})"
                    ) from None
        except BagError:
            raise
        except Exception as exc:  # corrupt chunks / pages surface while iterating
            raise BagError(f"{path}: corrupt bag ({type(exc).__name__}: {_reason(exc)})") from None
    finally:
        reader.close()


def write_bag(path: str | Path, records: Iterable[tuple[str, int, Any]], storage: str = "mcap") -> Path:
    """Write ``(topic, log_time_ns, message)`` records to a new rosbag2 directory at ``path``.

    ``message`` is a DDS message instance (:func:`dvfo_core.runtime.msgs.message_class`) or a
    rosbags dataclass; its type is taken from the instance. ``storage`` is ``mcap`` or ``sqlite3``.
    """
    path = Path(path)
    if storage not in STORAGES:
        raise BagError(f"{path}: unknown storage {storage!r} (known: {', '.join(STORAGES)})")
    store = _store()
    try:
        writer = Writer(path, version=Writer.VERSION_LATEST, storage_plugin=STORAGES[storage])
        writer.open()
    except (WriterError, OSError) as exc:
        raise BagError(f"{path}: cannot create bag ({_reason(exc)})") from None
    conns: dict[str, Any] = {}
    try:
        for topic, t_ns, msg in records:
            msgtype, rb = _as_rosbags(msg)
            conn = conns.get(topic)
            if conn is None:
                conn = conns[topic] = writer.add_connection(topic, msgtype, typestore=store)
            elif conn.msgtype != msgtype:
                raise BagError(f"{path}: topic {topic} written with {conn.msgtype} and {msgtype}")
            writer.write(conn, int(t_ns), store.serialize_cdr(rb, msgtype))
    finally:
        writer.close()
    return path


def _as_rosbags(msg: Any) -> tuple[str, Any]:
    ros_type = getattr(type(msg), "__ros_type__", None)
    if ros_type is not None:  # a DDS message class instance
        return ros_type, msgs.to_rosbags(msg)
    msgtype = getattr(type(msg), "__msgtype__", None)
    if msgtype is None:
        raise BagError(f"cannot write a {type(msg).__name__}: not a ROS message")
    return str(msgtype), msg
