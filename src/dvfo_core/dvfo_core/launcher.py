"""``dvfo launch``: the node graph as processes over the DDS adapter (no ROS 2 needed).

Each node of ``config/graph.yaml`` runs as its own Python process with the same arguments
``ros2 launch`` would give it; output lines are prefixed with the node name; Ctrl-C or SIGTERM
stops every node (SIGINT first, then SIGTERM, then SIGKILL after a grace period).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dvfo_core.errors import ConfigError
from dvfo_core.graph import NodeEntry, load_graph
from dvfo_core.runtime.params import load_parameter_file

if TYPE_CHECKING:
    from dvfo_core.link.plan import ZenohPlan


def container_command(group: str, params: Path, extra: Sequence[str] = ()) -> list[str]:
    """The command line of a container running every node of ``group`` in one process."""
    container = [sys.executable, "-m", "dvfo_core.container", group]
    return [*container, "--ros-args", "--params-file", str(params), *extra]


def node_command(entry: NodeEntry, params: Path | None = None, extra: Sequence[str] = ()) -> list[str]:
    """The command line of one node process."""
    return [
        sys.executable,
        "-m",
        entry.module,
        "--ros-args",
        "-r",
        f"__node:={entry.name}",
        "--params-file",
        str(params or entry.params),
        *extra,
    ]


class Launch:
    """A running group of node processes.

    ``container=True`` runs each group's nodes in one process (named after the group: ``edge``,
    ``cloud``) with intra-process delivery between them; ``overrides`` of its nodes are merged.
    ``commands`` are more processes by name (a Zenoh router, tail workers), started first.
    """

    def __init__(
        self,
        entries: Sequence[NodeEntry],
        params: Path | None = None,
        overrides: dict[str, Sequence[str]] | None = None,
        quiet: bool = False,
        env: dict[str, str] | None = None,
        container: bool = False,
        commands: dict[str, list[str]] | None = None,
    ) -> None:
        self.entries = list(entries)
        self.procs: dict[str, subprocess.Popen] = {}
        self._threads: list[threading.Thread] = []
        self.quiet = quiet
        overrides = overrides or {}
        commands = dict(commands or {})
        if container:
            for group in dict.fromkeys(e.group for e in self.entries):
                members = [e for e in self.entries if e.group == group]
                extra = [arg for e in members for arg in overrides.get(e.name, ())]
                commands[group] = container_command(group, params or members[0].params, extra)
        else:
            for entry in self.entries:
                commands[entry.name] = node_command(entry, params, list(overrides.get(entry.name, ())))
        self.last_lines: dict[str, deque[str]] = {name: deque(maxlen=20) for name in commands}
        child_env = {
            **os.environ,
            "DVFO_RUNTIME": "dds",
            "PYTHONUNBUFFERED": "1",
            "DVFO_LAUNCHER_PID": str(os.getpid()),  # nodes stop when this process dies
            **(env or {}),
        }
        for name, command in commands.items():
            proc = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=child_env,
                start_new_session=True,  # our own signals only: Ctrl-C is forwarded deliberately
            )
            self.procs[name] = proc
            t = threading.Thread(target=self._pump, args=(name, proc), daemon=True)
            t.start()
            self._threads.append(t)

    def _pump(self, name: str, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.last_lines[name].append(line.rstrip())
            if not self.quiet:
                sys.stderr.write(f"[{name}] {line}")

    def poll(self) -> dict[str, int | None]:
        """Exit code of each node (None while running)."""
        return {name: p.poll() for name, p in self.procs.items()}

    def stop(self, name: str, grace_s: float = 5.0) -> int | None:
        """Stop one node (SIGINT, then SIGTERM, then SIGKILL)."""
        proc = self.procs[name]
        for sig, wait in ((signal.SIGINT, grace_s), (signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
            if proc.poll() is not None:
                break
            proc.send_signal(sig)
            try:
                proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        return proc.poll()

    def shutdown(self, grace_s: float = 5.0, sig: int = signal.SIGINT) -> dict[str, int | None]:
        """Stop every node (``sig`` first, SIGINT as Ctrl-C would); returns their exit codes."""
        for name in self.procs:
            if self.procs[name].poll() is None:
                self.procs[name].send_signal(sig)
        end = time.monotonic() + grace_s
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        codes = {name: self.stop(name, 0.5) for name in self.procs}
        for t in self._threads:
            t.join(timeout=1.0)
        return codes

    def wait(self, duration_s: float | None = None) -> dict[str, int | None]:
        """Run until a node exits on its own, ``duration_s`` passes, or Ctrl-C/SIGTERM; then stop all."""
        end = None if duration_s is None else time.monotonic() + duration_s

        def _term(signum: int, _frame: object) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, _term)
        node_exited = False
        try:
            while end is None or time.monotonic() < end:
                if any(code is not None for code in self.poll().values()):
                    node_exited = True
                    break
                time.sleep(0.1)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
        # A node ended on its own (e.g. a bad parameter): stop the others with SIGTERM, which ends a
        # running node through its lifecycle as SIGINT does, and one still importing torch quietly
        # (SIGINT there would print a KeyboardInterrupt traceback that hides the real error).
        return self.shutdown(sig=signal.SIGTERM if node_exited else signal.SIGINT)


def check_params(entries: Sequence[NodeEntry], params: Path | None = None) -> None:
    """Read the parameter file of every node before starting any: a missing or broken file raises
    one :class:`~dvfo_core.errors.ConfigError` naming it (and the line), instead of every node
    failing on its own while the others are being stopped."""
    for entry in entries:
        load_parameter_file(params or entry.params, entry.name)


def launch(
    group: str,
    params: Path | None = None,
    duration_s: float | None = None,
    autostart: bool = True,
    container: bool = False,
    zenoh: ZenohPlan | None = None,
) -> int:
    """Run ``group`` (edge, cloud, all) until interrupted; exit code 1 when a node failed.

    ``autostart=False`` leaves every node unconfigured for ``dvfo lifecycle set``; ``container``
    runs each group in one process (:mod:`dvfo_core.container`). With a ``zenoh`` plan the offload
    path is Zenoh: the cloud is a router plus ``zenoh.workers`` tail processes, the head connects to
    the router with its robot certificate (:mod:`dvfo_core.link.plan`)."""
    entries = load_graph(group)  # without --params each group keeps its own file
    check_params(entries, params)  # one clear error here, not one per node
    extra = {} if autostart else {e.name: ["-p", "autostart:=false"] for e in entries}
    commands: dict[str, list[str]] = {}
    if zenoh is not None:
        from dvfo_core.link.plan import cloud_commands, head_args

        if container:
            raise ConfigError("--container runs one process per group: not with --link zenoh")
        for entry in [e for e in entries if e.group == "cloud"]:
            commands.update(cloud_commands(zenoh, entry, params or entry.params, extra.get(entry.name, [])))
            entries.remove(entry)
        if any(e.name == "head" for e in entries):
            extra["head"] = [*extra.get("head", []), *head_args(zenoh)]
    running = Launch(entries, params, overrides=extra, container=container, commands=commands)
    codes = running.wait(duration_s)
    failed = {n: c for n, c in codes.items() if c not in (0, None, -signal.SIGINT, -signal.SIGTERM)}
    for name, code in failed.items():
        sys.stderr.write(f"dvfo launch: node {name} exited with {code}\n")
    return 1 if failed else 0
