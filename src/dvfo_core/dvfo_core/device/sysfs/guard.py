"""Put the clocks back on normal exit, SIGINT, SIGTERM, SIGHUP and unhandled exceptions."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class RestoreGuard:
    """Calls ``restore`` once when the process ends, however it ends (short of SIGKILL).

    Use as a context manager, or :meth:`install` / :meth:`uninstall`. Signal handlers are only
    installed from the main thread; the previous handler runs after the restore (for SIGINT that
    raises KeyboardInterrupt as usual; a default handler re-delivers the signal so the exit status
    is the conventional one).
    """

    def __init__(self, restore: Callable[[], None]) -> None:
        self._restore = restore
        self._previous: dict[int, object] = {}
        self._installed = False
        self._lock = threading.Lock()

    def run_restore(self) -> None:
        """Restore now (idempotent: the callee must tolerate repeated calls)."""
        with self._lock:
            try:
                self._restore()
            except Exception as exc:  # never let a restore failure hide the original exit
                log.error("dvfo: restoring clocks failed: %s", exc)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.run_restore()
        previous = self._previous.get(signum, signal.SIG_DFL)
        self.uninstall()
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    def install(self) -> RestoreGuard:
        """Register the atexit hook and the signal handlers."""
        if self._installed:
            return self
        atexit.register(self.run_restore)
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.getsignal(sig)
                signal.signal(sig, self._on_signal)
        self._installed = True
        return self

    def uninstall(self) -> None:
        """Remove the hooks (the previous signal handlers come back)."""
        if not self._installed:
            return
        atexit.unregister(self.run_restore)
        if threading.current_thread() is threading.main_thread():
            for sig, prev in self._previous.items():
                if signal.getsignal(sig) == self._on_signal:
                    signal.signal(sig, prev)  # type: ignore[arg-type]
        self._previous.clear()
        self._installed = False

    def __enter__(self) -> RestoreGuard:
        return self.install()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.run_restore()
        self.uninstall()
