"""``dvfo record``: the DVFO topics into a rosbag2 bag (MCAP by default) over the DDS adapter.

The bag is what ``ros2 bag record`` would write: ``ros2 bag info``/``play`` and ``rosbags`` read it,
and ``dvfo train --bag`` trains from it. Messages stream to disk as they arrive.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from dvfo_core.errors import ConfigError

#: Recorded by default: small, and all ``dvfo train --bag`` needs.
DEFAULT_TOPICS: dict[str, str] = {
    "/dvfo/telemetry": "dvfo_msgs/msg/Telemetry",
    "/dvfo/action": "dvfo_msgs/msg/DvfsAction",
    "/dvfo/result": "dvfo_msgs/msg/InferenceResult",
    "/dvfo/cloud_result": "dvfo_msgs/msg/CloudResult",
    "/camera/ground_truth": "dvfo_msgs/msg/GroundTruth",
    "/diagnostics": "diagnostic_msgs/msg/DiagnosticArray",
}
#: On request (``--topics``): the large ones.
OPTIONAL_TOPICS: dict[str, str] = {
    "/camera/image_raw": "sensor_msgs/msg/Image",
    "/dvfo/feature_map": "dvfo_msgs/msg/FeatureMap",
}
#: Best-effort publishers need a best-effort reader to match.
QOS = {"/camera/image_raw": "sensor_data"}


def resolve_topics(names: list[str] | None) -> dict[str, str]:
    """``{topic: type}`` for the names asked (default: :data:`DEFAULT_TOPICS`)."""
    if not names:
        return dict(DEFAULT_TOPICS)
    known = {**DEFAULT_TOPICS, **OPTIONAL_TOPICS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"cannot record {', '.join(unknown)}: known topics are {', '.join(known)}")
    return {n: known[n] for n in names}


def record(
    out: Path,
    duration_s: float | None,
    topics: dict[str, str],
    storage: str = "mcap",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Record ``topics`` to ``out`` until ``duration_s`` or Ctrl-C; returns the message count."""
    from dvfo_core.runtime.dds import DdsNode, Executor

    if out.exists():
        raise ConfigError(f"{out} already exists; choose a new bag path")
    node = DdsNode("dvfo_record")
    queue: list[tuple[str, int, Any]] = []
    for topic, type_name in topics.items():
        node.subscribe(
            type_name,
            topic,
            lambda m, t=topic: queue.append((t, time.time_ns(), m)),
            QOS.get(topic, "default"),
        )
    executor = Executor([node])
    count = 0

    def records() -> Iterator[tuple[str, int, Any]]:
        nonlocal count
        end = None if duration_s is None else time.monotonic() + duration_s
        try:
            while end is None or time.monotonic() < end:
                executor.spin_once(0.1)
                batch = queue[:]
                queue.clear()
                count += len(batch)
                yield from batch
                if progress is not None:
                    progress(count)
        except KeyboardInterrupt:
            pass

    from dvfo_core.bag import write_bag  # rosbags + cyclonedds: only when recording

    write_bag(out, records(), storage)
    node.destroy()
    return count


def print_progress(count: int) -> None:
    """A live one-line counter on stderr."""
    sys.stderr.write(f"\rdvfo record: {count} messages")
    sys.stderr.flush()
