"""Where the project's data files live: a source checkout, a pip install, or a colcon install.

Every lookup goes through :func:`config_dir` and :func:`msg_dir` so that the no-ROS runtime and a
robot's colcon install read the same files.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dvfo_core.errors import ConfigError

_PKG_DIR = Path(__file__).resolve().parent
#: The workspace root when running from a source checkout (src/dvfo_core/dvfo_core -> root).
CHECKOUT_ROOT = _PKG_DIR.parents[2]


def _ament_share(package: str) -> Path | None:
    try:  # only present on a robot with ROS 2
        from ament_index_python.packages import get_package_share_directory
    except ImportError:
        return None
    try:
        return Path(get_package_share_directory(package))
    except Exception:  # PackageNotFoundError and friends
        return None


def _first_dir(env_var: str, candidates: list[Path | None], what: str) -> Path:
    override = os.environ.get(env_var)
    if override:
        path = Path(override)
        if not path.is_dir():
            raise ConfigError(f"{env_var}={override} is not a directory")
        return path
    for cand in candidates:
        if cand is not None and cand.is_dir():
            return cand
    tried = ", ".join(str(c) for c in candidates if c is not None)
    raise ConfigError(f"cannot find the {what} directory (tried {tried}); set {env_var}")


def config_dir() -> Path:
    """The directory holding parameter YAML, board profiles and traces."""
    share = _ament_share("dvfo_core")
    return _first_dir(
        "DVFO_CONFIG_DIR",
        [
            CHECKOUT_ROOT / "config",
            Path(sys.prefix) / "share" / "dvfo_core" / "config",
            share / "config" if share else None,
        ],
        "config",
    )


def msg_dir() -> Path:
    """The directory holding the ``dvfo_msgs`` ``.msg`` files (the one source of every schema)."""
    share = _ament_share("dvfo_msgs")
    return _first_dir(
        "DVFO_MSG_DIR",
        [
            CHECKOUT_ROOT / "src" / "dvfo_msgs" / "msg",
            share / "msg" if share else None,
            Path(sys.prefix) / "share" / "dvfo_core" / "msg",
        ],
        "dvfo_msgs/msg",
    )


def artifacts_dir() -> Path:
    """Where trained checkpoints and policies shipped with the project live."""
    return _PKG_DIR / "data"
