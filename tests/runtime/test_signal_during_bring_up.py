"""A stop signal that arrives while a node is being brought up ends it through its lifecycle.

The governor pins the clocks when it activates; ``ros2 launch`` may send SIGINT at that very moment.
The signal is kept until bring-up is over, then the node is deactivated and shut down like a node
stopped while spinning, and ``run_node`` returns 0."""

from __future__ import annotations

import os
import signal

import pytest

from dvfo_core.runtime.node_main import run_node
from dvfo_core.runtime.port import Node


class SignalledWhileActivating:
    """Logic that receives ``sig`` in the middle of its own ``on_activate``."""

    def __init__(self, sig: signal.Signals) -> None:
        self.sig = sig
        self.calls: list[str] = []

    def on_configure(self) -> None:
        self.calls.append("configure")

    def on_activate(self) -> None:
        os.kill(os.getpid(), self.sig)
        self.calls.append("activate")  # the signal did not cut the transition short

    def on_deactivate(self) -> None:
        self.calls.append("deactivate")

    def on_shutdown(self) -> None:
        self.calls.append("shutdown")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_activate_ends_the_node_through_deactivate_and_shutdown(
    sig: signal.Signals, dds_domain: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DVFO_RUNTIME", "dds")
    logic = SignalledWhileActivating(sig)

    def build(_node: Node) -> SignalledWhileActivating:
        return logic

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    assert run_node("probe", build, argv=[], duration_s=30.0) == 0
    assert logic.calls == ["configure", "activate", "deactivate", "shutdown"]
    assert {s: signal.getsignal(s) for s in before} == before, "the handlers are put back"
