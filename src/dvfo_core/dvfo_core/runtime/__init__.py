"""Node runtime: the port nodes are written against (:mod:`.port`) and its two adapters.

:func:`make_node` picks rclpy when it imports (a robot with ROS 2) and the Cyclone DDS adapter
otherwise; ``DVFO_RUNTIME=dds`` or ``=rclpy`` forces one.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dvfo_core.errors import ConfigError
from dvfo_core.runtime.port import Node


def selected_runtime() -> str:
    """``"rclpy"`` when rclpy is importable (or forced), else ``"dds"``."""
    forced = os.environ.get("DVFO_RUNTIME", "").strip().lower()
    if forced in ("dds", "rclpy"):
        return forced
    if forced:
        raise ConfigError(f"DVFO_RUNTIME={forced!r}: expected 'dds' or 'rclpy'")
    return "rclpy" if importlib.util.find_spec("rclpy") is not None else "dds"


def make_node(
    name: str,
    namespace: str = "",
    params_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    args: Sequence[str] | None = None,
    managed: bool = False,
) -> Node:
    """A node on the selected runtime, with parameters from ``params_file`` and ``overrides``;
    ``managed``: a lifecycle node under rclpy (on DDS any node becomes one by :meth:`Node.manage`)."""
    if selected_runtime() == "rclpy":
        from dvfo_core.runtime.ros import RosNode

        ros_args = list(args or [])
        if params_file or overrides:
            ros_args += ["--ros-args"]
            if params_file:
                ros_args += ["--params-file", str(params_file)]
            for key, value in (overrides or {}).items():
                ros_args += ["-p", f"{key}:={value}"]
        return RosNode(name, namespace, ros_args or None, managed=managed)
    from dvfo_core.runtime.dds import DdsNode

    return DdsNode(name, namespace, params_file=params_file, overrides=overrides)


def spin(
    nodes: Sequence[Node], duration_s: float | None = None, until: Callable[[], bool] | None = None
) -> None:
    """Spin ``nodes`` until Ctrl-C / SIGTERM, ``until()`` is true (checked between callbacks) or
    ``duration_s`` passes."""
    if not nodes:
        return
    if nodes[0].runtime == "rclpy":
        from dvfo_core.runtime.ros import spin as ros_spin

        ros_spin(nodes, duration_s, until)  # type: ignore[arg-type]
        return
    from dvfo_core.runtime.dds import Executor

    Executor(nodes).spin(duration_s, until)  # type: ignore[arg-type]
