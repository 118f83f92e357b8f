"""Make the ROS 2 Kilted build-side wheels from PyPI usable for ``colcon build`` in this venv.

The wheels' exported CMake targets (``share/*/cmake/*.cmake``) name the paths of the machine that
built them: ``/opt/python/cp311-cp311/include/python3.11`` and that interpreter's numpy include
directory. CMake refuses an imported target whose include directory does not exist, so building
any interface package (``dvfo_msgs``) fails until those paths name this interpreter's own.

Run with the venv's interpreter: ``.venv-ros/bin/python tools/ros_wheels_fixup.py``. Idempotent;
prints how many files it rewrote.
"""

from __future__ import annotations

import re
import sys
import sysconfig
from pathlib import Path

BUILD_HOST_PREFIX = "/opt/python/cp311-cp311"
_NUMPY_INCLUDE = re.compile(
    re.escape(BUILD_HOST_PREFIX) + r"/lib/python3\.\d+/site-packages/numpy/_?core/include"
)
_PYTHON_INCLUDE = re.compile(re.escape(BUILD_HOST_PREFIX) + r"/include/python3\.\d+")


def rewrite(text: str, python_include: str, numpy_include: str) -> str:
    """``text`` with the build host's Python and numpy include directories replaced by ours."""
    text = _NUMPY_INCLUDE.sub(numpy_include, text)
    return _PYTHON_INCLUDE.sub(python_include, text)


def fix_prefix(prefix: Path, python_include: str, numpy_include: str) -> list[Path]:
    """Rewrite every CMake file under ``prefix/share``; returns the files changed."""
    changed = []
    for path in sorted((prefix / "share").glob("*/cmake/*.cmake")):
        text = path.read_text(encoding="utf-8")
        if BUILD_HOST_PREFIX not in text:
            continue
        path.write_text(rewrite(text, python_include, numpy_include), encoding="utf-8")
        changed.append(path)
    return changed


def main() -> int:
    """Fix the wheels installed in the running interpreter's prefix."""
    import numpy

    python_include = sysconfig.get_paths()["include"]
    if not Path(python_include, "Python.h").is_file():
        print(f"error: no Python.h in {python_include} (install the Python 3.11 headers)", file=sys.stderr)
        return 1
    changed = fix_prefix(Path(sys.prefix), python_include, numpy.get_include())
    print(f"ros_wheels_fixup: {len(changed)} CMake files now name {python_include} and numpy's headers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
