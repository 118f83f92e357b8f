"""Reading and writing sysfs/debugfs files under a root prefix, with errors that name the file."""

from __future__ import annotations

import os
from pathlib import Path

from dvfo_core.errors import DeviceError


def under(root: Path, path: str) -> Path:
    """``path`` (absolute on the device, e.g. ``/sys/...``) under ``root``."""
    return root / path.lstrip("/")


def read_text(path: Path) -> str:
    """The stripped content of ``path`` (NUL separators as in device-tree files become spaces)."""
    try:
        return path.read_bytes().decode("utf-8", "replace").replace("\x00", " ").strip()
    except OSError as exc:
        raise DeviceError(f"cannot read {path}: {exc.strerror or exc}") from exc


def read_int(path: Path) -> int:
    """An integer file (first token)."""
    text = read_text(path)
    try:
        return int(text.split()[0])
    except (ValueError, IndexError):
        raise DeviceError(f"{path}: expected an integer, got {text!r}") from None


def read_ints(path: Path) -> tuple[int, ...]:
    """A whitespace-separated list of integers, sorted ascending."""
    text = read_text(path)
    try:
        return tuple(sorted(int(tok) for tok in text.split()))
    except ValueError:
        raise DeviceError(f"{path}: expected integers, got {text!r}") from None


def write_value(path: Path, value: object) -> None:
    """Write ``value`` to ``path``; raises OSError as is (the caller rolls back and reports)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"{value}\n")


def writable(path: Path) -> bool:
    """True when this process may write ``path`` (root, or permissions allow it)."""
    return path.is_file() and os.access(path, os.W_OK)
