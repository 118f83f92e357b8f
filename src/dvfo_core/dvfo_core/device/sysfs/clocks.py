"""Clock writes: min/max ordering, multi-file transactions rolled back on failure, the saved state.

Pinning a cpufreq policy or the GPU devfreq node writes the same frequency to ``min`` and ``max``.
The order matters, the kernel refuses ``min > max``: raising, write ``max`` first; lowering, ``min``
first (:func:`pair_writes`). The EMC is pinned by writing 1 to its lock file then the rate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from dvfo_core.device.sysfs.files import read_text, write_value
from dvfo_core.errors import DeviceError

log = logging.getLogger(__name__)


def pair_writes(cur_min: int, cur_max: int, new_min: int, new_max: int) -> list[tuple[str, int]]:
    """The order to write a (min, max) pair so that ``min <= max`` holds after every write."""
    if new_min > cur_max:  # raising past the current max: open the ceiling first
        return [("max", new_max), ("min", new_min)]
    return [("min", new_min), ("max", new_max)]


@dataclass
class Transaction:
    """Writes files one by one; on failure puts back, newest first, what was already written."""

    done: list[tuple[Path, str]] = field(default_factory=list)

    def write(self, path: Path, value: object) -> None:
        """Write ``value`` to ``path``, remembering the previous content."""
        try:
            previous = read_text(path)
            write_value(path, value)
        except (OSError, DeviceError) as exc:
            rolled = len(self.done)
            self.rollback()
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise DeviceError(
                f"cannot write {value} to {path}: {reason}; rolled back {rolled} earlier write(s)"
            ) from exc
        self.done.append((path, previous))

    def rollback(self) -> None:
        """Put back every file written so far (best effort: a failure is logged, the rest continue)."""
        for path, previous in reversed(self.done):
            try:
                write_value(path, previous)
            except OSError as exc:
                log.error("dvfo: rollback could not restore %s to %r: %s", path, previous, exc)
        self.done.clear()


@dataclass
class SavedState:
    """The content of every control file before the first write, and the order to put it back."""

    files: dict[Path, str] = field(default_factory=dict)
    order: list[Path] = field(default_factory=list)

    def remember(self, path: Path) -> None:
        """Save ``path``'s content unless already saved."""
        if path not in self.files:
            self.files[path] = read_text(path)
            self.order.append(path)

    def _unchanged(self, path: Path) -> bool:
        try:
            return read_text(path) == self.files[path].strip()
        except DeviceError:
            return False

    def restore(self) -> list[str]:
        """Write every saved file back (min/max pairs in a safe order); returns the failures."""
        errors: list[str] = []
        pending = list(self.order)
        pairs = {}
        for p in pending:
            for lo, hi in (("scaling_min_freq", "scaling_max_freq"), ("min_freq", "max_freq")):
                if p.name == lo and p.with_name(hi) in self.files:
                    pairs[p] = p.with_name(hi)
        done: set[Path] = {p for p in pending if self._unchanged(p)}  # nothing to put back
        for lo, hi in pairs.items():
            if lo in done and hi in done:
                continue
            try:
                cur_max = int(read_text(hi).split()[0])
                order = pair_writes(int(read_text(lo).split()[0]), cur_max,
                                    int(self.files[lo].split()[0]), int(self.files[hi].split()[0]))
                for which, _ in order:
                    path = lo if which == "min" else hi
                    write_value(path, self.files[path])
            except (OSError, ValueError, DeviceError) as exc:
                errors.append(f"{lo.parent}: {exc}")
            done |= {lo, hi}
        # EMC: the rate before its lock, so the unlocked clock starts from the saved rate
        rest = [p for p in pending if p not in done]
        rest.sort(key=lambda p: p.name in ("mrq_rate_locked", "clk_state"))
        for p in rest:
            try:
                write_value(p, self.files[p])
            except OSError as exc:
                errors.append(f"{p}: {exc.strerror or exc}")
        if not errors:
            self.files.clear()
            self.order.clear()
        return errors
