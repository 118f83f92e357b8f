"""The ``main()`` of every node executable, on either runtime.

Command line, as ``ros2 run`` / ``ros2 launch`` pass it (the DDS launcher passes the same)::

    head_node --ros-args -r __node:=head -r __ns:=/robot1 --params-file edge.yaml -p eta:=0.3

Under rclpy the arguments go to ``rclpy.init`` unchanged; on the DDS adapter they are parsed here.

Every node is a managed (lifecycle) node: the logic's constructor only declares parameters and
creates its publishers, subscriptions and timers; ``on_configure`` loads models and probes the
device, ``on_activate`` starts the work, ``on_deactivate`` stops it and restores clocks (see
:mod:`dvfo_core.runtime.lifecycle`). With parameter ``autostart`` (default true) the node configures
and activates itself at start, and exits with status 2 if either fails; with ``autostart: false``
it waits, ``unconfigured``, for ``ros2 lifecycle set`` / ``dvfo lifecycle set``. SIGINT (Ctrl-C,
what ``ros2 launch`` sends first), SIGTERM and the death of the launcher that started the node
(``DVFO_LAUNCHER_PID``) end the spin, on both runtimes; the node then shuts down through the
lifecycle (``on_deactivate``: restore clocks, finish pending frames; ``on_shutdown``) and exits 0.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import yaml

from dvfo_core.errors import ConfigError, DvfoError
from dvfo_core.runtime import make_node, selected_runtime, spin
from dvfo_core.runtime.lifecycle import ACTIVE, FINALIZED, ManagedLogic
from dvfo_core.runtime.params import ParamSpec
from dvfo_core.runtime.port import Node

AUTOSTART = ParamSpec(
    "autostart",
    True,
    "configure and activate at start (false: wait for `ros2 lifecycle set`)",
    read_only=True,
)


@dataclass
class NodeArgs:
    """The ROS arguments a node was started with."""

    name: str
    namespace: str = ""
    params_file: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)


def parse_ros_args(default_name: str, argv: Sequence[str]) -> NodeArgs:
    """Parse ``--ros-args`` remaps, ``--params-file`` and ``-p name:=value`` from ``argv``."""
    args = NodeArgs(default_name)
    items = list(argv)
    i = 0
    while i < len(items):
        item = items[i]
        nxt = items[i + 1] if i + 1 < len(items) else None
        if item in ("--params-file", "-p", "-r", "--remap", "--param") and nxt is None:
            raise ConfigError(f"{item} needs a value")
        if item == "--params-file":
            args.params_file = nxt
            i += 2
        elif item in ("-p", "--param"):
            key, sep, value = str(nxt).partition(":=")
            if not sep:
                raise ConfigError(f"-p expects name:=value, got {nxt!r}")
            args.overrides[key] = yaml.safe_load(value)
            i += 2
        elif item in ("-r", "--remap"):
            key, sep, value = str(nxt).partition(":=")
            if key == "__node":
                args.name = value
            elif key == "__ns":
                args.namespace = value if value != "/" else ""
            i += 2
        else:
            i += 1  # --ros-args, --log-level and friends: accepted, not used here
    return args


def setup_logging() -> None:
    """ROS-like log lines on stderr (level, time, logger name)."""
    logging.basicConfig(
        level=logging.INFO,
        format="[%(levelname)s] [%(created).3f] [%(name)s]: %(message)s",
        stream=sys.stderr,
    )


def bring_up(node: Node, build: Callable[[Node], ManagedLogic]) -> bool:
    """Declare ``autostart``, make ``build(node)`` the node's managed logic and, with autostart,
    configure and activate it. False (the node then shut down) when an autostart transition failed;
    raises :class:`DvfoError` on a bad parameter."""
    autostart = node.declare(AUTOSTART)
    node.manage(build(node))
    unknown = node.undeclared_parameters()
    if unknown:
        node.logger.warning(f"{node.name}: ignoring parameters it does not declare: {', '.join(unknown)}")
    if autostart:
        for transition in ("configure", "activate"):
            if not node.change_state(transition):
                print(f"{node.name}: error: {transition} failed (see the log above)", file=sys.stderr)
                node.change_state("shutdown")
                return False
    return True


#: Set by :class:`dvfo_core.launcher.Launch` for its children: the pid of the launcher process.
LAUNCHER_PID_VARIABLE = "DVFO_LAUNCHER_PID"


def watch_launcher(poll_s: float = 0.2) -> threading.Thread | None:
    """When this process was started by a DVFO launcher, SIGTERM ourselves once it is gone.

    A launcher killed with SIGKILL cannot stop its nodes; they notice that they were re-parented
    (``os.getppid()`` changes) and shut down as on SIGTERM. Returns the watching thread, or None
    when the parent is not the launcher named by ``DVFO_LAUNCHER_PID`` (a node started by hand)."""
    try:
        launcher = int(os.environ.get(LAUNCHER_PID_VARIABLE, "0"))
    except ValueError:
        return None
    if launcher <= 1 or launcher != os.getppid():
        return None

    def _watch() -> None:
        while os.getppid() == launcher:
            time.sleep(poll_s)
        # the launcher read our output through a pipe that has no reader now: writing to it would
        # fail (BrokenPipeError, exit status 120), so the rest of the output is dropped
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.dup2(devnull, sys.stderr.fileno())
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=_watch, name="dvfo-launcher-watch", daemon=True)
    thread.start()
    return thread


def shut_down(nodes: Sequence[Node]) -> None:
    """Take every node to ``finalized`` through its lifecycle (an active node is deactivated first,
    so clocks are restored and pending frames finished), then destroy it; signals are held off
    meanwhile, so a second Ctrl-C cannot cut a clock restore short."""
    deferred: list[int] = []

    def _later(signum: int, _frame: object) -> None:
        deferred.append(signum)

    previous = {sig: signal.signal(sig, _later) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for node in nodes:
            try:
                if node.lifecycle_state == ACTIVE:
                    node.change_state("deactivate")
                if node.lifecycle_state != FINALIZED:
                    node.change_state("shutdown")
            except Exception as exc:  # one node's failure must not keep the others from shutting down
                logging.getLogger("dvfo").error(f"{node.name}: shutdown raised {type(exc).__name__}: {exc}")
            finally:
                node.destroy()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


#: The signals that end a node (Ctrl-C, and what ``ros2 launch`` and systemd send).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stop_signals_set(stopping: threading.Event) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM only set ``stopping`` (also when started with SIGINT
    ignored); the previous handlers are put back on leaving."""
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def spin_then_shut_down(
    nodes: Sequence[Node], duration_s: float | None = None, stopping: threading.Event | None = None
) -> None:
    """Spin until SIGINT, SIGTERM, the launcher's death or ``duration_s``; then shut every node down
    through its lifecycle (:func:`shut_down`). A signal ends the spin between two callbacks, never
    inside one: what a callback publishes together (a frame's result and its telemetry, an image
    and its ground truth) is published whole. ``stopping``: an event a signal may already have set
    (one that came while the node was being brought up): then the nodes go straight to shutdown."""
    stopping = stopping if stopping is not None else threading.Event()
    try:
        with stop_signals_set(stopping):
            watch_launcher()
            spin(nodes, duration_s, until=stopping.is_set)
    except KeyboardInterrupt:  # raised by someone else (a debugger, a test)
        pass
    finally:
        shut_down(nodes)


def run_node(
    default_name: str,
    build: Callable[[Node], ManagedLogic],
    argv: Sequence[str] | None = None,
    duration_s: float | None = None,
) -> int:
    """Create the managed node, build its logic, bring it up (``autostart``), spin until shutdown,
    then shut it down. Returns an exit code (2: bad arguments or a failed autostart)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    setup_logging()
    try:
        if selected_runtime() == "rclpy":
            node = make_node(default_name, args=argv, managed=True)
        else:
            parsed = parse_ros_args(default_name, argv)
            node = make_node(
                parsed.name, parsed.namespace, parsed.params_file, parsed.overrides, managed=True
            )
    except DvfoError as exc:
        print(f"{default_name}: error: {exc}", file=sys.stderr)
        return 2
    # a signal while the node comes up (a clock may be pinned already) is kept for after bring-up:
    # a KeyboardInterrupt inside configure or activate would leave the board as the node set it
    stopping = threading.Event()
    with stop_signals_set(stopping):
        try:
            up = bring_up(node, build)
        except DvfoError as exc:
            print(f"{default_name}: error: {exc}", file=sys.stderr)
            return 2
        if not up:
            node.destroy()
            return 2
        spin_then_shut_down([node], duration_s, stopping)
    return 0
